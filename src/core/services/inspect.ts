import { existsSync } from 'node:fs';
import { JsonStateStore, StateLock } from '../adapters/files/state-store.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../domain/config.js';
import { UserError } from '../domain/errors.js';
import type { Direction } from '../domain/types.js';
import type { PositionSnapshot } from '../engine/position.js';
import type { GuardState } from '../engine/rules/strategy-guard.js';
import type { MarketState } from '../ports/state-store.js';
import { brokerPositionFromIg, connectIg, type Log } from './ig-connect.js';
import type { BrokerPosition } from './reconcile.js';
import { round8 } from '../engine/numeric.js';
import { readPaperBook, removePaperBook } from './live.js';
import { JournalIndex } from '../adapters/files/journal-index.js';

export interface PositionRow {
  dealId: string;
  market: string;
  direction: Direction;
  size: number;
  /** Undefined for a paper position whose state was cleared: the book keeps no entry level. */
  entryPrice: number | undefined;
  price: number | undefined;
  stopLevel: number | undefined;
  limitLevel: number | undefined;
  virtualLevel: number | undefined;
  /** Rules that are active on the position (trailing, ladder stage…). */
  rules: string[];
  rMultiple: number | undefined;
  pnlPoints: number | undefined;
  pnlAmount: number | undefined;
  /** managed: in trailguard's state; unmanaged: on IG only (a configured market, not ours); unknown market. */
  managed: 'managed' | 'unmanaged' | 'unknown market';
  /** Something to do about it: IG holds less than the state says (closed in part while nothing ran). */
  note?: string | undefined;
}

export interface PositionsResult {
  /** Where the positions are: IG's account, or the paper broker's book (broker.kind paper; no prices). */
  broker: 'ig' | 'paper';
  positions: PositionRow[];
  /** Saved positions IG no longer holds (run sync); `configured` false for a market since removed from the configuration. */
  missingAtBroker: { dealId: string; market: string; configured: boolean }[];
}

/** `trailguard positions`: IG's positions joined with the local state. Reads only. */
export async function listPositions(options: {
  configPath: string;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  log: Log;
}): Promise<PositionsResult> {
  const config = await loadConfig(options.configPath);
  const store = new JsonStateStore(config.stateDir);
  const saved = new Map<string, PositionSnapshot>();
  for (const market of store.listMarkets())
    for (const p of store.readMarket(market)?.positions ?? []) saved.set(p.dealId, p);
  const paper = config.broker.kind === 'paper';
  // Paper: the simulated book live keeps in the state directory, at its entry levels; no IG call.
  const atBroker: Omit<BrokerPosition, 'openedAt' | 'own'>[] = paper
    ? // NaN: a position of the book whose state was cleared (its entry level is in neither).
      readPaperBook(config.stateDir).map((p) => ({ ...p, level: saved.get(p.dealId)?.entryPrice ?? Number.NaN }))
    : (await (await connectIg(config, { env: options.env, log: options.log })).rest.getPositions()).map((p) =>
        brokerPositionFromIg(p, config),
      );
  const rows: PositionRow[] = atBroker.map((b) => {
    const m = config.markets[b.market];
    const snap = saved.get(b.dealId);
    const price = b.direction === 'BUY' ? b.bid : b.ask;
    const sign = b.direction === 'BUY' ? 1 : -1;
    const move = price === undefined ? undefined : sign * (price - b.level);
    const rules: string[] = [];
    if (snap?.trailingActive) rules.push('trailing active');
    if (snap !== undefined && snap.ladderNext > 0) rules.push(`ladder rung ${snap.ladderNext}`);
    if (snap?.virtualLevel !== undefined) rules.push('virtual stop');
    for (const c of snap?.closesSent ?? []) rules.push(`${c.reason} close of ${c.size} sent, not executed yet`);
    return {
      dealId: b.dealId,
      market: b.market,
      direction: b.direction,
      size: b.size,
      entryPrice: Number.isNaN(b.level) ? undefined : b.level,
      price,
      stopLevel: b.stopLevel,
      limitLevel: b.limitLevel,
      virtualLevel: snap?.virtualLevel,
      rules,
      rMultiple: move !== undefined && snap !== undefined && snap.risk > 0 ? round8(move / snap.risk) : undefined,
      pnlPoints: move !== undefined && m !== undefined ? round8(move / m.pointSize) : undefined,
      pnlAmount:
        move !== undefined && m !== undefined ? round8((move / m.pointSize) * b.size * m.valuePerPoint) : undefined,
      managed: m === undefined ? 'unknown market' : snap !== undefined ? 'managed' : 'unmanaged',
      note:
        snap !== undefined && b.size < snap.size - 1e-9
          ? `${paper ? 'the paper book' : 'IG'} holds ${b.size} of the ${snap.size} saved: closed in part while nothing ran${paper ? '' : ' (run trailguard sync)'}`
          : undefined,
    };
  });
  const ids = new Set(atBroker.map((b) => b.dealId));
  const missingAtBroker = [...saved.values()]
    .filter((p) => !ids.has(p.dealId))
    .map((p) => ({ dealId: p.dealId, market: p.market, configured: config.markets[p.market] !== undefined }));
  return { broker: paper ? 'paper' : 'ig', positions: rows, missingAtBroker };
}

