import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeIg } from '../support/fake-ig/index.js';
import { DAX, fakeIgFor, liveConfig, startLive, unlimited, waitFor } from '../support/live-harness.js';

const T0 = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
let fake: FakeIg | undefined;
let stop: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
  await fake?.close();
  fake = undefined;
});

async function start(f: FakeIg) {
  const cfg = liveConfig(
    f,
    `pointSize: 1\ndecimals: 1\nlotStep: 0.1\nentry: { kind: signals, file: ./signals.csv, size: 1 }\nexits:\n  trailing: { activateAt: 10, distance: 5 }`,
  );
  writeFileSync(
    join(cfg.dir, 'signals.csv'),
    `time,market,direction,size,stopPoints\n${new Date(T0).toISOString()},${DAX},BUY,1,20\n`,
  );
  const logs: string[] = [];
  const started = await startLive(
    {
      configPath: cfg.configPath,
      log: (level, message) => logs.push(`${level} ${message}`),
      limiter: unlimited(),
      runId: 'faults',
    },
    f,
    [DAX],
    () => logs.join('\n'),
  );
  stop = started.stop;
  const live = started.live;
  let time = T0;
  /** Pushes a tick and waits until live has processed it and every request is answered. */
  const tick = async (bid: number) => {
    const before = live.ticks();
    f.pushTick({ epic: DAX, bid, ask: bid + 1, time });
    time += 1000;
    await waitFor(
      () => live.ticks() > before,
      () => `tick ${bid}:\n${logs.join('\n')}`,
    );
    await live.idle();
  };
  return { live, tick, logs, cfg };
}

describe('live under faults (fake IG)', () => {
  it('a rejected amend leaves the engine on the broker stop; a dropped stream reconnects and resubscribes; an expired token re-logs in once', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { live, tick, logs } = await start(f);
    await tick(100); // BUY at 101, stop 81
    await waitFor(() => f.positions().length === 1, 'the entry');
    const dealId = f.positions()[0]!.dealId;
    await tick(112); // trailing: stop 107
    expect(f.positions()[0]?.stopLevel).toBe(107);

    // 1. IG refuses the next amend: the engine must not believe a level IG never had.
    f.failNext(
      { method: 'PUT', path: /positions\/otc/ },
      { status: 400, body: { errorCode: 'validation.invalid.stop-level' } },
    );
    await tick(115); // would move to 110
    await waitFor(
      () => logs.some((l) => l.includes('rejected')),
      () => logs.join('\n'),
    );
    expect(live.runner.engine.position(dealId)?.stopLevel, 'reverted to the broker stop').toBe(107);
    expect(f.positions()[0]?.stopLevel).toBe(107);
    await tick(116); // the rule proposes 111 again and it goes through
    expect(f.positions()[0]?.stopLevel).toBe(111);

    // 2. The stream drops: the client reconnects and resubscribes by itself; ticks flow again.
    f.dropStreams();
    await waitFor(
      () => logs.filter((l) => l.includes('stream CONNECTED')).length >= 2,
      () => `reconnect:\n${logs.join('\n')}`,
    );
    await waitFor(() => f.subscriptions().includes(`CHART:${DAX}:TICK`), 'resubscription');
    await new Promise((r) => setTimeout(r, 300));
    await tick(120); // 115
    expect(f.positions()[0]?.stopLevel).toBe(115);

    // 3. The session token expires: one new login, the amend is replayed and lands once.
    const logins = () => f.requests().filter((r) => r.method === 'POST' && r.path === '/session').length;
    const before = logins();
    f.expireTokens();
    await tick(124); // 119
    expect(f.positions()[0]?.stopLevel).toBe(119);
    expect(logins() - before, 'exactly one new login').toBe(1);

    // 4. A 500 on the close after IG executed it: settled, never sent twice.
    f.failNext({ method: 'DELETE', path: /positions\/otc/ }, { status: 500, afterExecute: true });
    live.runner.engine.requestClose(dealId, undefined, 'MANUAL');
    live.runner.settle();
    await live.idle();
    expect(f.positions()).toEqual([]);
    expect(f.requestCount('DELETE'), 'the close was sent once').toBe(1);
    await waitFor(() => live.runner.engine.openPositions().length === 0, 'the engine to see the close');
  }, 60_000);
});

describe('live after a stream gap', () => {
  it('a position closed on IG while the stream was down is found when it comes back: EXIT CLOSED_EXTERNALLY at the real level', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { live, tick, logs, cfg } = await start(f);
    await tick(100); // BUY at 101
    await waitFor(() => f.positions().length === 1, 'the entry');
    const dealId = f.positions()[0]!.dealId;
    f.dropStreams();
    f.closeExternally(dealId, 97); // its OPU has no session to go to
    await waitFor(
      () => logs.some((l) => l.includes('closed while the stream was down')),
      () => logs.join('\n'),
    );
    await live.idle();
    expect(live.runner.engine.position(dealId)).toBeUndefined();
    const rows = readFileSync(cfg.journal, 'utf8').trim().split('\n').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(new RegExp(`,${dealId},default,BUY,EXIT,1,97,81,-4,-4,-0\\.2,CLOSED_EXTERNALLY,`));
  }, 60_000);
});
