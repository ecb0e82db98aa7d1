import type { MarketConfig } from '../domain/config.js';
import type { PositionAmendedEvent, PositionClosedEvent, PositionOpenedEvent } from '../domain/events.js';
import type { Direction, EntryReason, ExitReason, StopReason } from '../domain/types.js';
import type { JournalEntry, JournalIndex } from '../adapters/files/journal-index.js';
import { cleanSize, LevelRounder, priceMove } from '../engine/numeric.js';
import { ladderProgress } from '../engine/rules/profit-ladder.js';
import { virtualStopApplies } from '../engine/rules/virtual-stop.js';
import type { PositionSnapshot } from '../engine/position.js';
import type { StateStore, StrategiesState } from '../ports/state-store.js';
import type { GuardState } from '../engine/rules/strategy-guard.js';
import type { EngineRunner } from './run-engine.js';

/** History look-ups reach this far past the local clock: IG's clock and ours may disagree a little. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** A position as the broker holds it now. */
export interface BrokerPosition {
  dealId: string;
  market: string;
  direction: Direction;
  size: number;
  level: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  openedAt: number;
  bid?: number | undefined;
  ask?: number | undefined;
  /**
   * Set when trailguard opened the position itself (IG: its deal reference says so): how, for a
   * position no state file and no journal row knows (a run stopped between sending the open and
   * reading its confirmation). `strategy` is undefined when no configured strategy matches.
   */
  own?: { strategy: string | undefined; virtual: boolean; stopReason: StopReason } | undefined;
}

/** A close of a position in the broker's history. */
export interface CloseFound {
  level: number;
  time: number;
  /** Size closed, when the history says. */
  size?: number | undefined;
  /** True for the close that closed the position, false for a partial one; undefined when not said. */
  full?: boolean | undefined;
}

export interface ReconcileDeps {
  runner: EngineRunner;
  store: StateStore;
  journal: JournalIndex;
  markets: readonly MarketConfig[];
  brokerPositions: readonly BrokerPosition[];
  /**
   * Where and when the broker closed a position, in full or in parts, since it opened (history
   * endpoints): every close found, oldest first.
   */
  findCloses: (dealId: string, since: number, openLevel: number) => Promise<readonly CloseFound[]>;
  /**
   * `sync`: a partial close that is not in the history yet is left for a later run (reported
   * unresolved, no row) rather than written at the last price. `live` writes it at the last
   * price: it goes on managing the position, and a later close of the rest would end the deal's
   * rows without it.
   */
  deferUnknownPartials?: boolean | undefined;
  /**
   * Opens of trailguard's own that the broker made and no longer holds, as they were opened (IG:
   * from the activity history since the state was last saved, StrategiesState.savedAt). Those
   * the state does not know were opened and closed again while no run saw them.
   */
  ownOpensGone?: readonly BrokerPosition[] | undefined;
  /**
   * Every market of the configuration (not only those this run manages): a saved position of a
   * market since removed from it is reported unresolved, not passed over.
   */
  configured?: readonly string[] | undefined;
  now: number;
}

export interface ReconcileReport {
  resumed: { dealId: string; market: string; size: number; stopLevel: number | undefined }[];
  closedWhileAway: {
    dealId: string;
    market: string;
    /** The size this close took; `partial` when IG still holds the rest of the position. */
    size: number;
    partial: boolean;
    level: number;
    time: number;
    levelFrom: 'history' | 'last price';
  }[];
  alreadyJournaled: { dealId: string; market: string }[];
  recoveredFromJournal: { dealId: string; market: string }[];
  /** Opens of trailguard's own that an earlier run never saw confirmed: taken over, with their ENTRY row. */
  recoveredOpens: { dealId: string; market: string; strategy: string }[];
  /** Close rows an earlier run wrote but stopped before it saved its guards: their P&L, added per strategy. */
  realisedFromJournal: { strategy: string; rows: number; amount: number }[];
  adopted: { dealId: string; market: string }[];
  unmanaged: { dealId: string; market: string; reason: string }[];
  unresolved: { dealId: string; market: string; reason: string }[];
  /**
   * Closes the run before had sent (a ladder rung's, a rule's) that IG never executed: it stopped
   * before they were on the wire, or before IG took them. Kept in the state file; `live` sends
   * them again (Engine.resendUnsentCloses), `sync` and `close` only report them.
   */
  unsentCloses: { dealId: string; market: string; size: number; reason: ExitReason }[];
}