export interface StateShowResult {
  stateDir: string;
  markets: MarketState[];
  guards: Record<string, GuardState>;
}

/** `trailguard state show [MARKET]`. */
export async function showState(options: {
  configPath: string;
  market?: string | undefined;
}): Promise<StateShowResult> {
  const config = await loadConfig(options.configPath);
  const store = new JsonStateStore(config.stateDir);
  if (options.market !== undefined) checkMarketKnown(config, store, options.market, options.configPath);
  const names = options.market !== undefined ? [options.market] : store.listMarkets();
  // Shown as the journal writes numbers (round8): a risk of entry − stop is binary noise beyond that.
  const markets = names
    .map((m) => store.readMarket(m))
    .filter((m): m is MarketState => m !== undefined)
    .map((m) => ({ ...m, positions: m.positions.map((p) => ({ ...p, risk: round8(p.risk) })) }));
  const guards = Object.fromEntries(
    Object.entries(store.readStrategies()?.guards ?? {}).map(([name, g]) => [
      name,
      { ...g, realised: round8(g.realised), peak: round8(g.peak) },
    ]),
  );
  return { stateDir: config.stateDir, markets, guards };
}

export interface StateClearResult {
  cleared: string[];
  guardsCleared: boolean;
}

/**
 * `trailguard state clear [MARKET]`: forgets saved positions (and, for the whole directory, the
 * strategy guards). Refused while IG still holds a position of that market unless `force`.
 */
