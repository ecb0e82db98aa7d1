import type { GuardConfig, MarketConfig, StrategyConfig } from '../domain/config.js';
import type {
  Action,
  ActionRejectedEvent,
  EngineEvent,
  PositionAmendedEvent,
  PositionClosedEvent,
  PositionOpenedEvent,
} from '../domain/events.js';
import { InvariantError } from '../domain/errors.js';
import type { Candle, EntryReason, ExitReason, JournalRow, StopReason, Tick } from '../domain/types.js';
import type { EntryContext, EntryIntent, EntryPositionView, EntryStrategy } from '../entries/types.js';
import { Atr } from './indicators/atr.js';
import { CandleBuilder } from './indicators/candles.js';
import { LocalTime } from './local-time.js';
import { cleanSize, LevelRounder, POINT_EPSILON, priceMove } from './numeric.js';
import { objectArray } from './object-array.js';
import { newPosition, type PositionSnapshot, type PositionState } from './position.js';
import { hasLevel, type RuleMarket } from './rule-market.js';
import { atrStopPoints, atrTrailProposal } from './rules/atr-stop.js';
import { fireNextRung, ladderProposal, ladderReason, lastClosingRung, NO_RUNG } from './rules/profit-ladder.js';
import { profitLockProposal } from './rules/profit-lock.js';
import { evaluateGuard, MONEY_EPSILON, type GuardState } from './rules/strategy-guard.js';
import { timeExitDue } from './rules/time-exit.js';
import { activateTrailing, trailingProposal } from './rules/trailing-stop.js';
import { virtualBreached, virtualCoolingDown, virtualStopApplies } from './rules/virtual-stop.js';

/** Where the engine's decisions go. The run loop implements it; tests collect into arrays. */
export interface EngineSink {
  action(action: Action): void;
  journal(row: JournalRow): void;
  /** Lifecycle change worth persisting (SPEC §6.3): open, partial, rule activation, rung, close, guard. */
  lifecycle(market: string | undefined): void;
}

export interface EngineSetup {
  markets: readonly MarketConfig[];
  strategies: Readonly<Record<string, StrategyConfig>>;
  /** Entry strategy per market (absent = none). */
  entries: ReadonlyMap<string, EntryStrategy>;
}

/** An open position with its value at the market's last prices. */
export interface OpenPositionView {
  position: Readonly<PositionState>;
  price: number | undefined;
  pnlPoints: number | undefined;
  pnlAmount: number | undefined;
}

interface PendingOpen {
  kind: 'open';
  strategy: string;
  reason: EntryReason;
  virtual: boolean;
  stopReason: StopReason;
}
interface PendingClose {
  kind: 'close';
  dealId: string;
  size: number;
  reason: ExitReason;
  time: number;
  /** Broker stop in force when the close was sent: the journal's "level just before the close". */
  stopLevel: number | undefined;
}
interface PendingAmend {
  kind: 'amend';
  dealId: string;
  level: number;
  reason: StopReason;
  prevLevel: number | undefined;
  prevReason: StopReason;
}
type Pending = PendingOpen | PendingClose | PendingAmend;

/**
 * Per-market runtime: configuration in price terms, indicators, last prices and positions. It is
 * what the rules read (RuleMarket): passing it spares boxing the doubles one by one.
 */
class MarketRuntime implements RuleMarket {
  readonly ps: number;
  /**
   * The comparison tolerance in price terms: 1e-9 points (SPEC §9), or 4 ulps of this tick's ask
   * where prices are so large against the point size (price / pointSize above ~1e6, e.g. 100000
   * with a point of 0.01) that their binary error is more; set on each tick.
   */
  eps: number;
  readonly epsBase: number;
  readonly lotStep: number;
  readonly rounder: LevelRounder;
  /** The broker's minimum stop distance in price terms (raised while live runs: raiseMinStopDistance). */
  minStop: number;
  /** The same in points. */
  minStopPoints: number;
  readonly stopStep: number;
  readonly maxHoldMs: number | undefined;
  readonly flatAtMs: number | undefined;
  /** The local day on which flatAt was last reached (flatDue). */
  private flatDay = Number.NaN;
  readonly localTime: LocalTime | undefined;
  readonly atr: Atr | undefined;
  readonly atrCandles: CandleBuilder | undefined;
  readonly entryCandles: CandleBuilder | undefined;
  readonly entryOnAtrCandles: boolean;
  readonly lastClosingRung: number;
  /** `atr.value`, NaN before it exists (RuleMarket.atrLevel). */
  atrLevel = Number.NaN;
  /** Guard of the market's own strategy (most positions'), so the hot path skips a Map lookup. */
  guard: GuardEntry | undefined;
  bid = Number.NaN;
  ask = Number.NaN;
  /** Time of the last tick of this market (what its entry strategy has seen). */
  lastTime = Number.NaN;
  /** The engine's tick count at this market's last tick (see brokerCloses). */
  lastTick = 0;
  readonly positions: PositionState[] = objectArray();
  readonly ctx: EntryContext;