export function emptyReport(): ReconcileReport {
  return {
    resumed: [],
    closedWhileAway: [],
    alreadyJournaled: [],
    recoveredFromJournal: [],
    recoveredOpens: [],
    realisedFromJournal: [],
    adopted: [],
    unmanaged: [],
    unresolved: [],
    unsentCloses: [],
  };
}

/**
 * Start-up reconciliation of `live` and the whole of `sync` (SPEC §6.3, issue: recovery):
 * - a saved position still open at the broker is resumed: size, stop and limit are the broker's,
 *   the trailing state continues from the saved best price;
 * - a saved position gone from the broker gets its real exit from the history (EXIT row
 *   CLOSED_EXTERNALLY) unless the journal already has its EXIT row (a crash after the row);
 * - a broker position we do not know: if the journal has its ENTRY row (a crash before the state
 *   file) it is resumed from that row; else, if trailguard opened it (a crash before its
 *   confirmation), it is taken over with its ENTRY row as that run would have written it; else
 *   adopted when the market's entry kind is `none`, otherwise reported and left alone;
 * - an open of trailguard's own that the broker has closed again before any run saved it
 *   (`ownOpensGone`) gets its ENTRY row (unless written) and its close from the history;
 * - the strategy guards get the P&L of close rows written after they were last saved.
 * Every journal row goes through the engine, exactly as in the main loop.
 */
/**
 * Writes what the engine holds to the state store (SPEC §6.3): the given markets' positions (an
 * empty list deletes the file), the strategy guards, and how far each market's entries have read
 * (kept from earlier runs for markets this engine has not seen a tick of).
 */
export function saveEngineState(store: StateStore, runner: EngineRunner, markets: Iterable<string>, now: number): void {
  const engine = runner.engine;
  for (const market of markets) store.writeMarket({ version: 1, market, positions: engine.exportPositions(market) });
  store.writeStrategies({
    version: 1,
    guards: engine.exportGuards(),
    entriesSeenUntil: { ...store.readStrategies()?.entriesSeenUntil, ...engine.exportEntriesSeen() },
    journalRows: runner.journalRows,
    savedAt: now,
  });
}

/**
 * The saved guards with the P&L of the journal's close rows that they do not hold yet: rows
 * written after the guards were last saved (a run stopped between a close's row and its state).
 */
function guardsWithUnsavedCloses(
  saved: StrategiesState,
  journal: JournalIndex,
  report: ReconcileReport,
): Record<string, GuardState> {
  const guards: Record<string, GuardState> = { ...saved.guards };
  const from = saved.journalRows;
  // A journal with fewer rows than the guards counted is another file: nothing to add from it.
  if (from === undefined || journal.rows < from) return guards;
  for (const close of journal.closes) {
    const state = guards[close.strategy];
    // (A strategy without a saved guard had none when the rows were written.)
    if (close.row < from || !Number.isFinite(close.pnlAmount) || state === undefined) continue;
    guards[close.strategy] = { ...state, realised: state.realised + close.pnlAmount };
    const line = report.realisedFromJournal.find((r) => r.strategy === close.strategy);
    if (line === undefined)
      report.realisedFromJournal.push({ strategy: close.strategy, rows: 1, amount: close.pnlAmount });
    else {
      line.rows++;
      line.amount += close.pnlAmount;
    }
  }
  return guards;
}

/**
 * Positions trailguard opened itself (at the broker, or found in its history) that neither a state
 * file nor the journal records: a run stopped between sending the open and reading its
 * confirmation. reconcile takes them over.
 */