export async function clearState(options: {
  configPath: string;
  market?: string | undefined;
  force: boolean;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  log: Log;
}): Promise<StateClearResult> {
  const config: Config = await loadConfig(options.configPath);
  if (!existsSync(config.stateDir)) return { cleared: [], guardsCleared: false };
  const lock = new StateLock(config.stateDir);
  lock.acquire();
  try {
    const store = new JsonStateStore(config.stateDir);
    if (options.market !== undefined) checkMarketKnown(config, store, options.market, options.configPath);
    const targets = options.market !== undefined ? [options.market] : store.listMarkets();
    if (!options.force && config.broker.kind === 'ig' && targets.length > 0) {
      const { rest } = await connectIg(config, { env: options.env, log: options.log });
      const held = (await rest.getPositions()).filter((p) => targets.includes(p.market));
      const saved = targets.flatMap((m) => store.readMarket(m)?.positions ?? []);
      const savedIds = new Set(saved.map((p) => p.dealId));
      const stillHeld = held.filter((p) => savedIds.has(p.dealId));
      if (stillHeld.length > 0) {
        throw new UserError(
          `IG still holds ${stillHeld.map((p) => `${p.market} ${p.dealId}`).join(', ')}: clearing would lose what its rules know (best price, trailing, ladder)`,
          'close it first (trailguard close), or pass --force to clear it anyway: the next start rebuilds it from its ENTRY row in the journal, its best price from the entry',
        );
      }
      // Closed on IG while nothing ran, and not journaled yet: sync writes its EXIT row from IG's
      // history, which needs the saved position.
      const heldIds = new Set(held.map((p) => p.dealId));
      const journal = await JournalIndex.read(config.journal, (message) => options.log('warn', message));
      // (Only of configured markets: sync records those. One of a market since removed from the
      // configuration cannot be recorded by it, and goes with a warning.)
      const gone = saved.filter((p) => !heldIds.has(p.dealId) && !journal.exited.has(p.dealId));
      const unrecorded = gone.filter((p) => config.markets[p.market] !== undefined);
      for (const p of gone.filter((q) => config.markets[q.market] === undefined))
        options.log(
          'warn',
          `${p.market} ${p.dealId}: IG no longer holds it and its close is not in the journal; its market is no longer configured, so that close will not be recorded`,
        );
      if (unrecorded.length > 0) {
        throw new UserError(
          `IG no longer holds ${unrecorded.map((p) => `${p.market} ${p.dealId}`).join(', ')}, and the journal has no EXIT row for it yet: clearing would lose its close`,
          "run trailguard sync first (it writes the close from IG's history), or pass --force to forget it anyway",
        );
      }
    }
    if (!options.force && config.broker.kind === 'paper' && options.market === undefined) {
      const book = readPaperBook(config.stateDir);
      if (book.length > 0)
        throw new UserError(
          `the paper book holds ${book.map((p) => `${p.market} ${p.dealId}`).join(', ')}: clearing everything would drop them without an EXIT row`,
          'clear one market (trailguard state clear MARKET), or pass --force to drop the paper book too',
        );
    }
    const all = options.market === undefined;
    // Read before anything is deleted: without --force a damaged file stops the whole clear.
    const kept = all ? strategiesToKeep(store, options) : undefined;
    for (const m of targets) store.deleteMarket(m);
    if (all) {
      store.writeStrategies({ version: 1, guards: {}, ...kept });
      removePaperBook(config.stateDir);
    }
    return { cleared: targets, guardsCleared: all };
  } finally {
    lock.release();
  }
}

/**
 * A market named on the command line must be configured or have a saved state file (a market
 * since removed from the configuration): a mistyped epic is an input error, not "nothing saved".
 */
function checkMarketKnown(config: Config, store: JsonStateStore, market: string, configPath: string): void {
  if (config.markets[market] === undefined && !store.listMarkets().includes(market))
    throw new UserError(
      `market ${market} is not in ${configPath} and has no saved state in ${config.stateDir}`,
      `configured markets: ${Object.keys(config.markets).join(', ')}`,
    );
}

/**
 * What a full clear keeps of `_strategies.json` (the guards are reset): how far each market's
 * entries have read (the signals already entered stay entered), and when it was saved, from which
 * the next start looks in IG's activity for opens of ours that closed while nothing ran (without
 * it, a position opened before a crash and closed on IG since would never get its EXIT row). A
 * damaged `_strategies.json` is what `--force` clears: its reading positions are lost, and each
 * market's signals then count as seen up to its latest ENTRY row in the journal, as after any
 * start (docs/decisions.md 39).
 */
function strategiesToKeep(
  store: JsonStateStore,
  options: { force: boolean; log: Log },
): { entriesSeenUntil?: Record<string, number> | undefined; savedAt?: number | undefined } | undefined {
  try {
    const saved = store.readStrategies();
    return saved === undefined ? undefined : { entriesSeenUntil: saved.entriesSeenUntil, savedAt: saved.savedAt };
  } catch (error) {
    if (!(options.force && error instanceof UserError)) throw error;
    options.log('warn', `${error.message}: replaced (--force); the strategy guards are reset`);
    return undefined;
  }
}
