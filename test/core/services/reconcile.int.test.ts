import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalIndex } from '../../../src/core/adapters/files/journal-index.js';
import { JsonStateStore } from '../../../src/core/adapters/files/state-store.js';
import { SimBroker } from '../../../src/core/adapters/sim/sim-broker.js';
import type { ExitsConfig, StrategyConfig } from '../../../src/core/domain/config.js';
import type { StrategiesState } from '../../../src/core/ports/state-store.js';
import type { PositionSnapshot } from '../../../src/core/engine/position.js';
import { reconcile, type BrokerPosition, type CloseFound } from '../../../src/core/services/reconcile.js';
import { EngineRunner } from '../../../src/core/services/run-engine.js';
import { brief, DAX, market, MemoryJournal } from '../../support/engine-harness.js';

const saved: PositionSnapshot = {
  dealId: 'D1',
  market: DAX,
  strategy: 'default',
  direction: 'BUY',
  size: 1,
  originalSize: 1,
  entryPrice: 100,
  entryTime: Date.parse('2024-03-14T08:00:00Z'),
  entryReason: 'SIGNAL',
  stopReason: 'TRAILING_STOP',
  initialStop: 90,
  risk: 10,
  best: 130,
  trailingActive: true,
  ladderNext: 0,
  ladderLock: undefined,
  virtualLevel: undefined,
};

const atBroker = (over: Partial<BrokerPosition> = {}): BrokerPosition => ({
  dealId: 'D1',
  market: DAX,
  direction: 'BUY',
  size: 1,
  level: 100,
  stopLevel: 120,
  openedAt: saved.entryTime,
  bid: 125,
  ask: 126,
  ...over,
});

async function setup(options: {
  entryKind?: 'none' | 'signals';
  exits?: ExitsConfig;
  strategies?: Record<string, StrategyConfig>;
  savedGuards?: StrategiesState;
  ownOpensGone?: BrokerPosition[];
  journalText?: string;
  state?: PositionSnapshot[];
  broker: BrokerPosition[];
  closeAt?: { level: number; time: number };
  /** The history's closes, oldest first (else closeAt alone); per deal id when a function. */
  closes?: CloseFound[] | ((dealId: string) => CloseFound[]);
  deferUnknownPartials?: boolean;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'tg-rec-'));
  const store = new JsonStateStore(join(dir, 'state'));
  if (options.state) store.writeMarket({ version: 1, market: DAX, positions: options.state });
  if (options.savedGuards) store.writeStrategies(options.savedGuards);
  const journalPath = join(dir, 'trade_history.csv');
  if (options.journalText) writeFileSync(journalPath, options.journalText);
  const cfg = market({
    exits: options.exits ?? { trailing: { activateAt: 10, distance: 10 } },
    entry: options.entryKind === 'signals' ? { kind: 'signals', file: 'x.csv', size: 1 } : { kind: 'none' },
  });
  const journal = new MemoryJournal();
  const sim = new SimBroker([cfg]);
  for (const b of options.broker)
    sim.seed({
      dealId: b.dealId,
      market: b.market,
      direction: b.direction,
      size: b.size,
      stopLevel: b.stopLevel,
      limitLevel: b.limitLevel,
    });
  const index = await JournalIndex.read(journalPath);
  const runner = new EngineRunner({
    setup: { markets: [cfg], strategies: options.strategies ?? {}, entries: new Map() },
    broker: sim,
    journal,
    journalRowsBefore: index.rows,
  });
  const report = await reconcile({
    runner,
    store,
    journal: index,
    markets: [cfg],
    brokerPositions: options.broker,
    findCloses: (dealId) =>
      Promise.resolve(
        typeof options.closes === 'function'
          ? options.closes(dealId)
          : (options.closes ?? (options.closeAt ? [options.closeAt] : [])),
      ),
    deferUnknownPartials: options.deferUnknownPartials,
    ownOpensGone: options.ownOpensGone,
    now: Date.parse('2024-03-14T12:00:00Z'),
  });
  return { report, journal, runner, store, dir };
}

const HEADER =
  'time,market,deal_id,strategy,direction,action,size,price,stop_level,pnl_points,pnl_amount,r_multiple,reason,held_seconds\n';
const ENTRY_ROW = `2024-03-14T08:00:00.000Z,${DAX},D1,default,BUY,ENTRY,1,100,90,,,,SIGNAL,\n`;