export function unrecordedOwnOpens(
  store: StateStore,
  journal: JournalIndex,
  markets: readonly MarketConfig[],
  brokerPositions: readonly BrokerPosition[],
): BrokerPosition[] {
  const saved = new Set<string>();
  for (const m of markets) for (const p of store.readMarket(m.market)?.positions ?? []) saved.add(p.dealId);
  const configured = new Map(markets.map((m) => [m.market, m]));
  return brokerPositions.filter((p) => {
    const kind = configured.get(p.market)?.entry.kind;
    return (
      p.own !== undefined &&
      kind !== undefined &&
      kind !== 'none' &&
      !saved.has(p.dealId) &&
      !journal.entries.has(p.dealId)
    );
  });
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const { runner, store, journal } = deps;
  const engine = runner.engine;
  const report = emptyReport();
  const away: AwayEvents = { closes: [], levels: [] };
  const configured = new Map(deps.markets.map((m) => [m.market, m]));
  const atBroker = new Map(deps.brokerPositions.map((p) => [p.dealId, p]));
  const known = new Set<string>();

  const guards = store.readStrategies();
  if (guards !== undefined) {
    engine.restoreGuards(guardsWithUnsavedCloses(guards, journal, report));
    // P&L realised before the crash but saved only now: its guard is looked at before any entry,
    // as on the tick that realised it (SPEC §9 Guard), so a strategy that it stops enters nothing.
    engine.checkGuardsBeforeEntries(report.realisedFromJournal.map((r) => r.strategy));
  }

  for (const market of deps.markets) {
    const saved = store.readMarket(market.market);
    for (const snap of saved?.positions ?? []) {
      known.add(snap.dealId);
      // The journal is the record of what was closed: a crash between a row and the state file
      // must not write the row twice.
      // (In lots: 1 − 0.5 − 0.2 is 0.30000000000000004 in binary.)
      const tracked = journal.entries.has(snap.dealId)
        ? cleanSize(snap.originalSize - (journal.closedSize.get(snap.dealId) ?? 0), market.lotStep)
        : snap.size;
      const live = atBroker.get(snap.dealId);
      if (live !== undefined) {
        const missing = cleanSize(tracked - live.size, market.lotStep);
        const closes = missing > 0 ? await closesOf(deps, snap, missing, market.lotStep) : undefined;
        // Deferred only while the journal remembers the size (its ENTRY row less its closes).
        const defer =
          missing > 0 && closes === undefined && deps.deferUnknownPartials === true && journal.entries.has(snap.dealId);
        const levels = { stopLevel: live.stopLevel, limitLevel: live.limitLevel };
        const closing = missing > 0 && !defer;
        // IG's levels now may have been set after the closes made while away: those rows get no
        // stop_level (decisions 20), and the levels are applied once they are written.
        engine.restorePosition(snap, { size: defer ? live.size : tracked, ...(closing ? {} : levels) });
        if (defer)
          report.unresolved.push({
            dealId: snap.dealId,
            market: snap.market,
            reason: `IG closed ${missing} of it, which is not in its history yet: its row waits for a later sync`,
          });
        else if (closing) {
          writeClosesAway(deps, report, away, snap, missing, closes, live);
          away.levels.push({ type: 'positionAmended', time: deps.now, dealId: snap.dealId, ...levels });
        }
        const unsent = unexecutedCloses(snap, live.size, market.lotStep);
        engine.carryUnsentCloses(snap.dealId, unsent);
        for (const c of unsent) report.unsentCloses.push({ dealId: snap.dealId, market: snap.market, ...c });
        report.resumed.push({ dealId: snap.dealId, market: snap.market, size: live.size, stopLevel: live.stopLevel });
        continue;
      }
      if (journal.exited.has(snap.dealId)) {
        report.alreadyJournaled.push({ dealId: snap.dealId, market: snap.market });
        continue; // the state file is rewritten below without it
      }
      engine.restorePosition(snap, { size: tracked });
      await closeAway(deps, report, away, snap, tracked);
    }
  }

  for (const p of deps.brokerPositions) {
    if (known.has(p.dealId)) continue;
    const market = configured.get(p.market);
    if (market === undefined) continue; // not ours to manage
    const entry = journal.entries.get(p.dealId);
    if (entry !== undefined && !journal.exited.has(p.dealId)) {
      engine.restorePosition(snapshotFromJournal(entry, p, market, journal.ladderClosed.get(p.dealId) ?? 0), {
        size: p.size,
        stopLevel: p.stopLevel,
        limitLevel: p.limitLevel,
      });
      report.recoveredFromJournal.push({ dealId: p.dealId, market: p.market });
      continue;
    }
    if (p.own !== undefined && entry === undefined && market.entry.kind !== 'none') {
      // Ours, sent by a run that stopped before its confirmation: managed as that run would have.
      takeOver(deps, report, p, market, p.own);
      continue;
    }
    if (market.entry.kind === 'none') {
      runner.onBrokerEvent(openedEvent(p));
      report.adopted.push({ dealId: p.dealId, market: p.market });
    } else {
      report.unmanaged.push({
        dealId: p.dealId,
        market: p.market,
        reason: `opened outside trailguard and the market's entry kind is ${market.entry.kind} (only kind none adopts)`,
      });
    }
  }

  // Ours too, closed again before any run saved it: opened from its ENTRY row, or with its ENTRY
  // row when the run never saw it confirmed; then its close from the history.
  for (const p of deps.ownOpensGone ?? []) {
    const market = configured.get(p.market);
    if (p.own === undefined || market === undefined || market.entry.kind === 'none') continue;
    if (known.has(p.dealId) || atBroker.has(p.dealId) || journal.exited.has(p.dealId)) continue;
    known.add(p.dealId);
    const entry = journal.entries.get(p.dealId);
    if (entry === undefined) takeOver(deps, report, p, market, p.own);
    else {
      const size = cleanSize(entry.size - (journal.closedSize.get(p.dealId) ?? 0), market.lotStep);
      engine.restorePosition(
        snapshotFromJournal(entry, { ...p, size }, market, journal.ladderClosed.get(p.dealId) ?? 0),
        { size },
      );
      report.recoveredFromJournal.push({ dealId: p.dealId, market: p.market });
    }
    const snap = engine.exportPositions(p.market).find((x) => x.dealId === p.dealId);
    if (snap !== undefined) await closeAway(deps, report, away, snap, snap.size);
  }

  // The closes made while away, of every position, in the order they happened (SPEC §3: journal
  // rows in the order of the events; found position by position); then IG's levels now.
  away.closes.sort((a, b) => a.time - b.time);
  for (const event of away.closes) runner.onBrokerEvent(event);
  for (const event of away.levels) runner.onBrokerEvent(event);

  if (deps.configured !== undefined) {
    const configuredSet = new Set(deps.configured);
    for (const market of store.listMarkets()) {
      if (configuredSet.has(market)) continue;
      for (const snap of store.readMarket(market)?.positions ?? [])
        report.unresolved.push({
          dealId: snap.dealId,
          market,
          reason: `its market is no longer in the configuration: trailguard neither manages nor reconciles it; add the market back to record what IG did with it, or forget it (trailguard state clear ${market} --force)`,
        });
    }
  }

  // Rewrite every market's state as the engine now holds it (drops positions settled above).
  saveEngineState(
    store,
    runner,
    deps.markets.map((m) => m.market),
    deps.now,
  );
  return report;
}

