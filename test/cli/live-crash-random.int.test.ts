/**
 * Crash recovery, at random moments: the built CLI's `live` runs against the fake IG on loopback
 * (REST and Lightstreamer) while a random walk of ticks comes in on two markets (one strategy and
 * its guard over both), and is killed with SIGKILL a few times, at a random moment after a tick or
 * just as a deal request reaches IG (the deal is made, the answer never read). Each time a new
 * `live` starts on the same state directory and journal, after up to three ticks with none running
 * (IG still fills its stops on them), sometimes after a `sync` (as cron runs it). At the end `live`
 * stops gracefully and `sync` runs once.
 *
 * Timing is left to chance on purpose (no waiting for a tick to be handled), so what is checked is
 * what must hold whatever the timing: the journal against IG's own record of deals, the state
 * against IG's open positions, the strategy guard against the journal.
 * - every deal IG opened has one ENTRY row, at IG's level and size; no row names another deal;
 * - the PARTIAL and EXIT rows of each deal are IG's closes of it, size and level, EXIT once and
 *   last, and only for a deal IG no longer holds;
 * - every position IG holds is in its market's state file with IG's size (managed, not left
 *   alone), and `sync` finds nothing to settle;
 * - the guard's realised P&L is the sum of the journal's closes;
 * - no signal is entered twice: per market and direction, IG made no more opens than signal rows.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeIg, type FakeIg } from '../support/fake-ig/index.js';
import { DAX, liveConfig, runCli, liveProcesses, waitFor } from '../support/live-harness.js';
import { scenarioRuns } from '../support/scenarios.js';

const HEADER =
  'time,market,deal_id,strategy,direction,action,size,price,stop_level,pnl_points,pnl_amount,r_multiple,reason,held_seconds';

/** A second market, with its own ticks and signals; one strategy (and its guard) over both. */
const FTSE = 'IX.D.FTSE.DAILY.IP';

interface CrashScenario {
  /** DAX bids, one a second; ask = bid + 1. FTSE's are 7,000 + (the DAX's step sum reversed). */
  bids: number[];
  /** Signal rows: the tick they are due on, direction, stop distance, and the market (DAX unless `ftse`). */
  signals: { at: number; direction: 'BUY' | 'SELL'; stopPoints: number; ftse?: boolean }[];
  /**
   * Kills: after which tick, whether at the next deal request or after a pause (ms), how many
   * ticks come before the next start, and whether `sync` runs before it (as from cron).
   */
  kills: { after: number; atDeal: boolean; pauseMs: number; down: number; sync?: boolean }[];
  /** The market's exits block (YAML), one of EXITS. */
  exits?: string;
}

/** Exit rules: trailing with the ladder's partial closes and a time exit; a virtual stop (its closes are the engine's). */
const EXITS = [
  '  trailing: { activateAt: 4, distance: 3 }\n  ladder: {}\n  time: { maxHoldMinutes: 1 }',
  '  virtualStop: { distance: 3, safetyDistance: 12, cooldownMs: 500 }\n  ladder: { rungs: [{ at: 1, lock: 0, close: 0.5 }] }',
];

const scenarioArb: fc.Arbitrary<CrashScenario> = fc
  .record({
    steps: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 30, maxLength: 60 }),
    exits: fc.constantFrom(...EXITS),
    signals: fc.array(
      fc.record({
        at: fc.nat(),
        direction: fc.constantFrom('BUY' as const, 'SELL' as const),
        stopPoints: fc.integer({ min: 4, max: 15 }),
        ftse: fc.boolean(),
      }),
      { minLength: 2, maxLength: 8 },
    ),
    kills: fc.array(
      fc.record({
        after: fc.nat(),
        atDeal: fc.boolean(),
        pauseMs: fc.integer({ min: 0, max: 60 }),
        down: fc.integer({ min: 0, max: 3 }),
        sync: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ steps, exits, signals, kills }) => {
    const bids: number[] = [];
    let bid = 1000;
    for (const step of steps) bids.push((bid += step));
    const n = bids.length;
    return {
      bids,
      exits,
      signals: signals.map((s) => ({ ...s, at: s.at % n })).sort((a, b) => a.at - b.at),
      kills: kills.map((k) => ({ ...k, after: k.after % n })).sort((a, b) => a.after - b.after),
    };
  });

