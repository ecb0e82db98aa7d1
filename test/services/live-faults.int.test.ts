import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerRejected } from '../../src/core/domain/errors.js';
import type { LiveOptions } from '../../src/core/services/live.js';
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

/** Short pauses so that outages pass in milliseconds (live's own: 1 s doubling to 30 s, stale at 30 s). */
const FAST_STREAM: NonNullable<LiveOptions['streamTiming']> = {
  reconnectDelayMs: 10,
  reconnectMaxDelayMs: 40,
  staleAfterMs: 200,
  staleCheckIntervalMs: 20,
};

async function start(
  f: FakeIg,
  extra: { streamTiming?: LiveOptions['streamTiming']; onLog?: (message: string) => void } = {},
) {
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
      log: (level, message) => {
        logs.push(`${level} ${message}`);
        extra.onLog?.(message);
      },
      limiter: unlimited(),
      runId: 'faults',
      streamTiming: extra.streamTiming,
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
  return { live, tick, logs, cfg, stop: started.stop };
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

describe('live never runs blind on a broken stream', () => {
  /** BUY 1 at 101 (stop 81), trailed to 107 by a tick at 112. */
  async function openAndTrail(f: FakeIg, t: (bid: number) => Promise<void>) {
    await t(100);
    await waitFor(() => f.positions().length === 1, 'the entry');
    await t(112);
    expect(f.positions()[0]?.stopLevel).toBe(107);
    return f.positions()[0]!.dealId;
  }
  const journalRows = (journal: string) => readFileSync(journal, 'utf8').trim().split('\n').slice(1);
  /** An outage: the stream drops and new connections are refused until `refuseStreamConnections(false)`. */
  async function streamDown(f: FakeIg, logs: readonly string[]) {
    f.refuseStreamConnections(true);
    f.dropStreams();
    await waitFor(
      () => logs.some((l) => l.includes('stream DISCONNECTED')),
      () => logs.join('\n'),
    );
  }

  it('IG login down through more than 5 reconnections (maintenance): warns that prices stopped, keeps trying, and records the stop hit in the gap when it is back', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { live, tick, logs, cfg } = await start(f, { streamTiming: FAST_STREAM });
    const dealId = await openAndTrail(f, tick);

    // Weekend maintenance: the tokens expire, the stream drops, and the next 6 logins answer 503
    // (3 tries each): 6 failed reconnections, more than the 5 the stream used to allow itself.
    f.failNext({ method: 'POST', path: '/session' }, { status: 503, times: 18 });
    f.expireTokens();
    f.dropStreams();
    await waitFor(() => !f.subscriptions().includes(`CHART:${DAX}:TICK`), 'the server to lose the subscriptions');
    f.pushTick({ epic: DAX, bid: 105, ask: 106, time: T0 + 10_000 }); // IG fills the stop 107 at 105, unseen
    expect(f.positions()).toEqual([]);
    await waitFor(
      () =>
        logs.some((l) => l.startsWith(`warn no price from ${DAX} for `) && l.includes('the stream is DISCONNECTED')),
      () => `a warning while the stream is down:\n${logs.join('\n')}`,
    );
    expect(
      logs.find((l) => l.startsWith(`warn no price from ${DAX}`)),
      'it says what happens to the position meanwhile',
    ).toContain('its open position keeps its broker stop on IG meanwhile');

    await waitFor(
      () => logs.some((l) => l.includes('was closed while the stream was down')),
      () => `the stream back and the gap's close found:\n${logs.join('\n')}`,
      20_000,
    );
    await live.idle();
    const logins = f.requests().filter((r) => r.method === 'POST' && r.path === '/session').length;
    expect(logins, 'the 18 refused tries and the one that worked, besides the start-up login').toBeGreaterThanOrEqual(
      20,
    );
    expect(logs.filter((l) => l.includes('stream: connecting again')).length).toBeGreaterThan(5);
    expect(logs.some((l) => l.includes('giving up'))).toBe(false);
    expect(live.runner.engine.position(dealId)).toBeUndefined();
    expect(journalRows(cfg.journal)[1]).toMatch(new RegExp(`,${dealId},default,BUY,EXIT,1,105,107,`));
  }, 60_000);

  it('a LOOP during a short outage (the client gives up in plain DISCONNECTED): connects again and manages on', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    let outage = false;
    const { tick, logs } = await start(f, {
      streamTiming: FAST_STREAM,
      // The outage ends once the client has given up by itself.
      onLog: (message) => {
        if (outage && message === 'stream DISCONNECTED') f.refuseStreamConnections(false);
      },
    });
    await openAndTrail(f, tick);
    outage = true;
    f.refuseStreamConnections(true);
    f.loopStreams();
    await waitFor(
      () => logs.filter((l) => l.includes('stream CONNECTED')).length >= 2,
      () => `a new connection:\n${logs.join('\n')}`,
    );
    await waitFor(() => f.subscriptions().includes(`CHART:${DAX}:TICK`), 'resubscription');
    await tick(120); // the trailing stop follows again: 115
    expect(f.positions()[0]?.stopLevel).toBe(115);
  }, 60_000);

  it('a stream slow to connect at start: a position IG closed before the first connection is recorded at its real level', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const dealId = f.openExternally({ epic: DAX, direction: 'BUY', size: 1, stopLevel: 80 });
    const cfg = liveConfig(
      f,
      `pointSize: 1\ndecimals: 1\nlotStep: 0.1\nexits:\n  trailing: { activateAt: 10, distance: 5 }`,
    );
    f.refuseStreamConnections(true);
    const logs: string[] = [];
    const started = startLive(
      {
        configPath: cfg.configPath,
        log: (level, message) => logs.push(`${level} ${message}`),
        limiter: unlimited(),
        runId: 'late-stream',
        streamTiming: FAST_STREAM,
      },
      f,
      [DAX],
      () => logs.join('\n'),
    );
    const rows = () => readFileSync(cfg.journal, 'utf8').trim().split('\n').slice(1);
    await waitFor(
      () => logs.some((l) => l.includes('stream DISCONNECTED')),
      () => `start-up, then a refused connection:\n${logs.join('\n')}`,
    );
    expect(rows()).toEqual([expect.stringMatching(new RegExp(`,${dealId},default,BUY,ENTRY,1,101,80,,,,ADOPTED,$`))]);
    f.pushTick({ epic: DAX, bid: 95, ask: 96, time: T0 + 1000 });
    f.closeExternally(dealId, 95); // on IG's platform, before live ever had its stream
    f.refuseStreamConnections(false);
    stop = (await started).stop;
    await waitFor(
      () => rows().length === 2,
      () => `the close found on the first connection:\n${logs.join('\n')}`,
    );
    expect(rows()[1]).toMatch(new RegExp(`,${dealId},default,BUY,EXIT,1,95,80,-6,-6,-0\\.28571429,CLOSED_EXTERNALLY,`));
  }, 60_000);

  it('a position closed on IG whose update never came: IG refusing the next amend (POSITION_NOT_FOUND) makes live look, and the close is recorded; a failed look is tried again', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { tick, logs, cfg } = await start(f, { streamTiming: FAST_STREAM });
    const dealId = await openAndTrail(f, tick);
    // The TRADE subscription is refused after a reconnection: IG's updates of the position are lost.
    f.refuseSubscriptions('TRADE:', 1000);
    f.dropStreams();
    await waitFor(
      () => logs.filter((l) => l.includes('stream CONNECTED')).length >= 2,
      () => `a new connection:\n${logs.join('\n')}`,
    );
    await waitFor(() => f.subscriptions().includes(`CHART:${DAX}:TICK`), 'resubscription');
    await waitFor(
      () => logs.some((l) => l.includes('refused TRADE:')),
      () => logs.join('\n'),
    );
    f.closeExternally(dealId, 110); // on IG's platform: no update reaches live
    f.failNext({ method: 'GET', path: '/positions' }, { status: 503, times: 3 }); // the first look fails (3 tries)
    await tick(120); // trailing would move the stop to 115: IG refuses, the position is gone
    await waitFor(
      () => journalRows(cfg.journal).length === 2,
      () => `the close found:\n${logs.join('\n')}`,
    );
    expect(
      logs.some((l) => /could not compare positions with IG: .*; trying again in/.test(l)),
      logs.join('\n'),
    ).toBe(true);
    expect(journalRows(cfg.journal)[1]).toMatch(new RegExp(`,${dealId},default,BUY,EXIT,1,110,`));
  }, 60_000);

  it("a graceful stop asks IG about a stop reached whose close has not come: its row has the stop's reason, not 'closed while away' at the next start", async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { tick, logs, cfg, stop: stopLive } = await start(f, { streamTiming: FAST_STREAM });
    const dealId = await openAndTrail(f, tick); // trailing stop 107
    // The TRADE subscription is refused after a reconnection: the fill's update will be lost.
    f.refuseSubscriptions('TRADE:', 1000);
    f.dropStreams();
    await waitFor(() => f.subscriptions().includes(`CHART:${DAX}:TICK`), 'resubscription');
    await waitFor(
      () => logs.some((l) => l.includes('refused TRADE:')),
      () => logs.join('\n'),
    );
    await tick(105); // IG fills its stop 107 at 105; live waits up to 10 s for the close
    expect(f.positions()).toEqual([]);
    stop = undefined;
    await stopLive();
    expect(journalRows(cfg.journal)[1], logs.join('\n')).toMatch(
      new RegExp(`,${dealId},default,BUY,EXIT,1,105,107,4,4,0\\.2,TRAILING_STOP,`),
    );
  }, 60_000);

  it("IG widening its minimum stop distance while live runs: the refused level makes live read the market's rules again and keep its stops that far", async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { tick, logs } = await start(f, { streamTiming: FAST_STREAM });
    await openAndTrail(f, tick); // stop 107
    f.setMinStopDistance(DAX, 20); // news: IG wants stops 20 points away
    await tick(130); // trailing wants 125: refused as too close
    await waitFor(
      () => logs.some((l) => l.includes("IG's minimum stop distance is now 20 points")),
      () => logs.join('\n'),
    );
    expect(f.positions()[0]?.stopLevel).toBe(107);
    await tick(131); // 126, at most bid − 20 = 111
    expect(f.positions()[0]?.stopLevel).toBe(111);
    expect(
      logs.filter((l) => l.includes('ATTACHED_ORDER_LEVEL_ERROR') && l.startsWith('warn stop amend')),
    ).toHaveLength(1);
  }, 60_000);

  it('a partial close found after a gap is not taken for an earlier partial close of the same size', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { logs, cfg, tick } = await start(f, { streamTiming: FAST_STREAM });
    const dealId = await openAndTrail(f, tick); // BUY 1 at 101, stop 107
    f.closeExternally(dealId, 100, 0.3); // the trader, while the stream is up: journaled
    await waitFor(
      () => journalRows(cfg.journal).length === 2,
      () => logs.join('\n'),
    );
    f.pushTick({ epic: DAX, bid: 110, ask: 111, time: T0 + 600_000 }); // ten minutes on
    await streamDown(f, logs);
    f.closeExternally(dealId, 110, 0.2); // in the gap: 0.3 in all, at 110
    f.closeExternally(dealId, 110, 0.1);
    f.refuseStreamConnections(false);
    await waitFor(
      () => journalRows(cfg.journal).length === 3,
      () => `the gap's close:\n${logs.join('\n')}`,
    );
    const rows = journalRows(cfg.journal);
    expect(rows[1]).toMatch(new RegExp(`,${dealId},default,BUY,PARTIAL,0\\.3,100,`));
    expect(rows[2]).toMatch(new RegExp(`,${dealId},default,BUY,PARTIAL,0\\.3,110,`));
  }, 60_000);

  it('a close made while IG refused the TRADE subscription is found when IG grants it again', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { logs, cfg, tick } = await start(f, { streamTiming: FAST_STREAM });
    const dealId = await openAndTrail(f, tick);
    f.refuseSubscriptions('TRADE:', 5);
    f.dropStreams();
    await waitFor(
      () => logs.some((l) => l.includes('refused TRADE:')),
      () => logs.join('\n'),
    );
    f.closeExternally(dealId, 109); // no update can reach live now
    await waitFor(
      () => journalRows(cfg.journal).length === 2,
      () => `the close found once TRADE is granted:\n${logs.join('\n')}`,
    );
    expect(journalRows(cfg.journal)[1]).toMatch(new RegExp(`,${dealId},default,BUY,EXIT,1,109,`));
  }, 60_000);

  it('a position start-up reported as not managed is not said again, wrongly, to have been opened while the stream was down', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const dealId = f.openExternally({ epic: DAX, direction: 'BUY', size: 1, stopLevel: 80 });
    const { logs, live } = await start(f, { streamTiming: FAST_STREAM });
    await live.idle(); // the comparison of the first connection
    f.dropStreams(); // and a reconnection: compared again
    await waitFor(
      () => logs.filter((l) => l.includes('stream CONNECTED')).length >= 2,
      () => logs.join('\n'),
    );
    await live.idle();
    expect(logs.filter((l) => l.includes(`${dealId} is not managed`))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('is on IG but not managed'))).toEqual([]);
    // One opened on IG's platform while the stream is up, on this signals market: after a
    // reconnection it is said, once, what it is (not "opened while the stream was down").
    const other = f.openExternally({ epic: DAX, direction: 'SELL', size: 1, stopLevel: 120 });
    f.dropStreams();
    await waitFor(
      () => logs.filter((l) => l.includes('stream CONNECTED')).length >= 3,
      () => logs.join('\n'),
    );
    await live.idle();
    expect(logs.filter((l) => l.includes(`${other} is on IG but not managed`))).toEqual([
      `warn ${DAX} ${other} is on IG but not managed: opened outside trailguard, and the market's entry kind is signals (only kind none adopts)`,
    ]);
  }, 60_000);

  it('after a restart too, a partial close found after a gap is not taken for a partial the earlier run journaled', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const first = await start(f, { streamTiming: FAST_STREAM });
    const dealId = await openAndTrail(f, first.tick);
    f.closeExternally(dealId, 100, 0.3); // journaled by the first run
    await waitFor(
      () => journalRows(first.cfg.journal).length === 2,
      () => first.logs.join('\n'),
    );
    stop = undefined;
    await first.stop();
    const logs: string[] = [];
    const second = await startLive(
      {
        configPath: first.cfg.configPath,
        log: (level, message) => logs.push(`${level} ${message}`),
        limiter: unlimited(),
        runId: 'faults-2',
        streamTiming: FAST_STREAM,
      },
      f,
      [DAX],
      () => logs.join('\n'),
    );
    stop = second.stop;
    await second.live.idle();
    f.pushTick({ epic: DAX, bid: 110, ask: 111, time: T0 + 600_000 });
    await streamDown(f, logs);
    f.closeExternally(dealId, 110, 0.2);
    f.closeExternally(dealId, 110, 0.1);
    f.refuseStreamConnections(false);
    await waitFor(
      () => journalRows(first.cfg.journal).length === 3,
      () => `the gap's close:\n${logs.join('\n')}`,
    );
    expect(journalRows(first.cfg.journal)[2]).toMatch(new RegExp(`,${dealId},default,BUY,PARTIAL,0\\.3,110,`));
  }, 60_000);

  it('a limit the trader removed on IG while the stream was down is gone for the engine too: the next amend does not put it back', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { tick, live, logs } = await start(f, { streamTiming: FAST_STREAM });
    const dealId = await openAndTrail(f, tick); // stop 107
    f.amendExternally(dealId, { limitLevel: 150 }); // the trader sets a limit
    await waitFor(() => live.runner.engine.position(dealId)?.limitLevel === 150, 'the limit seen');
    await streamDown(f, logs);
    f.amendExternally(dealId, { limitLevel: null }); // and removes it while the stream is down
    f.refuseStreamConnections(false);
    await waitFor(
      () => live.runner.engine.position(dealId)?.limitLevel === undefined,
      () => `the limit gone:\n${logs.join('\n')}`,
    );
    await tick(120); // trailing: 115, carrying no limit
    expect(f.positions()[0]).toMatchObject({ stopLevel: 115 });
    expect(f.positions()[0]?.limitLevel ?? undefined).toBeUndefined();
  }, 60_000);

  it('a price subscription IG refuses after a reconnection is asked for again: the trailing stop moves on', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { tick, logs } = await start(f, { streamTiming: FAST_STREAM });
    await openAndTrail(f, tick);
    f.refuseSubscriptions('CHART:', 2);
    f.dropStreams();
    await waitFor(
      () => logs.filter((l) => l.includes(`refused CHART:${DAX}:TICK`)).length === 2,
      () => `two refusals:\n${logs.join('\n')}`,
    );
    await waitFor(
      () => f.subscriptions().includes(`CHART:${DAX}:TICK`),
      () => `resubscription:\n${logs.join('\n')}`,
    );
    await tick(125); // 120
    expect(f.positions()[0]?.stopLevel).toBe(120);
  }, 60_000);

  it('IG refusing the credentials when the stream must log in again stops live with exit 1 and the hint', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { tick, logs, stop: stopLive } = await start(f, { streamTiming: FAST_STREAM });
    await openAndTrail(f, tick);
    f.failNext(
      { method: 'POST', path: '/session' },
      { status: 401, body: { errorCode: 'error.security.invalid-details' }, times: 1000 },
    );
    f.expireTokens();
    f.dropStreams();
    await waitFor(
      () => logs.some((l) => l.startsWith('info stopped:')),
      () => `live to stop by itself:\n${logs.join('\n')}`,
    );
    stop = undefined;
    const failure = await stopLive().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BrokerRejected);
    expect((failure as BrokerRejected).exitCode).toBe(1);
    expect((failure as Error).message).toContain('IG refused the identifier or password');
    expect((failure as Error).message).toContain('Check IG_IDENTIFIER');
    expect(logs.find((l) => l.startsWith('info stopped:'))).toContain(
      '1 position still open, each protected by its broker stop',
    );
  }, 60_000);

  it('IG refusing the credentials when a deal must log in again (the stream still up) stops live with exit 1, rather than trying the password on every tick', async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const { tick, logs, stop: stopLive } = await start(f, { streamTiming: FAST_STREAM });
    await openAndTrail(f, tick);
    f.failNext(
      { method: 'POST', path: '/session' },
      { status: 401, body: { errorCode: 'error.security.invalid-details' }, times: 1000 },
    );
    f.expireTokens(); // REST only: the stream's session goes on
    await tick(115); // the trailing amend needs a new login: refused
    await waitFor(
      () => logs.some((l) => l.startsWith('info stopped:')),
      () => `live to stop by itself:\n${logs.join('\n')}`,
    );
    stop = undefined;
    const failure = await stopLive().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BrokerRejected);
    expect((failure as BrokerRejected).exitCode).toBe(1);
    expect((failure as Error).message).toMatch(/^IG refused the new login live needed to deal/);
    expect((failure as Error).message).toContain('IG refused the identifier or password');
  }, 60_000);
});