/** The broker's position as the event of its opening (no `ref`: no engine of this run sent it). */
function openedEvent(p: BrokerPosition): PositionOpenedEvent {
  return {
    type: 'positionOpened',
    time: p.openedAt,
    dealId: p.dealId,
    market: p.market,
    direction: p.direction,
    size: p.size,
    level: p.level,
    stopLevel: p.stopLevel,
    limitLevel: p.limitLevel,
  };
}

/** A position trailguard opened but no run saw confirmed: opened in the engine as its run would have. */
function takeOver(
  deps: ReconcileDeps,
  report: ReconcileReport,
  p: BrokerPosition,
  market: MarketConfig,
  own: NonNullable<BrokerPosition['own']>,
): void {
  const strategy = own.strategy ?? market.strategy;
  const kind = market.entry.kind;
  deps.runner.onBrokerEvent({
    ...openedEvent(p),
    own: {
      strategy,
      reason: kind === 'none' ? 'ADOPTED' : ENTRY_REASONS[kind],
      virtual: own.virtual,
      stopReason: own.stopReason,
    },
  });
  report.recoveredOpens.push({ dealId: p.dealId, market: p.market, strategy });
}

/** Closes found while reconciling, written once every position has been looked at (in time order), and IG's levels after them. */
interface AwayEvents {
  closes: PositionClosedEvent[];
  levels: PositionAmendedEvent[];
}