let fake: FakeIg | undefined;
const lives = liveProcesses();
const spawnLive = lives.start;
afterEach(async () => {
  lives.killAll();
  await fake?.close();
  fake = undefined;
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The FTSE's bids: the DAX's steps taken backwards from 7,000, so the two markets differ. */
function ftseBids(bids: readonly number[]): number[] {
  const out: number[] = [];
  let bid = 7000;
  for (let i = bids.length - 1; i >= 0; i--) out.push((bid += bids[i]! - (bids[i - 1] ?? 1000)));
  return out;
}

interface Row {
  dealId: string;
  direction: string;
  action: string;
  size: number;
  price: number;
  strategy: string;
  pnlAmount: number;
}

function journalRows(path: string): Row[] {
  if (!existsSync(path)) return [];
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  expect(header).toBe(HEADER);
  return lines.map((line) => {
    const f = line.split(',');
    return {
      dealId: f[2]!,
      strategy: f[3]!,
      direction: f[4]!,
      action: f[5]!,
      size: Number(f[6]),
      price: Number(f[7]),
      pnlAmount: f[10] === '' ? 0 : Number(f[10]),
    };
  });
}

async function run(s: CrashScenario, f: FakeIg, killAtDeal: { kill: (() => void) | undefined }) {
  // Signal rows must lie after every start of live (it executes none dated before it started);
  // and IG's history, dated by the ticks, within the 5 minutes live looks past its own clock.
  const t0 = Math.ceil(Date.now() / 1000) * 1000 + 120_000;
  const cfg = liveConfig(
    f,
    `pointSize: 1
decimals: 1
lotStep: 0.1
minStopDistance: 2
entry: { kind: signals, file: ./signals.csv, size: 1 }
exits:
${s.exits ?? EXITS[0]}`,
    'strategies:\n  default:\n    guard: { maxDrawdown: -40 }\n',
  );
  // The FTSE: the DAX's market block under another name (liveConfig's markets come last).
  const daxBlock = readFileSync(cfg.configPath, 'utf8').split(`  ${DAX}:\n`)[1]!;
  writeFileSync(cfg.configPath, `${readFileSync(cfg.configPath, 'utf8')}  ${FTSE}:\n${daxBlock}`);
  writeFileSync(
    join(cfg.dir, 'signals.csv'),
    `time,market,direction,size,stopPoints\n${s.signals
      .map(
        (g) =>
          `${new Date(t0 + g.at * 1000).toISOString()},${g.ftse === true ? FTSE : DAX},${g.direction},1,${g.stopPoints}`,
      )
      .join('\n')}\n`,
  );
  const log: string[] = [];
  const start = async () => {
    const live = spawnLive(cfg.configPath, f);
    await waitFor(
      () => f.subscriptions().includes(`CHART:${DAX}:TICK`) && f.subscriptions().includes(`CHART:${FTSE}:TICK`),
      () => live.output(),
      20_000,
    );
    await waitFor(
      () => live.output().includes('stream CONNECTED'),
      () => live.output(),
      20_000,
    );
    await pause(300);
    return live;
  };
  let live = await start();
  const kills = [...s.kills];
  const ftse = ftseBids(s.bids);
  const push = (i: number) => {
    f.pushTick({ epic: DAX, bid: s.bids[i]!, ask: s.bids[i]! + 1, time: t0 + i * 1000 });
    f.pushTick({ epic: FTSE, bid: ftse[i]!, ask: ftse[i]! + 1, time: t0 + i * 1000 });
  };
  for (let i = 0; i < s.bids.length; i++) {
    push(i);
    const kill = kills[0]?.after === i ? kills.shift() : undefined;
    if (kill === undefined) {
      await pause(25);
      continue;
    }
    const victim = live;
    if (kill.atDeal) killAtDeal.kill = () => victim.child.kill('SIGKILL');
    await pause(kill.pauseMs);
    killAtDeal.kill = undefined;
    victim.child.kill('SIGKILL');
    await victim.exited;
    log.push(`--- killed after tick ${i}, then ${kill.down} ticks with no trailguard\n${victim.output()}`);
    // Ticks go on while no trailguard runs: IG fills stops on them.
    for (let k = 0; k < kill.down && i + 1 < s.bids.length; k++) push(++i);
    while (kills[0] !== undefined && kills[0].after <= i) kills.shift();
    if (kill.sync === true) {
      const sync = await runCli(['sync', '--config', cfg.configPath, '--json'], f);
      log.push(`--- sync while down (exit ${sync.status})\n${sync.stdout}\n${sync.stderr}`);
      expect(sync.status, log.join('\n')).toBe(0);
    }
    live = await start();
  }
  await pause(500);
  live.child.kill('SIGTERM');
  const code = await live.exited;
  log.push(`--- last run (exit ${code})\n${live.output()}`);
  expect(code, log.join('\n')).toBe(0);
  const sync = await runCli(['sync', '--config', cfg.configPath, '--json'], f);
  log.push(`--- sync (exit ${sync.status})\n${sync.stdout}\n${sync.stderr}`);
  return { cfg, log: log.join('\n'), sync };
}

describe('live killed at random moments (built CLI against the fake IG)', () => {
  it('the journal matches IG deal for deal, IG positions are all managed, the guard holds every close, no signal twice (property)', async () => {
    const deals = { [DAX]: 0, [FTSE]: 0 };
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        lives.killAll();
        await fake?.close(); // left by a failing run while fast-check shrinks
        const killAtDeal: { kill: (() => void) | undefined } = { kill: undefined };
        fake = await startFakeIg({
          markets: [
            { epic: DAX, bid: 1000, ask: 1001, minStopDistance: 2, decimals: 1 },
            { epic: FTSE, bid: 7000, ask: 7001, minStopDistance: 2, decimals: 1 },
          ],
          onRequest: (r) => {
            if (r.path.startsWith('/positions/otc') && r.method !== 'GET') killAtDeal.kill?.();
          },
        });
        const f = fake;
        const { cfg, log, sync } = await run(s, f, killAtDeal);
        const why = `scenario ${JSON.stringify(s)} in ${cfg.dir}\n${log}`;
        expect(sync.status, why).toBe(0);

        const igDeals = f.deals();
        const rows = journalRows(cfg.journal);
        const open = new Map(f.positions().map((p) => [p.dealId, p]));
        const opened = igDeals.filter((d) => d.kind === 'open');
        for (const o of opened) deals[o.epic as typeof DAX]++;
        for (const o of opened) {
          const mine = rows.filter((r) => r.dealId === o.dealId);
          expect(
            mine.filter((r) => r.action === 'ENTRY').map((r) => [r.size, r.price]),
            `ENTRY of ${o.dealId}\n${why}`,
          ).toEqual([[o.size, o.level]]);
          const closes = (list: { size: number; price: number }[]) => list.map((c) => `${c.size}@${c.price}`).sort();
          expect(closes(mine.filter((r) => r.action !== 'ENTRY')), `closes of ${o.dealId}\n${why}`).toEqual(
            closes(
              igDeals
                .filter((d) => d.kind === 'close' && d.dealId === o.dealId)
                .map((d) => ({ size: d.size, price: d.level })),
            ),
          );
          const exits = mine.filter((r) => r.action === 'EXIT');
          expect(exits.length, `EXIT of ${o.dealId}\n${why}`).toBe(open.has(o.dealId) ? 0 : 1);
          if (exits.length === 1) expect(mine.at(-1)?.action, why).toBe('EXIT');
        }
        const known = new Set(opened.map((o) => o.dealId));
        expect(
          rows.filter((r) => !known.has(r.dealId)),
          why,
        ).toEqual([]);

        const saved = [DAX, FTSE].flatMap((market) => {
          const state = join(cfg.stateDir, `${market}.json`);
          return existsSync(state)
            ? (JSON.parse(readFileSync(state, 'utf8')) as { positions: { dealId: string; size: number }[] }).positions
            : [];
        });
        expect(saved.map((p) => [p.dealId, p.size]).sort(), `state against IG\n${why}`).toEqual(
          [...open.values()].map((p) => [p.dealId, p.size]).sort(),
        );

        const strategies = JSON.parse(readFileSync(join(cfg.stateDir, '_strategies.json'), 'utf8'));
        const realised = rows.reduce((sum, r) => sum + r.pnlAmount, 0);
        expect(strategies.guards.default.realised, `guard\n${why}`).toBeCloseTo(realised, 6);

        // No signal twice: per market and direction, no more opens than signal rows.
        const key = (market: string, direction: string) => `${market} ${direction}`;
        const signalled = s.signals.map((g) => key(g.ftse === true ? FTSE : DAX, g.direction));
        const directions = new Map(rows.filter((r) => r.action === 'ENTRY').map((r) => [r.dealId, r.direction]));
        for (const o of opened) {
          const k = key(o.epic, directions.get(o.dealId) ?? '?');
          expect(
            opened.filter((x) => key(x.epic, directions.get(x.dealId) ?? '?') === k).length,
            `opens of ${k} against its signal rows\n${why}`,
          ).toBeLessThanOrEqual(signalled.filter((x) => x === k).length);
        }
        await f.close();
        fake = undefined;
        rmSync(cfg.dir, { recursive: true, force: true });
      }),
      {
        ...scenarioRuns<CrashScenario>('CRASH', 4, 20261124),
        // TG_CRASH_SCENARIO='{"bids":…}' runs that one scenario (as a failure prints it) first.
        examples:
          process.env.TG_CRASH_SCENARIO === undefined
            ? []
            : [[JSON.parse(process.env.TG_CRASH_SCENARIO) as CrashScenario]],
      },
    );
    // Honest only if the scenarios trade.
    expect(deals[DAX]).toBeGreaterThan(2);
    expect(deals[FTSE]).toBeGreaterThan(2);
  }, 400_000);
});
