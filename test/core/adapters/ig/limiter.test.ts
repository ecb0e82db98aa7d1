import { describe, expect, it } from 'vitest';
import { RateLimiter, StopAmendCoalescer } from '../../../../src/core/adapters/ig/limiter.js';

/** A clock that only moves when the limiter sleeps: waits are measured, not lived. */
function fakeTime(start = 0) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

describe('RateLimiter', () => {
  it('lets `max` requests through at once, then waits for the oldest to leave the window', async () => {
    const t = fakeTime();
    const limiter = new RateLimiter({
      accountNonTrading: { max: 3, windowMs: 1000 },
      appNonTrading: { max: 100, windowMs: 1000 },
      now: t.now,
      sleep: t.sleep,
    });
    for (let i = 0; i < 3; i++) await limiter.acquire('nonTrading');
    expect(t.now(), 'three reads fit in the window without waiting').toBe(0);
    await limiter.acquire('nonTrading');
    expect(t.now(), 'the fourth read waits until the first is a window old').toBe(1000);
  });

  it('close() ends the waits at once (its own timers): a request still waiting fails, none is let through', async () => {
    const limiter = new RateLimiter({ accountTrading: { max: 1, windowMs: 60_000 } });
    await limiter.acquire('trading');
    const waiting = limiter.acquire('trading'); // a minute's wait on a real timer
    limiter.close();
    await expect(waiting).rejects.toThrow('the IG client was closed: the request was not sent');
    await expect(limiter.acquire('nonTrading')).rejects.toThrow('closed');
  });

  it('counts deals and reads in separate account buckets', async () => {
    const t = fakeTime();
    const limiter = new RateLimiter({
      accountTrading: { max: 1, windowMs: 60_000 },
      accountNonTrading: { max: 1, windowMs: 60_000 },
      appNonTrading: { max: 10, windowMs: 60_000 },
      now: t.now,
      sleep: t.sleep,
    });
    await limiter.acquire('nonTrading');
    await limiter.acquire('trading');
    expect(t.now(), 'a deal is not slowed by a read').toBe(0);
  });

  it('the per-app read bucket is shared with the account read bucket: the tighter one rules', async () => {
    const t = fakeTime();
    const limiter = new RateLimiter({
      accountNonTrading: { max: 10, windowMs: 60_000 },
      appNonTrading: { max: 2, windowMs: 60_000 },
      now: t.now,
      sleep: t.sleep,
    });
    await limiter.acquire('nonTrading');
    await limiter.acquire('nonTrading');
    await limiter.acquire('nonTrading');
    expect(t.now()).toBe(60_000);
  });

  it('a deal does not queue behind a read that waits for the read allowance', async () => {
    let now = 0;
    const waking: (() => void)[] = [];
    const limiter = new RateLimiter({
      accountNonTrading: { max: 1, windowMs: 60_000 },
      now: () => now,
      // Sleeps end only when the test says so.
      sleep: () => new Promise<void>((resolve) => waking.push(resolve)),
    });
    await limiter.acquire('nonTrading');
    let readLetThrough = false;
    const read = limiter.acquire('nonTrading').then(() => (readLetThrough = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(waking, 'the second read sleeps for the allowance').toHaveLength(1);
    await limiter.acquire('trading');
    expect(readLetThrough, 'the deal went first').toBe(false);
    now = 60_000;
    waking[0]!();
    await read;
    expect(readLetThrough).toBe(true);
  });

  it('serves requests in arrival order', async () => {
    const t = fakeTime();
    const limiter = new RateLimiter({ accountTrading: { max: 1, windowMs: 100 }, now: t.now, sleep: t.sleep });
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => limiter.acquire('trading').then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
    expect(t.now()).toBe(200);
  });

  it('pause() holds every request back', async () => {
    const t = fakeTime();
    const limiter = new RateLimiter({ now: t.now, sleep: t.sleep });
    limiter.pause(5000);
    await limiter.acquire('trading');
    expect(t.now()).toBe(5000);
  });

  it('defaults to IG live allowances: 30 reads a minute per account', async () => {
    const t = fakeTime();
    const limiter = new RateLimiter({ now: t.now, sleep: t.sleep });
    for (let i = 0; i < 30; i++) await limiter.acquire('nonTrading');
    expect(t.now()).toBe(0);
    await limiter.acquire('nonTrading');
    expect(t.now()).toBe(60_000);
  });
});

/** A promise settled by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('StopAmendCoalescer', () => {
  it('sends only the latest of the amends queued behind one in flight', async () => {
    const sent: number[] = [];
    const gates: ReturnType<typeof deferred<string>>[] = [];
    const coalescer = new StopAmendCoalescer<number, string>((_dealId, level) => {
      sent.push(level);
      const gate = deferred<string>();
      gates.push(gate);
      return gate.promise;
    });
    const first = coalescer.submit('D1', 100);
    const second = coalescer.submit('D1', 101);
    const third = coalescer.submit('D1', 102);
    expect(sent, 'while 100 is in flight nothing else goes out').toEqual([100]);
    gates[0]?.resolve('ok-100');
    expect(await first).toEqual({ status: 'sent', result: 'ok-100' });
    expect(await second, '101 was replaced by 102 before it could go').toEqual({ status: 'superseded' });
    await Promise.resolve();
    expect(sent, 'then only the latest level is sent').toEqual([100, 102]);
    gates[1]?.resolve('ok-102');
    expect(await third).toEqual({ status: 'sent', result: 'ok-102' });
  });

  it('keeps deals apart', async () => {
    const sent: string[] = [];
    const coalescer = new StopAmendCoalescer<number, string>(async (dealId, level) => {
      sent.push(`${dealId}@${level}`);
      return 'ok';
    });
    await Promise.all([coalescer.submit('A', 1), coalescer.submit('B', 2)]);
    expect(sent.sort()).toEqual(['A@1', 'B@2']);
  });

  it('a failed amend rejects its caller and the queued one still goes out', async () => {
    const sent: number[] = [];
    const gate = deferred<string>();
    const coalescer = new StopAmendCoalescer<number, string>((_d, level) => {
      sent.push(level);
      return level === 1 ? gate.promise : Promise.resolve('ok-2');
    });
    const first = coalescer.submit('D', 1);
    const second = coalescer.submit('D', 2);
    gate.reject(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    expect(await second).toEqual({ status: 'sent', result: 'ok-2' });
    expect(sent).toEqual([1, 2]);
    expect(coalescer.inFlight).toBe(0);
  });
});

/** A clock whose sleeps end only when the test moves it past them. */
function heldTime() {
  let now = 0;
  const sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
    sleeping: () => sleepers.length,
    advance: (ms: number) => {
      now += ms;
      for (const s of sleepers.splice(0)) {
        if (s.until <= now) s.wake();
        else sleepers.push(s);
      }
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('RateLimiter: deals before amends', () => {
  it('amends stop short of the trading window: the reserve lets a close out at once while amends wait', async () => {
    const t = heldTime();
    const waits: string[] = [];
    const limiter = new RateLimiter({ accountTrading: { max: 5, windowMs: 60_000 }, tradingReserve: 2, ...t });
    limiter.onWait = (w) => waits.push(`${w.lane} ${w.used}/${w.max} ${w.waitMs}`);
    for (let i = 0; i < 3; i++) await limiter.acquire('trading', 'amend');
    let amendThrough = false;
    const amend = limiter.acquire('trading', 'amend').then(() => (amendThrough = true));
    await turn();
    expect(amendThrough, 'a 4th amend would leave no room for closes').toBe(false);
    await limiter.acquire('trading', 'deal');
    await limiter.acquire('trading', 'deal');
    expect(t.now(), 'two closes went out at once, ahead of the waiting amend').toBe(0);
    expect(waits, 'the wait is reported once, when it starts').toEqual(['amend 3/3 60000']);
    let closeThrough = false;
    const close = limiter.acquire('trading', 'deal').then(() => (closeThrough = true));
    await turn();
    expect(closeThrough, 'the whole window is used now').toBe(false);
    expect(waits).toEqual(['amend 3/3 60000', 'deal 5/5 60000']);
    t.advance(60_000);
    await Promise.all([amend, close]);
    expect(amendThrough && closeThrough).toBe(true);
  });

  it('a close is not held behind an amend waiting for the window (lanes queue apart)', async () => {
    const t = heldTime();
    const limiter = new RateLimiter({ accountTrading: { max: 2, windowMs: 1000 }, tradingReserve: 1, ...t });
    await limiter.acquire('trading', 'amend');
    const amend = limiter.acquire('trading', 'amend');
    await turn();
    expect(t.sleeping()).toBe(1);
    await limiter.acquire('trading'); // a deal by default
    t.advance(1000);
    await amend;
  });

  it('pause(ms, trading) holds deals and amends back, not reads; pause(ms) holds everything', async () => {
    const t = heldTime();
    const limiter = new RateLimiter(t);
    const waits: string[] = [];
    limiter.onWait = (w) => waits.push(`${w.lane}${w.paused ? ' paused' : ''} ${w.waitMs}`);
    limiter.pause(60_000, 'trading');
    await limiter.acquire('nonTrading');
    let dealThrough = false;
    const deal = limiter.acquire('trading').then(() => (dealThrough = true));
    await turn();
    expect(dealThrough).toBe(false);
    expect(waits).toEqual(['deal paused 60000']);
    t.advance(60_000);
    await deal;
    limiter.pause(1000);
    const read = limiter.acquire('nonTrading');
    await turn();
    expect(waits).toEqual(['deal paused 60000', 'read paused 1000']);
    t.advance(1000);
    await read;
  });
});

describe('StopAmendCoalescer with a gate (the limiter)', () => {
  it('an amend waiting for its slot is replaced by a newer one; only the latest is sent', async () => {
    const sent: number[] = [];
    const gate = deferred<void>();
    const coalescer = new StopAmendCoalescer<number, string>(
      async (_d, level) => {
        sent.push(level);
        return `ok-${level}`;
      },
      () => gate.promise,
    );
    const onSent: number[] = [];
    const outcomes = [1, 2, 3].map((level) => coalescer.submit('D', level, () => onSent.push(level)));
    await turn();
    expect(sent, 'nothing leaves before the slot').toEqual([]);
    gate.resolve();
    expect(await Promise.all(outcomes)).toEqual([
      { status: 'superseded' },
      { status: 'superseded' },
      { status: 'sent', result: 'ok-3' },
    ]);
    expect(sent).toEqual([3]);
    expect(onSent, 'told when it leaves the process').toEqual([3]);
    expect(coalescer.inFlight).toBe(0);
  });

  it('withdraw() takes back the unsent amend; the slot it waited for goes unused', async () => {
    const sent: number[] = [];
    const gate = deferred<void>();
    const coalescer = new StopAmendCoalescer<number, string>(
      async (_d, level) => {
        sent.push(level);
        return 'ok';
      },
      () => gate.promise,
    );
    const outcome = coalescer.submit('D', 7);
    expect(coalescer.withdraw('D')).toBe(true);
    expect(coalescer.withdraw('D'), 'nothing left to take back').toBe(false);
    expect(await outcome).toEqual({ status: 'withdrawn' });
    gate.resolve();
    await turn();
    expect(sent).toEqual([]);
    expect(coalescer.inFlight).toBe(0);
  });

  it('withdraw() leaves the amend on the wire alone', async () => {
    const reply = deferred<string>();
    const coalescer = new StopAmendCoalescer<number, string>(
      () => reply.promise,
      async () => undefined,
    );
    const onWire = coalescer.submit('D', 1);
    await turn();
    expect(coalescer.withdraw('D')).toBe(false);
    reply.resolve('ok');
    expect(await onWire).toEqual({ status: 'sent', result: 'ok' });
  });
});