/** A position gone from the broker: its closes from the history, or unresolved until they are there. */
async function closeAway(
  deps: ReconcileDeps,
  report: ReconcileReport,
  away: AwayEvents,
  snap: PositionSnapshot,
  size: number,
): Promise<void> {
  const lotStep = deps.markets.find((m) => m.market === snap.market)?.lotStep ?? 0;
  const closes = await closesOf(deps, snap, size, lotStep);
  if (closes === undefined) {
    report.unresolved.push({
      dealId: snap.dealId,
      market: snap.market,
      reason: 'closed at the broker but its exit is not in the history yet; kept in state, run sync again later',
    });
    return;
  }
  writeClosesAway(deps, report, away, snap, size, closes, undefined);
}

/**
 * The closes that took `size` of a position while no run saw them: the latest closes in the
 * history whose sizes add up to it, one row each at its own level and time (the earlier ones are
 * those the journal has). When the history's sizes do not add up (not said, or more than is
 * missing), the latest close takes the whole size, at its level. Undefined when the history does
 * not show them yet: none, or fewer than are missing and no full close among them.
 */
async function closesOf(
  deps: ReconcileDeps,
  snap: PositionSnapshot,
  size: number,
  lotStep: number,
): Promise<CloseFound[] | undefined> {
  const all = await deps.findCloses(snap.dealId, snap.entryTime, snap.entryPrice);
  const latest = all.at(-1);
  if (latest === undefined) return undefined;
  const picked: CloseFound[] = [];
  let sum = 0;
  for (let i = all.length - 1; i >= 0 && sum < size - 1e-9; i--) {
    const c = all[i] as CloseFound;
    if (c.size === undefined) return [{ ...latest, size }];
    picked.unshift(c);
    sum = cleanSize(sum + c.size, lotStep);
  }
  if (Math.abs(sum - size) <= 1e-9) return picked;
  if (sum > size || latest.full === true) return [{ ...latest, size }];
  return undefined;
}

/**
 * The rows of closes made while away (CLOSED_EXTERNALLY). `closes` undefined: a partial close of
 * a position IG still holds that its history does not show yet, at the last price.
 */
function writeClosesAway(
  deps: ReconcileDeps,
  report: ReconcileReport,
  away: AwayEvents,
  snap: PositionSnapshot,
  size: number,
  closes: readonly CloseFound[] | undefined,
  live: BrokerPosition | undefined,
): void {
  const lastPrice = snap.direction === 'BUY' ? live?.bid : live?.ask;
  const found: readonly (CloseFound & { from: 'history' | 'last price' })[] =
    closes?.map((c) => ({ ...c, from: 'history' as const })) ??
    (lastPrice === undefined ? [] : [{ level: lastPrice, time: deps.now, size, from: 'last price' as const }]);
  for (const c of found) {
    const event: PositionClosedEvent = {
      type: 'positionClosed',
      // IG's history has whole seconds: a close in the second of the opening must not read as
      // earlier than it (a negative held time).
      time: Math.max(c.time, snap.entryTime),
      dealId: snap.dealId,
      size: c.size ?? size,
      level: c.level,
      cause: 'external',
    };
    away.closes.push(event);
    report.closedWhileAway.push({
      dealId: snap.dealId,
      market: snap.market,
      size: event.size,
      partial: live !== undefined,
      level: c.level,
      time: event.time,
      levelFrom: c.from,
    });
  }
}