describe('start-up reconciliation (live and sync)', () => {
  it('closes made while away are written in the order they happened, across positions (not position by position)', async () => {
    const t = (hhmm: string) => Date.parse(`2024-03-14T${hhmm}:00Z`);
    const { journal } = await setup({
      state: [saved, { ...saved, dealId: 'D2' }],
      // D1 gone; IG holds 0.5 of D2.
      broker: [atBroker({ dealId: 'D2', size: 0.5 })],
      closes: (dealId) =>
        dealId === 'D1'
          ? [{ level: 120, time: t('10:06'), size: 1, full: true }]
          : [
              { level: 110, time: t('10:04'), size: 0.3, full: false },
              { level: 115, time: t('10:07'), size: 0.2, full: false },
            ],
    });
    expect(
      journal.rows.map((r) => `${r.dealId} ${r.action} ${r.size}@${r.price} ${new Date(r.time).toISOString()}`),
    ).toEqual([
      'D2 PARTIAL 0.3@110 2024-03-14T10:04:00.000Z',
      'D1 EXIT 1@120 2024-03-14T10:06:00.000Z',
      'D2 PARTIAL 0.2@115 2024-03-14T10:07:00.000Z',
    ]);
    // The rows of D2 have no stop_level (not known then); IG's stop now is applied after them.
    expect(journal.rows.filter((r) => r.dealId === 'D2').map((r) => r.stopLevel)).toEqual([undefined, undefined]);
  });

  it('a saved position still open at the broker is resumed with the broker stop and the saved trailing state; no row written', async () => {
    const { report, journal, runner } = await setup({ state: [saved], broker: [atBroker()] });
    expect(report.resumed).toEqual([{ dealId: 'D1', market: DAX, size: 1, stopLevel: 120 }]);
    expect(journal.rows).toEqual([]);
    const p = runner.engine.position('D1');
    expect(p?.stopLevel).toBe(120);
    expect(p?.best).toBe(130);
    // The trailing rule continues from the saved best: 130 − 10 = 120 is not tighter; a new high moves it.
    runner.processTick({ time: Date.parse('2024-03-14T12:00:01Z'), market: DAX, bid: 135, ask: 136 });
    expect(runner.engine.position('D1')?.stopLevel).toBe(125);
  });

  it('a saved position gone from the broker gets its exit from history: EXIT CLOSED_EXTERNALLY, state removed', async () => {
    const time = Date.parse('2024-03-14T10:00:00Z');
    const { report, journal, store, dir } = await setup({ state: [saved], broker: [], closeAt: { level: 120, time } });
    expect(report.closedWhileAway).toEqual([
      { dealId: 'D1', market: DAX, size: 1, partial: false, level: 120, time, levelFrom: 'history' },
    ]);
    expect(brief(journal.rows)).toEqual(['EXIT BUY 1@120 stop= CLOSED_EXTERNALLY pts=20']);
    expect(journal.rows[0]?.rMultiple).toBe(2);
    expect(store.readMarket(DAX)).toBeUndefined();
    expect(existsSync(join(dir, 'state', `${DAX}.json`))).toBe(false);
  });

  it('no duplicate: when the journal already has the EXIT row, nothing is written again', async () => {
    const exitRow = `2024-03-14T10:00:00.000Z,${DAX},D1,default,BUY,EXIT,1,120,120,20,20,2,TRAILING_STOP,7200\n`;
    const { report, journal, store } = await setup({
      state: [saved],
      broker: [],
      journalText: HEADER + ENTRY_ROW + exitRow,
      closeAt: { level: 120, time: 1 },
    });
    expect(report.alreadyJournaled).toEqual([{ dealId: 'D1', market: DAX }]);
    expect(journal.rows).toEqual([]);
    expect(store.readMarket(DAX)).toBeUndefined();
  });

  it('a loss the saved guard missed stops its strategy on the first tick, before any entry, as on the tick it was taken', async () => {
    const exitRow = `2024-03-14T10:00:00.000Z,${DAX},D1,default,BUY,EXIT,1,65,90,-35,-35,-3.5,STOP,7200\n`;
    const { report, runner } = await setup({
      strategies: { default: { guard: { maxDrawdown: -30, trailFraction: 0.5, minPeak: 1000 } } },
      savedGuards: { version: 1, guards: { default: { realised: 0, peak: 0, stopped: undefined } }, journalRows: 1 },
      state: [saved],
      broker: [],
      journalText: HEADER + ENTRY_ROW + exitRow,
    });
    expect(report.realisedFromJournal).toEqual([{ strategy: 'default', rows: 1, amount: -35 }]);
    expect(runner.engine.exportGuards().default?.stopped).toBeUndefined();
    runner.processTick({ time: Date.parse('2024-03-14T12:00:01Z'), market: DAX, bid: 100, ask: 101 });
    expect(runner.engine.exportGuards().default).toMatchObject({ realised: -35, stopped: 'STRATEGY_DRAWDOWN' });
  });

  it('a crash between a close row and the state file: the strategy guard gets the P&L of the rows it had not saved, once', async () => {
    const exitRow = `2024-03-14T10:00:00.000Z,${DAX},D1,default,BUY,EXIT,1,120,120,20,20,2,TRAILING_STOP,7200\n`;
    const guarded = (journalRows: number | undefined) =>
      setup({
        strategies: { default: { guard: { maxDrawdown: -1000, trailFraction: 0.5, minPeak: 0 } } },
        savedGuards: { version: 1, guards: { default: { realised: 5, peak: 30, stopped: undefined } }, journalRows },
        state: [saved],
        broker: [],
        journalText: HEADER + ENTRY_ROW + exitRow,
      });
    // Saved after the ENTRY row only: the EXIT row's 20 is not in the guard yet.
    const behind = await guarded(1);
    expect(behind.report.alreadyJournaled).toEqual([{ dealId: 'D1', market: DAX }]);
    expect(behind.report.realisedFromJournal).toEqual([{ strategy: 'default', rows: 1, amount: 20 }]);
    expect(behind.runner.engine.exportGuards().default).toMatchObject({ realised: 25, peak: 30 });
    expect(behind.journal.rows).toEqual([]);
    // Saved with the new count: a second start adds nothing.
    expect(behind.store.readStrategies()).toMatchObject({ journalRows: 2, guards: { default: { realised: 25 } } });

    for (const counted of [2, undefined, 3]) {
      // Saved after both rows; written before the count existed (or by `state clear`); another journal.
      const { report, runner } = await guarded(counted);
      expect(report.realisedFromJournal, String(counted)).toEqual([]);
      expect(runner.engine.exportGuards().default?.realised, String(counted)).toBe(5);
    }
  });

  it('a crash between the ENTRY row and the state file: the position is resumed from the journal, no second ENTRY', async () => {
    const { report, journal, runner } = await setup({
      entryKind: 'signals',
      state: [],
      broker: [atBroker()],
      journalText: HEADER + ENTRY_ROW,
    });
    expect(report.recoveredFromJournal).toEqual([{ dealId: 'D1', market: DAX }]);
    expect(journal.rows).toEqual([]);
    expect(runner.engine.position('D1')?.risk).toBe(10);
  });

  it('rebuilt from its ENTRY row: the virtual stop its deal reference names, and the ladder rungs its PARTIAL rows took', async () => {
    const partial = `2024-03-14T09:00:00.000Z,${DAX},D1,default,BUY,PARTIAL,0.5,110,90,10,5,1,PROFIT_TARGET,3600\n`;
    const { report, runner } = await setup({
      entryKind: 'signals',
      exits: {
        virtualStop: { distance: 4, safetyDistance: 10, scalpMaxStop: 20, cooldownMs: 3000 },
        ladder: {
          rungs: [
            { at: 0.5, lock: -0.5, close: 0 },
            { at: 1, lock: 0, close: 0.5 },
            { at: 3, lock: 1, close: 0.5 },
          ],
        },
      },
      state: [],
      broker: [atBroker({ size: 0.5, stopLevel: 90, own: { strategy: undefined, virtual: true, stopReason: 'STOP' } })],
      journalText: HEADER + ENTRY_ROW + partial,
    });
    expect(report.recoveredFromJournal).toEqual([{ dealId: 'D1', market: DAX }]);
    // Entry 100, virtual distance 4: the virtual level 96 is the initial stop for R (SPEC §4.2).
    expect(runner.engine.position('D1')).toMatchObject({
      size: 0.5,
      originalSize: 1,
      virtualLevel: 96,
      initialStop: 96,
      risk: 4,
      ladderNext: 2,
      ladderLock: 0,
    });
    // r 1.25 on the next tick: the 1R rung, taken before the crash, does not close the rest again.
    runner.processTick({ time: Date.parse('2024-03-14T12:00:01Z'), market: DAX, bid: 105, ask: 106 });
    expect(runner.engine.position('D1')?.size).toBe(0.5);

    // An adopted position has no deal reference of ours: the virtual stop applies to it as at its
    // adoption, by its own stop distance (decisions 13).
    const adopted = await setup({
      entryKind: 'none',
      exits: { virtualStop: { distance: 4, safetyDistance: 10, cooldownMs: 3000 } },
      state: [],
      broker: [atBroker({ stopLevel: 90 })],
      journalText: HEADER + ENTRY_ROW.replace(',SIGNAL,', ',ADOPTED,'),
    });
    expect(adopted.report.recoveredFromJournal).toEqual([{ dealId: 'D1', market: DAX }]);
    expect(adopted.runner.engine.position('D1')).toMatchObject({ virtualLevel: 96, risk: 4 });
  });

  it('an unknown broker position is adopted when the entry kind is none (ENTRY ADOPTED) and reported otherwise', async () => {
    const adopted = await setup({ entryKind: 'none', broker: [atBroker({ dealId: 'X9' })] });
    expect(brief(adopted.journal.rows)).toEqual(['ENTRY BUY 1@100 stop=120 ADOPTED']);
    expect(adopted.store.readMarket(DAX)?.positions.map((p) => p.dealId)).toEqual(['X9']);
    const reported = await setup({ entryKind: 'signals', broker: [atBroker({ dealId: 'X9' })] });
    expect(reported.journal.rows).toEqual([]);
    expect(reported.report.unmanaged.map((u) => u.dealId)).toEqual(['X9']);
  });

  it("a crash between sending an open and its confirmation: the position marked as trailguard's own is taken over with its ENTRY row", async () => {
    // The mark (IG: the deal reference) says the virtual stop applies: IG's stop 90 is the
    // safety stop, the virtual level 100 − 4 = 96 is the initial stop for R.
    const own = { strategy: 'scalper', virtual: true, stopReason: 'STOP' as const };
    const { report, journal, runner, store } = await setup({
      entryKind: 'signals',
      exits: { virtualStop: { distance: 4, safetyDistance: 10, cooldownMs: 1000 } },
      broker: [atBroker({ dealId: 'X9', stopLevel: 90, own })],
    });
    expect(report.recoveredOpens).toEqual([{ dealId: 'X9', market: DAX, strategy: 'scalper' }]);
    expect(report.unmanaged).toEqual([]);
    expect(brief(journal.rows)).toEqual(['ENTRY BUY 1@100 stop=90 SIGNAL']);
    expect(journal.rows[0]?.strategy).toBe('scalper');
    const p = runner.engine.position('X9');
    expect(p).toMatchObject({ strategy: 'scalper', virtualLevel: 96, initialStop: 96, risk: 4 });
    expect(store.readMarket(DAX)?.positions.map((q) => q.dealId)).toEqual(['X9']);
    // Managed at once: a bid through the virtual level closes it at market.
    runner.processTick({ time: Date.parse('2024-03-14T12:00:01Z'), market: DAX, bid: 95, ask: 96 });
    expect(brief(journal.rows).at(-1)).toBe('EXIT BUY 1@95 stop=90 VIRTUAL_STOP pts=-5');

    // A strategy no longer configured falls back to the market's; a recorded entry is never written twice.
    const renamed = await setup({
      entryKind: 'signals',
      broker: [atBroker({ dealId: 'X9', own: { ...own, strategy: undefined } })],
    });
    expect(renamed.report.recoveredOpens).toEqual([{ dealId: 'X9', market: DAX, strategy: 'default' }]);
    const recorded = await setup({
      entryKind: 'signals',
      broker: [atBroker({ own })],
      journalText: HEADER + ENTRY_ROW,
    });
    expect(recorded.report.recoveredFromJournal).toEqual([{ dealId: 'D1', market: DAX }]);
    expect(recorded.report.recoveredOpens).toEqual([]);
    expect(recorded.journal.rows).toEqual([]);
  });

  it("an open of trailguard's own that IG made and closed while no run saw it gets its ENTRY row and its close from the history, once", async () => {
    const closedAt = Date.parse('2024-03-14T09:00:00Z');
    const gone = atBroker({
      dealId: 'X9',
      stopLevel: 90,
      own: { strategy: undefined, virtual: false, stopReason: 'STOP' },
    });
    const { report, journal, runner, store } = await setup({
      entryKind: 'signals',
      strategies: { default: { guard: { maxDrawdown: -1000, minPeak: 0 } } },
      broker: [],
      ownOpensGone: [gone],
      closeAt: { level: 90, time: closedAt },
    });
    expect(brief(journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=90 SIGNAL',
      'EXIT BUY 1@90 stop=90 CLOSED_EXTERNALLY pts=-10',
    ]);
    expect(journal.rows[1]?.time).toBe(closedAt);
    expect(report.recoveredOpens).toEqual([{ dealId: 'X9', market: DAX, strategy: 'default' }]);
    expect(report.closedWhileAway).toEqual([
      { dealId: 'X9', market: DAX, size: 1, partial: false, level: 90, time: closedAt, levelFrom: 'history' },
    ]);
    expect(runner.engine.exportGuards().default?.realised).toBe(-10);
    expect(store.readMarket(DAX)).toBeUndefined();

    // Its ENTRY row written, the state not (stopped between the two): opened from the row, then
    // closed; with its EXIT row too, nothing is written.
    const entryRow = `2024-03-14T08:00:00.000Z,${DAX},X9,default,BUY,ENTRY,1,100,90,,,,SIGNAL,\n`;
    const fromRow = await setup({
      entryKind: 'signals',
      broker: [],
      ownOpensGone: [gone],
      journalText: HEADER + entryRow,
      closeAt: { level: 90, time: closedAt },
    });
    expect(brief(fromRow.journal.rows)).toEqual(['EXIT BUY 1@90 stop= CLOSED_EXTERNALLY pts=-10']);
    expect(fromRow.report.recoveredFromJournal).toEqual([{ dealId: 'X9', market: DAX }]);
    expect(fromRow.report.recoveredOpens).toEqual([]);
    const exitRow = `2024-03-14T09:00:00.000Z,${DAX},X9,default,BUY,EXIT,1,90,90,-10,-10,-1,STOP,3600\n`;
    const recorded = await setup({
      entryKind: 'signals',
      broker: [],
      ownOpensGone: [gone],
      journalText: HEADER + entryRow + exitRow,
    });
    expect(recorded.journal.rows).toEqual([]);
    expect(recorded.report.recoveredOpens).toEqual([]);
    // Still at the broker: taken over there, once.
    const held = await setup({ entryKind: 'signals', broker: [gone], ownOpensGone: [gone] });
    expect(brief(held.journal.rows)).toEqual(['ENTRY BUY 1@100 stop=90 SIGNAL']);
  });

  it('sizes from the journal are in lots: 1 − 0.5 − 0.2 is 0.3, not 0.30000000000000004', async () => {
    const partial = (size: number) =>
      `2024-03-14T09:00:00.000Z,${DAX},D1,default,BUY,PARTIAL,${size},120,90,20,${20 * size},2,PROFIT_TARGET,3600\n`;
    const { report, journal, runner, store } = await setup({
      state: [saved],
      broker: [atBroker({ size: 0.3 })],
      journalText: HEADER + ENTRY_ROW + partial(0.5) + partial(0.2),
    });
    expect(report.closedWhileAway).toEqual([]);
    expect(journal.rows).toEqual([]);
    expect(runner.engine.position('D1')?.size).toBe(0.3);
    expect(store.readMarket(DAX)?.positions[0]?.size).toBe(0.3);
  });

  it('a partial close while away writes a PARTIAL row for the difference', async () => {
    const { journal, runner, report } = await setup({
      state: [{ ...saved, size: 1 }],
      broker: [atBroker({ size: 0.4 })],
      closeAt: { level: 110, time: 5 },
    });
    // IG's stop now (120) may have been set after that close: the row says no stop (decisions 20).
    expect(brief(journal.rows)).toEqual(['PARTIAL BUY 0.6@110 stop= CLOSED_EXTERNALLY pts=10']);
    expect(runner.engine.position('D1')).toMatchObject({ size: 0.4, stopLevel: 120 });
    expect(report.closedWhileAway).toMatchObject([{ dealId: 'D1', size: 0.6, partial: true, level: 110 }]);
  });

  it('closes in several parts while away: one row each, at its own level and time, after those the journal has', async () => {
    const t = (h: number) => Date.parse(`2024-03-14T${String(h).padStart(2, '0')}:00:00Z`);
    const ownPartial = `2024-03-14T09:00:00.000Z,${DAX},D1,default,BUY,PARTIAL,0.2,120,90,20,4,2,PROFIT_TARGET,3600\n`;
    const closes: CloseFound[] = [
      { level: 120, time: t(9), size: 0.2, full: false }, // trailguard's own, already a row
      { level: 110, time: t(10), size: 0.3, full: false },
      { level: 130, time: t(11), size: 0.1, full: false },
    ];
    const held = await setup({
      state: [{ ...saved, size: 0.8 }],
      broker: [atBroker({ size: 0.4 })],
      journalText: HEADER + ENTRY_ROW + ownPartial,
      closes,
    });
    expect(brief(held.journal.rows)).toEqual([
      'PARTIAL BUY 0.3@110 stop= CLOSED_EXTERNALLY pts=10',
      'PARTIAL BUY 0.1@130 stop= CLOSED_EXTERNALLY pts=30',
    ]);
    expect(held.journal.rows.map((r) => r.time)).toEqual([t(10), t(11)]);
    expect(held.runner.engine.position('D1')?.size).toBe(0.4);

    // Gone: the rest closed in two parts, the second a full close.
    const gone = await setup({
      state: [{ ...saved, size: 0.8 }],
      broker: [],
      journalText: HEADER + ENTRY_ROW + ownPartial,
      closes: [...closes.slice(0, 2), { level: 140, time: t(11), size: 0.5, full: true }],
    });
    expect(brief(gone.journal.rows)).toEqual([
      'PARTIAL BUY 0.3@110 stop= CLOSED_EXTERNALLY pts=10',
      'EXIT BUY 0.5@140 stop= CLOSED_EXTERNALLY pts=40',
    ]);
    expect(gone.report.unresolved).toEqual([]);
    expect(gone.store.readMarket(DAX)).toBeUndefined();
  });

  it('a position gone while its full close is not in the history yet (only a partial is) stays unresolved', async () => {
    const { report, journal, store } = await setup({
      state: [saved],
      broker: [],
      closes: [{ level: 110, time: 5, size: 0.5, full: false }],
    });
    expect(journal.rows).toEqual([]);
    expect(report.unresolved.map((u) => u.dealId)).toEqual(['D1']);
    expect(store.readMarket(DAX)?.positions[0]?.size).toBe(1);
  });

  it('history sizes that do not add up: the latest close takes the whole difference, at its level', async () => {
    const { journal } = await setup({
      state: [saved],
      broker: [atBroker({ size: 0.4 })],
      closes: [{ level: 115, time: 5, size: 0.9, full: false }],
    });
    expect(brief(journal.rows)).toEqual(['PARTIAL BUY 0.6@115 stop= CLOSED_EXTERNALLY pts=15']);
  });

  it('sync: a partial close not in the history yet waits (unresolved, no row) and a later sync writes it from the history', async () => {
    const first = await setup({
      state: [saved],
      broker: [atBroker({ size: 0.4 })],
      journalText: HEADER + ENTRY_ROW,
      deferUnknownPartials: true,
    });
    expect(first.journal.rows).toEqual([]);
    expect(first.report.unresolved).toMatchObject([{ dealId: 'D1', market: DAX }]);
    expect(first.runner.engine.position('D1')?.size).toBe(0.4);
    const kept = first.store.readMarket(DAX)?.positions[0];
    expect(kept?.size).toBe(0.4);

    // The next sync: the journal still says 1 (its ENTRY row), IG 0.4, and the history has the close now.
    const second = await setup({
      state: [kept as PositionSnapshot],
      broker: [atBroker({ size: 0.4 })],
      journalText: HEADER + ENTRY_ROW,
      closes: [{ level: 112, time: 7, size: 0.6, full: false }],
      deferUnknownPartials: true,
    });
    expect(brief(second.journal.rows)).toEqual(['PARTIAL BUY 0.6@112 stop= CLOSED_EXTERNALLY pts=12']);
    expect(second.report.unresolved).toEqual([]);
  });
});
