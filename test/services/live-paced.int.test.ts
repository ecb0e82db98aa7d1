/**
 * live with IG's trading allowance paced in the client (docs/decisions.md 50), against the fake IG:
 * what a close sent while a stop amend waits for its slot writes in the journal.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/core/adapters/ig/limiter.js';
import type { FakeIg } from '../support/fake-ig/index.js';
import { DAX, fakeIgFor, liveConfig, startLive, waitFor } from '../support/live-harness.js';

const T0 = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
let fake: FakeIg | undefined;
let stop: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await stop?.().catch(() => undefined);
  stop = undefined;
  await fake?.close();
  fake = undefined;
});

describe('live, amends paced by the allowance', () => {
  it("a full close sent while an amend waits for its slot: its row's stop_level is IG's stop, not the waiting amend's", async () => {
    fake = await fakeIgFor({ time: T0, bid: 100, ask: 101 });
    const f = fake;
    const cfg = liveConfig(
      f,
      `pointSize: 1\ndecimals: 1\nlotStep: 0.1\nentry: { kind: signals, file: ./signals.csv, size: 1 }\nexits:\n  trailing: { activateAt: 10, distance: 5 }`,
    );
    writeFileSync(
      join(cfg.dir, 'signals.csv'),
      `time,market,direction,size,stopPoints\n${new Date(T0).toISOString()},${DAX},BUY,1,20\n`,
    );
    const logs: string[] = [];
    // Four trading requests a minute, one kept for deals: the open and two amends fill the amend lane.
    const limiter = new RateLimiter({
      accountTrading: { max: 4, windowMs: 60_000 },
      tradingReserve: 1,
      accountNonTrading: { max: 1e9, windowMs: 60_000 },
      appNonTrading: { max: 1e9, windowMs: 60_000 },
    });
    const started = await startLive(
      {
        configPath: cfg.configPath,
        log: (level, message) => logs.push(`${level} ${message}`),
        limiter,
        runId: 'paced',
      },
      f,
      [DAX],
      () => logs.join('\n'),
    );
    stop = started.stop;
    const live = started.live;
    let time = T0;
    const tick = async (bid: number) => {
      const before = live.ticks();
      f.pushTick({ epic: DAX, bid, ask: bid + 1, time });
      time += 1000;
      await waitFor(
        () => live.ticks() > before,
        () => `tick ${bid}:\n${logs.join('\n')}`,
      );
    };
    await tick(100);
    await waitFor(() => f.positions().length === 1, 'the entry');
    const dealId = f.positions()[0]!.dealId;
    await tick(112);
    await waitFor(() => f.positions()[0]?.stopLevel === 107, 'the first amend');
    await tick(113);
    await waitFor(() => f.positions()[0]?.stopLevel === 108, 'the second amend');
    await tick(114); // the amend to 109 waits for its slot
    await waitFor(
      () => logs.some((l) => l.includes('stop amends wait')),
      () => logs.join('\n'),
    );
    live.runner.engine.requestClose(dealId, undefined, 'MANUAL');
    live.runner.settle();
    const rows = () => (existsSync(cfg.journal) ? readFileSync(cfg.journal, 'utf8').trim().split('\n').slice(1) : []);
    await waitFor(
      () => rows().length === 2,
      () => `the close:\n${logs.join('\n')}`,
    );
    expect(rows()[1], 'stop_level: the stop IG had (108); 109 never left the process').toMatch(
      new RegExp(`,${dealId},default,BUY,EXIT,1,114,108,13,13,0\\.65,MANUAL,`),
    );
    await stop();
    stop = undefined;
  }, 30_000);
});