  constructor(
    readonly cfg: MarketConfig,
    readonly entry: EntryStrategy | undefined,
  ) {
    this.ps = cfg.pointSize;
    this.epsBase = POINT_EPSILON * cfg.pointSize;
    this.eps = this.epsBase;
    this.lotStep = cfg.lotStep;
    this.rounder = new LevelRounder(cfg.decimals, cfg.pointSize);
    this.minStop = cfg.minStopDistance * cfg.pointSize;
    this.minStopPoints = cfg.minStopDistance;
    this.stopStep = cfg.stopStep * cfg.pointSize;
    const time = cfg.exits.time;
    this.maxHoldMs = time?.maxHoldMinutes === undefined ? undefined : time.maxHoldMinutes * 60_000;
    this.flatAtMs = time?.flatAtMinutes === undefined ? undefined : time.flatAtMinutes * 60_000;
    this.localTime = this.flatAtMs === undefined ? undefined : new LocalTime(time?.timezone ?? 'UTC');
    const atrCfg = cfg.exits.atrStop;
    this.atr = atrCfg ? new Atr(atrCfg.period) : undefined;
    this.atrCandles = atrCfg ? new CandleBuilder(atrCfg.timeframeMs) : undefined;
    // An entry on the ATR's timeframe reads the ATR's candles: one builder, not two, per tick.
    this.entryCandles =
      entry?.timeframeMs === undefined || entry.timeframeMs === atrCfg?.timeframeMs
        ? undefined
        : new CandleBuilder(entry.timeframeMs);
    this.entryOnAtrCandles = entry?.timeframeMs !== undefined && entry.timeframeMs === atrCfg?.timeframeMs;
    this.lastClosingRung = cfg.exits.ladder ? lastClosingRung(cfg.exits.ladder) : -1;
    // The view is computed only when an entry strategy asks for it: nothing allocated per tick.
    // A position this tick takes to its broker stop or limit is the broker's to close (SPEC §3
    // step 1), so entries see the market as the backtest's simulated broker leaves it.
    const open = (p: PositionState): boolean => !p.closing && !this.brokerCloses(p);
    const positions = this.positions;
    this.ctx = {
      get positions(): readonly EntryPositionView[] {
        return positions.filter(open);
      },
    };
  }

  /** This market's last prices reach the position's broker stop or limit (SPEC §3 step 1). */
  reaches(p: PositionState): boolean {
    const fav = p.sign > 0 ? this.bid : this.ask;
    return (
      (p.stopLevel !== undefined && p.sign * (fav - p.stopLevel) <= this.eps) ||
      (p.limitLevel !== undefined && p.sign * (fav - p.limitLevel) >= -this.eps)
    );
  }

  /**
   * The broker closes the position on this market's last tick: that tick reaches its stop or
   * limit, set before it (a position opened, or a stop moved, on a tick is checked from its
   * market's next tick on). The simulated broker has closed such a position before the engine sees
   * the tick, so in a backtest the engine never holds one; live, IG may deliver the tick before the
   * fill (§3.2), and the position then belongs to the broker: no rule, guard, clock or entry acts
   * on it, as in the backtest.
   */
  brokerCloses(p: PositionState): boolean {
    return this.lastTick > p.levelsTick && this.reaches(p);
  }

  /** Where the broker fills a position it closes on this market's last tick: the tick's favourable price at a stop, the limit at a limit. */
  brokerFillLevel(p: PositionState): number {
    const fav = p.sign > 0 ? this.bid : this.ask;
    return p.stopLevel !== undefined && p.sign * (fav - p.stopLevel) <= this.eps ? fav : (p.limitLevel ?? fav);
  }

  /**
   * At or after flatAt, until local midnight (SPEC §4.7). `now`: the tick or clock event (an object:
   * a double argument would be boxed, per tick). Remembers the local day flatAt was reached on:
   * on the day clocks go back, the local time of day falls below a flatAt in the repeated hour
   * again, and entries must stay blocked until midnight all the same.
   */
  flatDue(now: { readonly time: number }): boolean {
    if (this.flatAtMs === undefined) return false;
    const local = this.localTime as LocalTime;
    const day = local.day(now.time);
    if (day === this.flatDay) return true;
    if (local.timeOfDay(now.time) < this.flatAtMs) return false;
    this.flatDay = day;
    return true;
  }
}

interface GuardEntry {
  readonly cfg: GuardConfig;
  state: GuardState;
  evaluatedTick: number;
}

/**
 * The pure engine (SPEC §2–§4): events in, actions and journal rows out, through the sink.
 * No I/O, no clock, no randomness; the only time it knows is the time of the events.
 *
 * Closes are optimistic: once the engine sends a close it leaves that size alone, and the position
 * stays valued at market until the fill arrives, so the strategy guard sees the same MTM whether
 * the fill came at once (simulated broker) or later (live).
 */
export class Engine {
  private readonly markets = new Map<string, MarketRuntime>();
  /** The same runtimes in configuration order: loops over markets iterate this, allocating nothing. */
  private readonly marketList: MarketRuntime[] = [];
  /** The last tick's market: consecutive ticks of one market skip the Map lookup. */
  private lastName: string | undefined;
  private lastMarket: MarketRuntime | undefined;
  private readonly byDeal = new Map<string, PositionState>();
  private readonly pending = new Map<string, Pending>();
  /**
   * Closes a stopped run had sent and the broker never executed (found by reconcile): kept in the
   * state file until `resendUnsentCloses` sends them again (docs/decisions.md 48).
   */
  private readonly unsent = new Map<string, { size: number; reason: ExitReason }[]>();
  private readonly guards = new Map<string, GuardEntry>();
  /**
   * Strategies that realised P&L on the current tick, or whose position the broker closes on it
   * (live, before the fill arrives): their guard is looked at again before entries.
   */
  private readonly realisedThisTick = new Set<string>();
  private tickCount = 0;
  private refCount = 0;
  private now = 0;

  constructor(
    setup: EngineSetup,
    private readonly sink: EngineSink,
  ) {
    for (const cfg of setup.markets)
      this.markets.set(cfg.market, new MarketRuntime(cfg, setup.entries.get(cfg.market)));
    this.marketList.push(...this.markets.values());
    for (const [name, strategy] of Object.entries(setup.strategies)) {
      if (strategy.guard)
        this.guards.set(name, {
          cfg: strategy.guard,
          state: { realised: 0, peak: 0, stopped: undefined },
          evaluatedTick: -1,
        });
    }
    for (const m of this.marketList) m.guard = this.guards.get(m.cfg.strategy);
  }