/** The ENTRY reason of each entry kind's opens (the built-in entries' own `reason`). */
const ENTRY_REASONS: Record<Exclude<MarketConfig['entry']['kind'], 'none'>, EntryReason> = {
  signals: 'SIGNAL',
  'ema-cross': 'EMA_CROSS',
  breakout: 'BREAKOUT',
  module: 'MODULE',
};

/**
 * A position rebuilt from its ENTRY row (a run stopped before its state file held it, or the file
 * was cleared): as the engine opened it (SPEC §3.1, §4.2: the virtual level, when the deal's
 * reference says a virtual stop applied, is its initial stop for R), with the ladder as far as the
 * journal's PROFIT_TARGET rows show it went. The best price starts again at the entry's.
 */
function snapshotFromJournal(
  entry: JournalEntry,
  live: BrokerPosition,
  market: MarketConfig,
  ladderClosed: number,
): PositionSnapshot {
  const sign = entry.direction === 'BUY' ? 1 : -1;
  const vs = market.exits.virtualStop;
  // As the engine decided at the opening: our own deal's reference says; an adopted position
  // (no reference of ours) gets it when it applies to its own stop distance (decisions 13).
  const virtual =
    live.own?.virtual ??
    virtualStopApplies(
      vs,
      entry.stopLevel === undefined ? undefined : Math.abs(entry.price - entry.stopLevel) / market.pointSize,
    );
  const virtualLevel =
    virtual && vs !== undefined
      ? new LevelRounder(market.decimals, market.pointSize).round(entry.price - sign * vs.distance * market.pointSize)
      : undefined;
  const initialStop = virtualLevel ?? entry.stopLevel;
  const ladder = market.exits.ladder;
  const progress =
    ladder === undefined
      ? { ladderNext: 0, ladderLock: undefined }
      : ladderProgress(ladder, entry.size, market.lotStep, ladderClosed);
  return {
    dealId: entry.dealId,
    market: entry.market,
    strategy: entry.strategy,
    direction: entry.direction,
    size: live.size,
    originalSize: entry.size,
    entryPrice: entry.price,
    entryTime: entry.time,
    entryReason: entry.reason,
    stopReason: live.own?.stopReason ?? 'STOP',
    initialStop,
    risk: initialStop === undefined ? 0 : Math.abs(priceMove(entry.price, initialStop)),
    best: entry.price,
    trailingActive: false,
    ladderNext: progress.ladderNext,
    ladderLock: progress.ladderLock,
    virtualLevel,
  };
}

export function reconcileInSync(report: ReconcileReport): boolean {
  return report.unresolved.length === 0 && report.unmanaged.length === 0 && report.unsentCloses.length === 0;
}

/**
 * The closes a saved position had in flight (PositionSnapshot.closesSent) that the broker has not
 * executed: everything the broker closed of it since the state was saved (its size then less the
 * size now, whether journaled since or found missing now) is taken as those closes, oldest first.
 */
export function unexecutedCloses(
  snap: PositionSnapshot,
  sizeNow: number,
  lotStep: number,
): { size: number; reason: ExitReason }[] {
  let executed = Math.max(0, cleanSize(snap.size - sizeNow, lotStep));
  const out: { size: number; reason: ExitReason }[] = [];
  for (const c of snap.closesSent ?? []) {
    const done = Math.min(executed, c.size);
    executed = cleanSize(executed - done, lotStep);
    const left = cleanSize(c.size - done, lotStep);
    if (left > 0) out.push({ size: left, reason: c.reason });
  }
  return out;
}