  handle(event: EngineEvent): void {
    switch (event.type) {
      case 'tick':
        this.onTick(event.tick);
        return;
      case 'positionOpened':
        this.onOpened(event);
        return;
      case 'positionAmended':
        this.onAmended(event);
        return;
      case 'positionClosed':
        this.onClosed(event);
        return;
      case 'actionRejected':
        this.onRejected(event);
        return;
      case 'clock':
        this.onClock(event.time);
        return;
      default: {
        const exhaustive: never = event;
        throw new InvariantError(`unknown event ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  /** SPEC §3 steps 2 and 3 for one tick (step 1 belongs to the broker and runs before). */
  onTick(tick: Tick): void {
    let m: MarketRuntime | undefined;
    if (tick.market === this.lastName) {
      m = this.lastMarket;
    } else {
      m = this.markets.get(tick.market);
      this.lastName = tick.market;
      this.lastMarket = m;
    }
    if (m === undefined) return;
    this.now = tick.time;
    this.tickCount++;
    m.bid = tick.bid;
    m.ask = tick.ask;
    m.eps = Math.max(m.epsBase, tick.ask * 8.881784197001252e-16);
    m.lastTime = tick.time;
    m.lastTick = this.tickCount;
    // Candles before rules (SPEC §9): this tick's rules and entries see the candle it closed.
    let atrCandle: Candle | undefined;
    if (m.atrCandles !== undefined) {
      atrCandle = m.atrCandles.updateTick(tick);
      if (atrCandle !== undefined) m.atrLevel = (m.atr as Atr).push(atrCandle) ?? Number.NaN;
    }
    const entryCandle: Candle | undefined = m.entryOnAtrCandles ? atrCandle : m.entryCandles?.updateTick(tick);
    const flatDue = m.flatAtMs !== undefined && m.flatDue(tick);

    const positions = m.positions;
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i] as PositionState;
      if (!p.closing) this.managePosition(m, p, tick, flatDue);
    }

    // Checking the size first saves a Set iterator on the (usual) tick that realised nothing.
    if (this.realisedThisTick.size > 0) for (const strategy of this.realisedThisTick) this.checkGuard(strategy);

    if (m.entry !== undefined) {
      const intents = m.entry.onTick(tick, entryCandle, m.ctx);
      if (intents !== undefined && intents.length > 0) this.applyIntents(m, intents, tick, flatDue);
    }
    if (this.realisedThisTick.size > 0) this.realisedThisTick.clear();
  }

  private managePosition(m: MarketRuntime, p: PositionState, tick: Tick, flatDue: boolean): void {
    // Live: a tick that reaches the broker stop or limit belongs to the broker (SPEC §3.2). The
    // broker closes it on this tick, at the price its MTM takes: its guard is checked as if realised.
    if (m.reaches(p)) {
      this.realisedThisTick.add(p.strategy);
      return;
    }

    const fav = p.sign > 0 ? m.bid : m.ask;
    if (p.sign * (fav - p.best) > 0) p.best = fav;

    const exits = m.cfg.exits;
    if (exits.virtualStop !== undefined && virtualBreached(p, m)) {
      if (!virtualCoolingDown(p, tick, exits.virtualStop)) this.closeRest(p, 'VIRTUAL_STOP');
      return;
    }

    const timeReason = flatDue || m.maxHoldMs !== undefined ? timeExitDue(p, tick, flatDue, m.maxHoldMs) : undefined;
    if (timeReason !== undefined) {
      this.closeRest(p, timeReason);
      return;
    }

    const guard = p.ownStrategy ? m.guard : this.guards.get(p.strategy);
    if (guard !== undefined) {
      if (guard.evaluatedTick !== this.tickCount) {
        guard.evaluatedTick = this.tickCount;
        this.checkGuard(p.strategy, guard);
      }
      if (guard.state.stopped !== undefined) {
        // Tripped now or earlier (a close that was rejected, a position adopted since): close.
        if (!p.closing) this.closeRest(p, guard.state.stopped);
        return;
      }
    }

    const ladder = exits.ladder;
    if (ladder !== undefined && p.risk > 0) {
      let fired = false;
      for (;;) {
        const size = fireNextRung(p, m, ladder);
        if (size === NO_RUNG) break;
        fired = true;
        if (size > 0) this.closeSize(p, size, 'PROFIT_TARGET');
        if (p.closing) break;
      }
      if (fired) this.sink.lifecycle(p.market);
      if (p.closing) return;
    }

    // Checked here first so that an active position (most) makes no call.
    if (exits.trailing !== undefined && !p.trailingActive && activateTrailing(p, m, exits.trailing)) {
      this.sink.lifecycle(p.market);
    }
    this.moveStop(m, p);
  }

  /** SPEC §3 steps 2.6–2.8: the tightest proposal, an immediate close, or an amend. */
  private moveStop(m: MarketRuntime, p: PositionState): void {
    // Read here rather than passed in: a double argument to a call V8 does not inline is boxed
    // (a heap allocation per position per tick). m.bid/m.ask are this tick's prices.
    const fav = p.sign > 0 ? m.bid : m.ask;
    const exits = m.cfg.exits;
    const eps = m.eps;
    const sign = p.sign;
    // The stop in force as a plain double, NaN for none: like the proposals below, a
    // `number | undefined` local is kept boxed in optimised code. Every comparison with a NaN is
    // false, so `hasLevel(x) && …` reads as the `x !== undefined && …` it replaces.
    const current = p.stopLevel ?? Number.NaN;
    let candidate = Number.NaN;
    let reason: StopReason = 'STOP';
    let fromLadder = false;
    // In §4 order; a later rule must be strictly tighter to win a tie. Written out rather than
    // through a helper closure: this runs for every open position on every tick, and a closure
    // per call was a measurable share of the backtest's garbage.
    let level: number;
    if (exits.trailing !== undefined) {
      level = trailingProposal(p, m, exits.trailing);
      if (hasLevel(level) && !(hasLevel(current) && sign * (level - current) <= eps)) {
        candidate = level;
        reason = 'TRAILING_STOP';
      }
    }
    if (exits.atrStop !== undefined) {
      level = atrTrailProposal(p, m, exits.atrStop);
      if (
        hasLevel(level) &&
        !(hasLevel(current) && sign * (level - current) <= eps) &&
        !(hasLevel(candidate) && sign * (level - candidate) <= eps)
      ) {
        candidate = level;
        reason = 'ATR_STOP';
      }
    }
    if (exits.ladder !== undefined) {
      level = ladderProposal(p);
      if (
        hasLevel(level) &&
        !(hasLevel(current) && sign * (level - current) <= eps) &&
        !(hasLevel(candidate) && sign * (level - candidate) <= eps)
      ) {
        candidate = level;
        reason = 'LADDER_STOP';
        fromLadder = true;
      }
    }
    if (exits.profitLock !== undefined) {
      level = profitLockProposal(p, m, exits.profitLock);
      if (
        hasLevel(level) &&
        !(hasLevel(current) && sign * (level - current) <= eps) &&
        !(hasLevel(candidate) && sign * (level - candidate) <= eps)
      ) {
        candidate = level;
        reason = 'PROFIT_LOCK';
        fromLadder = false;
      }
    }
    if (!hasLevel(candidate)) return;

    if (sign * (candidate - fav) >= -eps) {
      this.closeRest(p, fromLadder ? ladderReason(p, candidate, eps) : reason);
      return;
    }
    const clampAt = fav - sign * m.minStop;
    level = m.rounder.round(sign * (candidate - clampAt) > 0 ? clampAt : candidate);
    if (hasLevel(current)) {
      const gain = sign * (level - current);
      if (gain <= eps || gain < m.stopStep - eps) return;
    }
    // An amend carries both levels; with the limit this close to the price the broker would refuse it.
    if (p.limitLevel !== undefined && sign * (p.limitLevel - fav) < m.minStop - eps) return;
    if (fromLadder) reason = ladderReason(p, level, eps);
    const ref = this.nextRef();
    this.pending.set(ref, {
      kind: 'amend',
      dealId: p.dealId,
      level,
      reason,
      prevLevel: p.stopLevel,
      prevReason: p.stopReason,
    });
    p.stopLevel = level;
    p.levelsTick = this.tickCount;
    // A different rule taking over the stop is a lifecycle change (its reason must survive a
    // restart); a plain move of the same rule is not (SPEC §6.3).
    const ruleChanged = p.stopReason !== reason;
    p.stopReason = reason;
    if (ruleChanged) this.sink.lifecycle(p.market);
    this.sink.action({
      type: 'amendStop',
      ref,
      dealId: p.dealId,
      market: p.market,
      stopLevel: level,
      limitLevel: p.limitLevel,
      reason,
    });
  }

  /** MTM of a guarded strategy: realised P&L plus its open positions valued at their markets' last prices. */
  strategyMtm(strategy: string): number {
    return this.mtmOf(strategy, this.guards.get(strategy)?.state.realised ?? 0);
  }

  /**
   * The tolerance of the last `mtmOf`, in account currency: SPEC §9's 1e-9 points as money for
   * each open position, and the binary error of the sum (a price difference of two doubles near
   * 163.369 is off by up to ~3e-14, 3e-11 points on a point of 0.001, which size × value per point
   * makes more than 1e-9 of money: an MTM of exactly −4950 came out −4949.999999998 and did not
   * reach a guard of −4950).
   */
  private mtmTolerance = MONEY_EPSILON;

  private mtmOf(strategy: string, realised: number): number {
    let mtm = realised;
    // Realised P&L is a sum of decimal-clean amounts: each addition may be off by half a unit in the last place.
    let tolerance = MONEY_EPSILON + Math.abs(realised) * 1e-13;
    const markets = this.marketList;
    for (let k = 0; k < markets.length; k++) {
      const m = markets[k] as MarketRuntime;
      const positions = m.positions;
      for (let i = 0; i < positions.length; i++) {
        const p = positions[i] as PositionState;
        if (p.strategy !== strategy) continue;
        let level = p.sign > 0 ? m.bid : m.ask;
        if (Number.isNaN(level)) continue;
        // Live, a position the broker closes on this market's last tick counts where it fills (a
        // limit at the limit, SPEC §3 step 1) before the fill arrives, as the backtest has realised it.
        if (m.brokerCloses(p)) level = m.brokerFillLevel(p);
        const perPoint = p.size * m.cfg.valuePerPoint;
        mtm += ((p.sign * (level - p.entryPrice)) / m.ps) * perPoint;
        tolerance +=
          (POINT_EPSILON + ((Math.abs(level) + Math.abs(p.entryPrice)) * 4.440892098500626e-16) / m.ps) * perPoint;
      }
    }
    this.mtmTolerance = tolerance;
    return mtm;
  }

  private checkGuard(strategy: string, guard: GuardEntry | undefined = this.guards.get(strategy)): void {
    if (guard === undefined || guard.state.stopped !== undefined) return;
    const mtm = this.mtmOf(strategy, guard.state.realised);
    const trip = evaluateGuard(guard.state, guard.cfg, mtm, this.mtmTolerance);
    if (trip === undefined) return;
    this.sink.action({
      type: 'alert',
      ref: this.nextRef(),
      level: 'error',
      message: `strategy ${strategy} stopped (${trip}): MTM ${mtm.toFixed(2)}, peak ${guard.state.peak.toFixed(2)}; no new entries until its state is cleared`,
      data: { strategy, reason: trip, mtm, peak: guard.state.peak, realised: guard.state.realised },
    });
    // In order of entry across markets (docs/decisions.md 35): byDeal holds the open positions in
    // the order they were opened (or restored), whatever the configuration's order of markets.
    // A position whose broker stop or limit this tick reached is the broker's to close.
    for (const p of this.byDeal.values()) {
      if (p.strategy === strategy && !p.closing && !(this.markets.get(p.market) as MarketRuntime).brokerCloses(p))
        this.closeRest(p, trip);
    }
    this.sink.lifecycle(undefined);
  }

  private applyIntents(m: MarketRuntime, intents: readonly EntryIntent[], tick: Tick, flatDue: boolean): void {
    for (const intent of intents) {
      if (intent.kind === 'exit') {
        const p = this.byDeal.get(intent.dealId);
        if (p !== undefined && !p.closing) this.closeRest(p, 'SIGNAL_EXIT');
        continue;
      }
      const strategy = intent.strategy ?? m.cfg.strategy;
      // SPEC §3 step 3: no entry for a stopped strategy, nor after flatAt until local midnight.
      if (flatDue || this.guards.get(strategy)?.state.stopped !== undefined) continue;
      this.open(m, intent, strategy, tick);
    }
  }

  /** SPEC §3.1: initial levels of a new position, from the price it is expected to fill at. */
  private open(m: MarketRuntime, intent: Extract<EntryIntent, { kind: 'open' }>, strategy: string, tick: Tick): void {
    const cfg = m.cfg;
    const sign = intent.direction === 'BUY' ? 1 : -1;
    const price = sign > 0 ? tick.ask : tick.bid;
    const size = intent.size ?? cfg.entry.size;
    if (size === undefined || !(size > 0)) {
      this.alert('warn', `${cfg.market}: entry without a size ignored`, { market: cfg.market });
      return;
    }
    let stopPoints = intent.stopPoints;
    let atrBased = false;
    if (stopPoints === undefined && cfg.exits.atrStop !== undefined) {
      stopPoints = atrStopPoints(cfg.exits.atrStop, m.atr?.value, m.ps);
      atrBased = stopPoints !== undefined;
    }
    if (stopPoints === undefined) stopPoints = cfg.entry.stopPoints;
    const limitPoints = intent.limitPoints ?? cfg.entry.limitPoints;
    const virtual = virtualStopApplies(cfg.exits.virtualStop, stopPoints);
    const brokerStopPoints = virtual
      ? Math.max(cfg.exits.virtualStop?.safetyDistance ?? 0, m.minStopPoints)
      : stopPoints === undefined
        ? undefined
        : Math.max(stopPoints, m.minStopPoints);
    const stopLevel =
      brokerStopPoints === undefined ? undefined : m.rounder.round(price - sign * brokerStopPoints * m.ps);
    const limitDistance = limitPoints === undefined ? undefined : Math.max(limitPoints, m.minStopPoints);
    const limitLevel = limitDistance === undefined ? undefined : m.rounder.round(price + sign * limitDistance * m.ps);
    const ref = this.nextRef();
    const reason = m.entry?.reason ?? 'SIGNAL';
    const stopReason: StopReason = atrBased && !virtual ? 'ATR_STOP' : 'STOP';
    this.pending.set(ref, { kind: 'open', strategy, reason, virtual, stopReason });
    this.sink.action({
      type: 'open',
      ref,
      market: cfg.market,
      direction: intent.direction,
      size,
      expectedLevel: price,
      stopLevel,
      limitLevel,
      stopDistance: brokerStopPoints,
      limitDistance,
      strategy,
      reason,
      virtual,
      stopReason,
    });
  }

  private onOpened(ev: PositionOpenedEvent): void {
    const m = this.markets.get(ev.market);
    if (m === undefined || this.byDeal.has(ev.dealId)) return;
    const info = ev.ref === undefined ? undefined : this.pending.get(ev.ref);
    if (ev.ref !== undefined) this.pending.delete(ev.ref);
    const open: PendingOpen | undefined =
      info?.kind === 'open' ? info : ev.own === undefined ? undefined : { kind: 'open', ...ev.own };
    const sign = ev.direction === 'BUY' ? 1 : -1;
    const vs = m.cfg.exits.virtualStop;
    const ownStopPoints = ev.stopLevel === undefined ? undefined : Math.abs(ev.level - ev.stopLevel) / m.ps;
    const virtual = open !== undefined ? open.virtual : virtualStopApplies(vs, ownStopPoints);
    const virtualLevel =
      virtual && vs !== undefined ? m.rounder.round(ev.level - sign * vs.distance * m.ps) : undefined;
    const initialStop = virtualLevel ?? ev.stopLevel;
    const fav = sign > 0 ? m.bid : m.ask;
    const strategy = open?.strategy ?? ev.strategy ?? m.cfg.strategy;
    const p = newPosition({
      dealId: ev.dealId,
      market: ev.market,
      strategy,
      ownStrategy: strategy === m.cfg.strategy,
      direction: ev.direction,
      size: ev.size,
      originalSize: ev.size,
      entryPrice: ev.level,
      entryTime: ev.time,
      entryReason: open?.reason ?? 'ADOPTED',
      stopLevel: ev.stopLevel,
      stopReason: open?.stopReason ?? 'STOP',
      limitLevel: ev.limitLevel,
      initialStop,
      risk: initialStop === undefined ? 0 : Math.abs(priceMove(ev.level, initialStop)),
      best: Number.isNaN(fav) ? ev.level : fav,
      trailingActive: false,
      levelsTick: this.tickCount,
      ladderNext: 0,
      ladderLock: undefined,
      virtualLevel,
    });
    m.positions.push(p);
    this.byDeal.set(p.dealId, p);
    this.sink.journal({
      time: ev.time,
      market: p.market,
      dealId: p.dealId,
      strategy: p.strategy,
      direction: p.direction,
      action: 'ENTRY',
      size: p.size,
      price: p.entryPrice,
      stopLevel: p.stopLevel,
      reason: p.entryReason,
    });
    this.sink.lifecycle(p.market);
  }

  private onAmended(ev: PositionAmendedEvent): void {
    const info = ev.ref === undefined ? undefined : this.pending.get(ev.ref);
    if (info?.kind === 'amend') {
      this.pending.delete(ev.ref as string);
      // Our own amend: the level was set when it was sent. A new rule's stop is now the broker's:
      // the state file says so from here on (it kept the reason of the stop confirmed before).
      const p = info.reason === info.prevReason ? undefined : this.byDeal.get(info.dealId);
      if (p !== undefined) this.sink.lifecycle(p.market);
      return;
    }
    const p = this.byDeal.get(ev.dealId);
    if (p === undefined) return;
    // Changed outside trailguard (or found on restart): the broker's levels win, both of them (an
    // update reports the position's levels as IG holds them: a level it omits is none, e.g. a
    // limit the trader removed, which an amend carrying the old one would otherwise put back).
    const stopLevel = ev.stopLevel;
    const limitLevel = ev.limitLevel;
    if (stopLevel === p.stopLevel && limitLevel === p.limitLevel) return;
    p.stopLevel = stopLevel;
    p.limitLevel = limitLevel;
    p.levelsTick = this.tickCount;
  }

  private onClosed(ev: PositionClosedEvent): void {
    const p = this.byDeal.get(ev.dealId);
    const info = ev.ref === undefined ? undefined : this.pending.get(ev.ref);
    if (info?.kind === 'close') this.pending.delete(ev.ref as string);
    if (p === undefined) return;
    const m = this.markets.get(p.market) as MarketRuntime;
    let reason: ExitReason;
    switch (ev.cause) {
      case 'action':
        reason = info?.kind === 'close' ? info.reason : 'CLOSED_EXTERNALLY';
        break;
      case 'stop':
        reason = p.stopReason;
        break;
      case 'limit':
        reason = 'TAKE_PROFIT';
        break;
      case 'external':
        reason = 'CLOSED_EXTERNALLY';
        break;
      case 'manual':
        reason = 'MANUAL';
        break;
      default: {
        const exhaustive: never = ev.cause;
        throw new InvariantError(`unknown close cause ${String(exhaustive)}`);
      }
    }
    if (info?.kind === 'close') p.pendingClose = Math.max(0, cleanSize(p.pendingClose - info.size, m.cfg.lotStep));
    // Our own closes were counted when sent; so was, live, a broker fill at the level the engine
    // counted on the tick that reached it (a fill elsewhere is news: the guard looks again).
    else if (!(m.brokerCloses(p) && Math.abs(ev.level - m.brokerFillLevel(p)) <= m.eps))
      this.realisedThisTick.add(p.strategy);
    const size = Math.min(ev.size, p.size);
    const remaining = cleanSize(p.size - size, m.cfg.lotStep);
    // The move as on the prices' decimal values: the binary noise of a difference of two large
    // prices, multiplied by size and value per point, would reach the journal's 8 decimals.
    const move = p.sign * priceMove(p.entryPrice, ev.level);
    const pnlPoints = move / m.ps;
    const pnlAmount = pnlPoints * size * m.cfg.valuePerPoint;
    const guard = this.guards.get(p.strategy);
    if (guard !== undefined) guard.state.realised += pnlAmount;
    this.sink.journal({
      time: ev.time,
      market: p.market,
      dealId: p.dealId,
      strategy: p.strategy,
      direction: p.direction,
      action: remaining > 0 ? 'PARTIAL' : 'EXIT',
      size,
      price: ev.level,
      stopLevel: info?.kind === 'close' ? info.stopLevel : p.stopLevel,
      pnlPoints,
      pnlAmount,
      rMultiple: p.risk > 0 ? move / p.risk : undefined,
      reason,
      heldMs: ev.time - p.entryTime,
    });
    p.size = remaining;
    if (remaining <= 0) {
      this.byDeal.delete(p.dealId);
      this.unsent.delete(p.dealId);
      const index = m.positions.indexOf(p);
      if (index >= 0) m.positions.splice(index, 1);
    } else if (p.pendingClose <= 0) {
      p.closing = false;
    }
    this.sink.lifecycle(p.market);
  }

  private onRejected(ev: ActionRejectedEvent): void {
    const info = this.pending.get(ev.ref);
    if (info === undefined) return;
    this.pending.delete(ev.ref);
    switch (info.kind) {
      case 'open':
        this.alert('warn', `open rejected by the broker: ${ev.reason}`, { ref: ev.ref, reason: ev.reason });
        return;
      case 'close': {
        const p = this.byDeal.get(info.dealId);
        if (p === undefined) return;
        const m = this.markets.get(p.market) as MarketRuntime;
        p.pendingClose = Math.max(0, cleanSize(p.pendingClose - info.size, m.cfg.lotStep));
        if (p.pendingClose <= 0) p.closing = false;
        if (info.reason === 'VIRTUAL_STOP') p.virtualRejectedAt = info.time;
        if (info.reason === 'END_OF_DAY' || info.reason === 'TIME_EXIT') p.timeExitRefusedAt = lastTickMark(m);
        this.sink.lifecycle(p.market); // the state file may keep it as sent
        this.alert('warn', `close of ${info.dealId} (${info.reason}) rejected by the broker: ${ev.reason}`, {
          dealId: info.dealId,
          reason: ev.reason,
        });
        return;
      }
      case 'amend': {
        const p = this.byDeal.get(info.dealId);
        if (p !== undefined && p.stopLevel === info.level) {
          p.stopLevel = info.prevLevel;
          p.stopReason = info.prevReason;
          p.levelsTick = this.tickCount;
        }
        // A close sent meanwhile took this level as the stop in force (its row's stop_level): the
        // broker never had it.
        for (const other of this.pending.values())
          if (other.kind === 'close' && other.dealId === info.dealId && other.stopLevel === info.level)
            other.stopLevel = info.prevLevel;
        if (p !== undefined && info.reason !== info.prevReason) this.sink.lifecycle(p.market);
        this.alert('warn', `stop amend of ${info.dealId} to ${info.level} rejected by the broker: ${ev.reason}`, {
          dealId: info.dealId,
          reason: ev.reason,
        });
        return;
      }
      default: {
        const exhaustive: never = info;
        throw new InvariantError(`unknown pending action ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  /** Live, when no tick arrives: time exits still fall due (SPEC §2 `clock`). */
  private onClock(time: number): void {
    // `now` stays the last tick's time: it dates the closes sent here, and the virtual stop's
    // cooldown compares tick times with it (a wall clock ahead of recorded ticks would break it).
    for (const m of this.markets.values()) {
      if (m.flatAtMs === undefined && m.maxHoldMs === undefined) continue;
      // Dated at or before the market's last tick (live dates it a grace period back): that tick
      // decided already, and an earlier time could only see the day before's flatAt (a position
      // entered just after midnight closed END_OF_DAY).
      if (time <= m.lastTime) continue;
      const now = { time };
      const flatDue = m.flatDue(now);
      for (const p of m.positions) {
        if (p.closing || m.brokerCloses(p)) continue;
        // Refused since the market's last tick (closed for the night): the next tick sends it
        // again, not every clock event (IG's trading allowance, and a log of refusals).
        if (p.timeExitRefusedAt === lastTickMark(m)) continue;
        const reason = timeExitDue(p, now, flatDue, m.maxHoldMs);
        if (reason !== undefined) this.closeRest(p, reason);
      }
    }
  }

  private closeRest(p: PositionState, reason: ExitReason): void {
    const m = this.markets.get(p.market) as MarketRuntime;
    const size = cleanSize(p.size - p.pendingClose, m.cfg.lotStep);
    if (size <= 0) return;
    p.closing = true;
    this.sendClose(p, size, reason);
  }

  private closeSize(p: PositionState, size: number, reason: ExitReason): void {
    const m = this.markets.get(p.market) as MarketRuntime;
    const left = cleanSize(p.size - p.pendingClose, m.cfg.lotStep);
    if (size >= left) {
      this.closeRest(p, reason);
      return;
    }
    this.sendClose(p, size, reason);
  }

  private sendClose(p: PositionState, size: number, reason: ExitReason): void {
    const m = this.markets.get(p.market) as MarketRuntime;
    p.pendingClose = cleanSize(p.pendingClose + size, m.cfg.lotStep);
    const ref = this.nextRef();
    this.pending.set(ref, { kind: 'close', dealId: p.dealId, size, reason, time: this.now, stopLevel: p.stopLevel });
    this.realisedThisTick.add(p.strategy);
    this.sink.action({ type: 'close', ref, dealId: p.dealId, market: p.market, direction: p.direction, size, reason });
  }

  private alert(level: 'info' | 'warn' | 'error', message: string, data: Record<string, unknown>): void {
    this.sink.action({ type: 'alert', ref: this.nextRef(), level, message, data });
  }

  private nextRef(): string {
    return `A${++this.refCount}`;
  }

  /** Open positions with their value at the last prices (for summaries and `positions`). */
  openPositions(): OpenPositionView[] {
    const out: OpenPositionView[] = [];
    for (const m of this.markets.values()) {
      for (const p of m.positions) {
        const fav = p.sign > 0 ? m.bid : m.ask;
        if (Number.isNaN(fav)) {
          out.push({ position: p, price: undefined, pnlPoints: undefined, pnlAmount: undefined });
          continue;
        }
        const pnlPoints = (p.sign * priceMove(p.entryPrice, fav)) / m.ps;
        out.push({ position: p, price: fav, pnlPoints, pnlAmount: pnlPoints * p.size * m.cfg.valuePerPoint });
      }
    }
    return out;
  }

  /**
   * A close asked for from outside the rules (the `close` command): `size` undefined closes all
   * that is left. Returns false when the position is unknown or already closing.
   */
  requestClose(dealId: string, size: number | undefined, reason: ExitReason): boolean {
    const p = this.byDeal.get(dealId);
    if (p === undefined || p.closing) return false;
    this.unsent.delete(dealId); // the trader's close replaces those a stopped run never got executed
    if (size === undefined) this.closeRest(p, reason);
    else this.closeSize(p, size, reason);
    return true;
  }

  /**
   * Lifecycle fields of a market's positions, for the state file (SPEC §6.3). SPEC §3.2: "state is
   * written once the broker confirms"; a rule's decision is saved when it is made, with the
   * requests still unconfirmed beside it, so that a restart can tell what the broker never
   * received (reconcile sends such a close again) and which rule set the broker's stop.
   */
  exportPositions(market: string): PositionSnapshot[] {
    const m = this.markets.get(market);
    if (m === undefined) return [];
    return m.positions.map((p) => {
      let stopReason = p.stopReason;
      const unsent = this.unsent.get(p.dealId);
      let closesSent: { size: number; reason: ExitReason }[] | undefined =
        unsent === undefined ? undefined : [...unsent];
      let amendsSent: { level: number; reason: StopReason }[] | undefined;
      for (const info of this.pending.values()) {
        if (info.kind === 'open' || info.dealId !== p.dealId) continue;
        if (info.kind === 'close') (closesSent ??= []).push({ size: info.size, reason: info.reason });
        else {
          // The earliest unconfirmed amend replaced the stop the broker has confirmed.
          if (amendsSent === undefined) stopReason = info.prevReason;
          (amendsSent ??= []).push({ level: info.level, reason: info.reason });
        }
      }
      return {
        ...this.snapshotOf(p),
        stopReason,
        ...(closesSent === undefined ? {} : { closesSent }),
        ...(amendsSent === undefined ? {} : { amendsSent }),
      };
    });
  }

  private snapshotOf(p: PositionState): PositionSnapshot {
    return {
      dealId: p.dealId,
      market: p.market,
      strategy: p.strategy,
      direction: p.direction,
      size: p.size,
      originalSize: p.originalSize,
      entryPrice: p.entryPrice,
      entryTime: p.entryTime,
      entryReason: p.entryReason,
      stopReason: p.stopReason,
      initialStop: p.initialStop,
      risk: p.risk,
      best: p.best,
      trailingActive: p.trailingActive,
      ladderNext: p.ladderNext,
      ladderLock: p.ladderLock,
      virtualLevel: p.virtualLevel,
    };
  }

  /** Per market, the last tick time its entry strategy saw (see StrategiesState.entriesSeenUntil). */
  exportEntriesSeen(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, m] of this.markets) if (!Number.isNaN(m.lastTime)) out[name] = m.lastTime;
    return out;
  }

  exportGuards(): Record<string, GuardState> {
    const out: Record<string, GuardState> = {};
    for (const [name, g] of this.guards) out[name] = { ...g.state };
    return out;
  }

  /**
   * Resumes a saved position after a restart: the stop and limit are the broker's, the size is
   * the broker's, the trailing state continues from the saved best price (the next tick brings it
   * up to date). Writes no journal row.
   */
  restorePosition(
    snapshot: PositionSnapshot,
    broker: { size: number; stopLevel?: number | undefined; limitLevel?: number | undefined },
  ): void {
    const m = this.markets.get(snapshot.market);
    if (m === undefined || this.byDeal.has(snapshot.dealId)) return;
    // The broker's stop is that of an amend sent before the state was saved, not yet confirmed:
    // that amend's rule set it.
    const stopLevel = broker.stopLevel;
    const amend =
      stopLevel === undefined
        ? undefined
        : snapshot.amendsSent?.findLast(
            (a) => Math.abs(a.level - stopLevel) <= Math.max(m.epsBase, Math.abs(stopLevel) * 8.881784197001252e-16),
          );
    const p = newPosition({
      ...snapshot,
      stopReason: amend?.reason ?? snapshot.stopReason,
      ownStrategy: snapshot.strategy === m.cfg.strategy,
      size: broker.size,
      stopLevel: broker.stopLevel,
      limitLevel: broker.limitLevel,
      levelsTick: this.tickCount,
    });
    m.positions.push(p);
    m.positions.sort((a, b) => a.entryTime - b.entryTime);
    this.byDeal.set(p.dealId, p);
  }

  /**
   * The broker's minimum stop distance of a market, read again while live runs (IG widens it
   * around news): taken when stricter than the one in use (SPEC §3.2 "the broker's dealing rules
   * win"). Returns whether it changed.
   */
  raiseMinStopDistance(market: string, points: number): boolean {
    const m = this.markets.get(market);
    if (m === undefined || !(points * m.ps > m.minStop + m.epsBase)) return false;
    m.minStop = points * m.ps;
    m.minStopPoints = points;
    return true;
  }

  /** Closes of a restored position that the run before sent and the broker never executed. */
  carryUnsentCloses(dealId: string, closes: readonly { size: number; reason: ExitReason }[]): void {
    if (this.byDeal.has(dealId) && closes.length > 0) this.unsent.set(dealId, [...closes]);
  }

  /**
   * Sends again, in the order they were first sent, the closes `carryUnsentCloses` kept (`live`, once
   * it can deal): the rule decided them, the broker never received them. Returns what was sent.
   */
  resendUnsentCloses(): { dealId: string; market: string; size: number; reason: ExitReason }[] {
    const sent: { dealId: string; market: string; size: number; reason: ExitReason }[] = [];
    for (const [dealId, closes] of this.unsent) {
      this.unsent.delete(dealId);
      const p = this.byDeal.get(dealId);
      if (p === undefined) continue;
      for (const c of closes) {
        const m = this.markets.get(p.market) as MarketRuntime;
        const left = cleanSize(p.size - p.pendingClose, m.cfg.lotStep);
        if (p.closing || left <= 0) break;
        const size = Math.min(c.size, left);
        this.closeSize(p, size, c.reason);
        sent.push({ dealId, market: p.market, size, reason: c.reason });
      }
    }
    return sent;
  }

  restoreGuards(saved: Readonly<Record<string, GuardState>>): void {
    for (const [name, state] of Object.entries(saved)) {
      const g = this.guards.get(name);
      if (g !== undefined) g.state = { ...state };
    }
  }

  /**
   * The guards of these strategies are evaluated on the next tick, before its entries, as those of
   * strategies that realised P&L on it (a restart that adds closes the saved guard missed).
   */
  checkGuardsBeforeEntries(strategies: readonly string[]): void {
    for (const strategy of strategies) if (this.guards.has(strategy)) this.realisedThisTick.add(strategy);
  }

  position(dealId: string): Readonly<PositionState> | undefined {
    return this.byDeal.get(dealId);
  }
}

/** The market's last tick time, −Infinity before its first (NaN would never compare equal). */
function lastTickMark(m: MarketRuntime): number {
  return Number.isNaN(m.lastTime) ? -Infinity : m.lastTime;
}
