// The backtest, straight from SPEC §3 (order of work), §3.1 (initial levels), §4 (rules), §5
// (entries) and §9 (details), with the simulated broker applying every action at once.
import type { Config, Direction, MarketConfig, GuardConfig } from './config.js';
import { Atr, CandleSeries, Ema, type Candle } from './indicators.js';
import {
  TOLERANCE_AMOUNT,
  TOLERANCE_POINTS,
  decimalsOf,
  eq,
  floorGuarded,
  formatNumber,
  geq,
  gt,
  leq,
  lt,
  roundHalfAway,
} from './numbers.js';
import type { SignalRow } from './signals.js';

export interface SimTick {
  time: number;
  market: string;
  bid: number;
  ask: number;
}

type Reason = string;

interface Position {
  dealId: string;
  market: MarketConfig;
  direction: Direction;
  /** What is still open. */
  size: number;
  originalSize: number;
  /** Decimals that sizes of this position are kept to (lot step's, or the entered size's if finer). */
  sizeDecimals: number;
  entryPrice: number;
  entryTime: number;
  strategy: string;
  /** The broker-side stop and the reason of the rule that last set it (SPEC §4.8). */
  stopLevel: number | undefined;
  stopReason: Reason;
  limitLevel: number | undefined;
  /** The stop R is measured from (the virtual level when a virtual stop applies, SPEC §3.1). */
  initialStop: number | undefined;
  virtualLevel: number | undefined;
  /** Best favourable price since entry (SPEC §3 step 2.1). */
  best: number;
  trailingActive: boolean;
  firedRungs: boolean[];
  open: boolean;
}

interface StrategyState {
  realised: number;
  peak: number;
  stopped: boolean;
  tripReason: Reason;
}

interface MarketState {
  config: MarketConfig;
  lastBid: number | undefined;
  lastAsk: number | undefined;
  series: Map<number, CandleSeries>;
  atr: Atr | undefined;
  emaFast: Ema | undefined;
  emaSlow: Ema | undefined;
  /** Signal rows of this market, in file order, not yet due. */
  pendingSignals: SignalRow[];
  localTime: Intl.DateTimeFormat | undefined;
  /** The local date flatAt was reached on: blocked until local midnight, even when a DST fall-back repeats the hour. */
  flatDay: string | undefined;
}

interface Proposal {
  level: number;
  reason: Reason | 'LADDER';
}

const HEADER =
  'time,market,deal_id,strategy,direction,action,size,price,stop_level,pnl_points,pnl_amount,r_multiple,reason,held_seconds';

export class Simulation {
  private readonly markets = new Map<string, MarketState>();
  private readonly strategies = new Map<string, StrategyState>();
  /** The open positions of every market, in order of entry (SPEC §3 step 2 "in order of entry"). */
  private positions: Position[] = [];
  private readonly rows: string[] = [HEADER];
  private nextDeal = 1;

  // Per-tick bookkeeping.
  private now = 0;
  private guardEvaluated = new Set<string>();
  private realisedThisTick: string[] = [];

  constructor(
    private readonly config: Config,
    signals: ReadonlyMap<string, readonly SignalRow[]>,
  ) {
    for (const [name, mc] of config.markets) {
      const series = new Map<number, CandleSeries>();
      const atrCfg = mc.exits.atrStop;
      if (atrCfg !== undefined) series.set(atrCfg.timeframeMs, new CandleSeries(atrCfg.timeframeMs));
      const entry = mc.entry;
      // decisions.md 32: an entry on the ATR's timeframe reads the ATR's candles.
      if ((entry.kind === 'ema-cross' || entry.kind === 'breakout') && !series.has(entry.timeframeMs)) {
        series.set(entry.timeframeMs, new CandleSeries(entry.timeframeMs));
      }
      const time = mc.exits.time;
      this.markets.set(name, {
        config: mc,
        lastBid: undefined,
        lastAsk: undefined,
        series,
        atr: atrCfg === undefined ? undefined : new Atr(atrCfg.period),
        emaFast: entry.kind === 'ema-cross' ? new Ema(entry.fast) : undefined,
        emaSlow: entry.kind === 'ema-cross' ? new Ema(entry.slow) : undefined,
        pendingSignals: [...(signals.get(name) ?? [])],
        localTime:
          time === undefined
            ? undefined
            : new Intl.DateTimeFormat('en-GB', {
                timeZone: time.timezone,
                year: 'numeric',
                month: '2-digit',
                day: '2-digit',
                hour: '2-digit',
                minute: '2-digit',
                hourCycle: 'h23',
              }),
        flatDay: undefined,
      });
    }
  }

  journal(): string {
    return this.rows.map((r) => `${r}\n`).join('');
  }

  // ---------------------------------------------------------------------------------------------
  // One tick, SPEC §3.

  onTick(tick: SimTick): void {
    const ms = this.markets.get(tick.market);
    if (ms === undefined) return; // SPEC §9: ticks of markets not in the configuration are ignored
    this.now = tick.time;
    this.guardEvaluated = new Set();
    this.realisedThisTick = [];
    ms.lastBid = tick.bid;
    ms.lastAsk = tick.ask;

    // SPEC §9 "Candles before rules": a tick that closes a candle updates candles, ATR and EMAs first.
    const closedByTick = this.updateCandles(ms, tick);
    const afterFlatAt = this.isAfterFlatAt(ms, tick.time);

    this.brokerStep(ms, tick); // step 1
    this.engineStep(ms, tick, afterFlatAt); // step 2
    this.entryStep(ms, tick, closedByTick, afterFlatAt); // step 3
  }

  private updateCandles(ms: MarketState, tick: SimTick): Map<number, Candle> {
    const mid = (tick.bid + tick.ask) / 2; // SPEC §4.3: candles on mid price
    const closed = new Map<number, Candle>();
    for (const [tf, series] of ms.series) {
      const c = series.update(tick.time, mid);
      if (c === undefined) continue;
      closed.set(tf, c);
      const atrCfg = ms.config.exits.atrStop;
      if (atrCfg !== undefined && atrCfg.timeframeMs === tf) ms.atr?.onCandle(c);
      const entry = ms.config.entry;
      if (entry.kind === 'ema-cross' && entry.timeframeMs === tf) {
        ms.emaFast?.onClose(c.close);
        ms.emaSlow?.onClose(c.close);
      }
    }
    return closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Step 1: broker-side orders (SPEC §3 step 1).

  private brokerStep(ms: MarketState, tick: SimTick): void {
    const tol = TOLERANCE_POINTS * ms.config.pointSize;
    for (const p of this.openPositionsOf(ms.config.name)) {
      const buy = p.direction === 'BUY';
      // A BUY whose bid <= stopLevel, a SELL whose ask >= stopLevel: closed at the tick's favourable price.
      if (p.stopLevel !== undefined && (buy ? leq(tick.bid, p.stopLevel, tol) : geq(tick.ask, p.stopLevel, tol))) {
        this.close(p, p.size, buy ? tick.bid : tick.ask, p.stopReason); // SPEC §4.8: reason of the rule that last set it
        continue;
      }
      // Otherwise a BUY whose bid >= limitLevel, a SELL whose ask <= limitLevel: closed at limitLevel.
      if (p.limitLevel !== undefined && (buy ? geq(tick.bid, p.limitLevel, tol) : leq(tick.ask, p.limitLevel, tol))) {
        this.close(p, p.size, p.limitLevel, 'TAKE_PROFIT'); // SPEC §4.7
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Step 2: the engine, per open position of this market in order of entry (SPEC §3 step 2).

  private engineStep(ms: MarketState, tick: SimTick, afterFlatAt: boolean): void {
    const mc = ms.config;
    const tol = TOLERANCE_POINTS * mc.pointSize;
    for (const p of this.openPositionsOf(mc.name)) {
      if (!p.open) continue; // closed meanwhile by a guard trip: "go on with the positions that remain"
      const buy = p.direction === 'BUY';
      const favourable = buy ? tick.bid : tick.ask;

      // 2.1 best favourable price since entry.
      p.best = buy ? Math.max(p.best, tick.bid) : Math.min(p.best, tick.ask);

      // 2.2 virtual stop (SPEC §4.2): BUY bid <= level, SELL ask >= level; whole position at market.
      if (
        p.virtualLevel !== undefined &&
        (buy ? leq(tick.bid, p.virtualLevel, tol) : geq(tick.ask, p.virtualLevel, tol))
      ) {
        this.close(p, p.size, favourable, 'VIRTUAL_STOP');
        continue;
      }

      // 2.3 time exits (SPEC §4.7, §9 Time exits: END_OF_DAY wins over TIME_EXIT).
      const time = mc.exits.time;
      if (time !== undefined) {
        if (afterFlatAt) {
          this.close(p, p.size, favourable, 'END_OF_DAY');
          continue;
        }
        if (time.maxHoldMinutes !== undefined && tick.time - p.entryTime >= time.maxHoldMinutes * 60_000) {
          this.close(p, p.size, favourable, 'TIME_EXIT');
          continue;
        }
      }

      // 2.4 strategy guard (SPEC §4.6), at most once per strategy per tick.
      const st = this.strategies.get(p.strategy);
      if (st?.stopped === true) {
        // decisions.md 5: a position of a stopped strategy still open here is closed with the trip reason.
        this.close(p, p.size, favourable, st.tripReason);
        continue;
      }
      if (this.config.guards.has(p.strategy) && !this.guardEvaluated.has(p.strategy)) {
        this.guardEvaluated.add(p.strategy);
        this.evaluateGuard(p.strategy);
        if (!p.open) continue;
      }

      // 2.5 profit ladder partial exits (SPEC §4.4, §9 Ladder).
      this.ladderStep(p, favourable, tol);
      if (!p.open) continue;

      // 2.6 – 2.8 stop rules.
      this.stopRulesStep(p, ms, tick, tol);
    }
  }

  private ladderStep(p: Position, favourable: number, tol: number): void {
    const ladder = p.market.exits.ladder;
    const R = this.riskOf(p);
    // Positions without an initial stop skip this rule; rungs fire only when R > 0.
    if (ladder === undefined || R === undefined || !gt(R, 0, tol)) return;
    const profit = this.profitPrice(p, favourable);
    // §9: "the rung with the highest `at` that closes takes the rest".
    let lastClosing = -1;
    ladder.rungs.forEach((r, i) => {
      if (r.close > 0) lastClosing = i;
    });
    for (let i = 0; i < ladder.rungs.length; i++) {
      const rung = ladder.rungs[i]!;
      if (p.firedRungs[i] === true) continue;
      // A rung fires when r >= at, i.e. profit >= at × R (price terms, within 1e-9 points).
      if (!geq(profit, rung.at * R, tol)) continue;
      p.firedRungs[i] = true; // fires once; its lock applies from now on
      if (rung.close <= 0) continue;
      const lotStep = p.market.lotStep;
      const lotDecimals = decimalsOf(lotStep);
      let size: number;
      if (i === lastClosing) {
        size = p.size;
      } else {
        // floor(close × original / lotStep) × lotStep, capped at what is left.
        const lots = floorGuarded((rung.close * p.originalSize) / lotStep);
        size = Math.min(roundHalfAway(lots * lotStep, lotDecimals, 1e-12), p.size);
      }
      // Nothing is sent for a size of zero.
      if (size <= 0) continue;
      this.close(p, size, favourable, 'PROFIT_TARGET');
      if (!p.open) return;
    }
  }

  private stopRulesStep(p: Position, ms: MarketState, tick: SimTick, tol: number): void {
    const mc = p.market;
    const buy = p.direction === 'BUY';
    const favourable = buy ? tick.bid : tick.ask;
    const sign = buy ? 1 : -1;
    const ps = mc.pointSize;
    const tighter = (a: number, b: number): boolean => (buy ? gt(a, b, tol) : lt(a, b, tol));

    // 2.6 every enabled stop rule proposes a level, in §4 order (the first gives the reason on ties, §9 Ties).
    const proposals: Proposal[] = [];
    const trailing = mc.exits.trailing;
    if (trailing !== undefined) {
      // SPEC §4.1 with decisions.md 3: activation on the profit at the current favourable price.
      const profitPoints = this.profitPrice(p, favourable) / ps;
      if (!p.trailingActive && geq(profitPoints, trailing.activateAt, TOLERANCE_POINTS)) p.trailingActive = true;
      if (p.trailingActive) proposals.push({ level: p.best - sign * trailing.distance * ps, reason: 'TRAILING_STOP' });
    }
    const atrCfg = mc.exits.atrStop;
    if (atrCfg !== undefined && atrCfg.trail && ms.atr?.value !== undefined) {
      // SPEC §4.3 chandelier: best ∓ multiplier × ATR.
      proposals.push({ level: p.best - sign * atrCfg.multiplier * ms.atr.value, reason: 'ATR_STOP' });
    }
    const ladder = mc.exits.ladder;
    const R = this.riskOf(p);
    if (ladder !== undefined && R !== undefined && gt(R, 0, tol)) {
      // SPEC §4.4: each fired rung proposes entry ± lock × R; the tightest is the highest lock.
      let lock: number | undefined;
      ladder.rungs.forEach((r, i) => {
        if (p.firedRungs[i] === true && r.lock !== undefined)
          lock = lock === undefined ? r.lock : Math.max(lock, r.lock);
      });
      if (lock !== undefined) proposals.push({ level: p.entryPrice + sign * lock * R, reason: 'LADDER' });
    }
    const profitLock = mc.exits.profitLock;
    if (profitLock !== undefined) {
      // SPEC §4.5, §9: proposes only while peak profit points > minProfit.
      const peakPrice = this.profitPrice(p, p.best);
      if (gt(peakPrice / ps, profitLock.minProfit, TOLERANCE_POINTS)) {
        proposals.push({ level: p.entryPrice + sign * profitLock.lockFraction * peakPrice, reason: 'PROFIT_LOCK' });
      }
    }
    let candidate: Proposal | undefined;
    for (const proposal of proposals) {
      if (candidate === undefined || tighter(proposal.level, candidate.level)) candidate = proposal;
    }
    // "the tightest proposal that is tighter than the current stop" (the broker-side stop, §9 Virtual level).
    if (candidate === undefined) return;
    if (p.stopLevel !== undefined && !tighter(candidate.level, p.stopLevel)) return;

    // 2.7 at or beyond the current favourable price: close at market with that rule's reason.
    if (buy ? geq(candidate.level, favourable, tol) : leq(candidate.level, favourable, tol)) {
      this.close(p, p.size, favourable, this.reasonOf(candidate, p, candidate.level, tol));
      return;
    }

    // 2.8 clamp to the minimum distance (before rounding, decisions.md 8), round, amend if tighter
    // by at least stopStep (and strictly tighter, decisions.md 7).
    const minDistance = mc.minStopDistance * ps;
    const clamped = buy
      ? Math.min(candidate.level, tick.bid - minDistance)
      : Math.max(candidate.level, tick.ask + minDistance);
    const level = roundHalfAway(clamped, mc.decimals, tol);
    if (p.stopLevel !== undefined) {
      if (!tighter(level, p.stopLevel)) return;
      const improvement = buy ? level - p.stopLevel : p.stopLevel - level;
      if (!geq(improvement, mc.stopStep * ps, tol)) return;
    }
    // No amend while the limit is closer to the favourable price than minStopDistance (§3 step 2.8).
    if (p.limitLevel !== undefined) {
      const limitDistance = buy ? p.limitLevel - tick.bid : tick.ask - p.limitLevel;
      if (lt(limitDistance, minDistance, tol)) return;
    }
    p.stopLevel = level;
    p.stopReason = this.reasonOf(candidate, p, level, tol);
  }

  /** §9 Ties: a ladder stop is BREAKEVEN_STOP when its level equals the entry price, else LADDER_STOP. */
  private reasonOf(proposal: Proposal, p: Position, level: number, tol: number): Reason {
    if (proposal.reason !== 'LADDER') return proposal.reason;
    return eq(level, p.entryPrice, tol) ? 'BREAKEVEN_STOP' : 'LADDER_STOP';
  }

  // ---------------------------------------------------------------------------------------------
  // Step 3: entries (SPEC §3 step 3, §5).

  private entryStep(ms: MarketState, tick: SimTick, closedByTick: Map<number, Candle>, afterFlatAt: boolean): void {
    // §9 Guard: evaluated again just before entries for every strategy that realised P&L on this tick.
    for (const name of this.realisedThisTick) {
      if (this.config.guards.has(name) && this.strategies.get(name)?.stopped !== true) this.evaluateGuard(name);
    }

    const mc = ms.config;
    // §4.7 / decisions.md 12: no entry while the local time of day is at or after flatAt.
    const blocked = (strategy: string): boolean => afterFlatAt || this.strategies.get(strategy)?.stopped === true;
    const entry = mc.entry;
    switch (entry.kind) {
      case 'none':
        return;
      case 'signals': {
        // Rows due on this tick (time <= tick time), the earlier signal first, rows of one time in
        // file order (decisions.md 34: the file need not be sorted); a due row is consumed whether
        // entered or dropped (§9: a signal that comes due while entries are blocked is dropped).
        const due = ms.pendingSignals
          .filter((row) => row.time <= tick.time)
          .sort((a, b) => a.time - b.time || a.index - b.index);
        ms.pendingSignals = ms.pendingSignals.filter((row) => row.time > tick.time);
        for (const row of due) {
          const strategy = row.strategy ?? mc.strategy;
          if (blocked(strategy)) continue;
          const size = row.size ?? entry.size;
          if (size === undefined) throw new Error(`signals: row ${row.index + 1} has no size`);
          this.open(ms, tick, row.direction, size, strategy, 'SIGNAL', row.stopPoints, row.limitPoints);
        }
        return;
      }
      case 'ema-cross': {
        if (!closedByTick.has(entry.timeframeMs)) return; // evaluated when a candle closes
        const direction = this.emaCross(ms);
        if (direction === undefined) return;
        const mine = this.openPositionsOf(mc.name);
        // One position per market: already positioned the same way → nothing.
        if (mine.some((p) => p.direction === direction)) return;
        // An opposite signal closes the open one (SIGNAL_EXIT), even while entries are blocked (decisions.md 10).
        for (const p of mine) this.close(p, p.size, p.direction === 'BUY' ? tick.bid : tick.ask, 'SIGNAL_EXIT');
        if (blocked(mc.strategy)) return;
        this.openFromBlock(ms, tick, direction, entry.size, 'EMA_CROSS');
        return;
      }
      case 'breakout': {
        if (!closedByTick.has(entry.timeframeMs)) return;
        const direction = this.breakout(ms, entry.timeframeMs, entry.period);
        if (direction === undefined) return;
        if (this.openPositionsOf(mc.name).length > 0) return; // only when the market is flat
        if (blocked(mc.strategy)) return;
        this.openFromBlock(ms, tick, direction, entry.size, 'BREAKOUT');
        return;
      }
      default: {
        const _exhaustive: never = entry;
        return _exhaustive;
      }
    }
  }

  private readonly emaHistory = new Map<string, { fast: number | undefined; slow: number | undefined }>();

  /** §5 ema-cross: previous fast ≤ previous slow and now fast > slow → BUY; the mirror → SELL. */
  private emaCross(ms: MarketState): Direction | undefined {
    const fast = ms.emaFast?.value;
    const slow = ms.emaSlow?.value;
    const previous = this.emaHistory.get(ms.config.name);
    this.emaHistory.set(ms.config.name, { fast, slow });
    if (previous?.fast === undefined || previous.slow === undefined || fast === undefined || slow === undefined) {
      return undefined;
    }
    const tol = TOLERANCE_POINTS * ms.config.pointSize;
    if (leq(previous.fast, previous.slow, tol) && gt(fast, slow, tol)) return 'BUY';
    if (geq(previous.fast, previous.slow, tol) && lt(fast, slow, tol)) return 'SELL';
    return undefined;
  }

  /** §5 breakout: the closed candle's close vs the highest high / lowest low of the `period` candles before it (strict, decisions.md 11). */
  private breakout(ms: MarketState, timeframeMs: number, period: number): Direction | undefined {
    const closed = ms.series.get(timeframeMs)?.closed ?? [];
    if (closed.length < period + 1) return undefined;
    const last = closed[closed.length - 1]!;
    const before = closed.slice(closed.length - 1 - period, closed.length - 1);
    const highest = Math.max(...before.map((c) => c.high));
    const lowest = Math.min(...before.map((c) => c.low));
    const tol = TOLERANCE_POINTS * ms.config.pointSize;
    if (gt(last.close, highest, tol)) return 'BUY';
    if (lt(last.close, lowest, tol)) return 'SELL';
    return undefined;
  }

  private openFromBlock(
    ms: MarketState,
    tick: SimTick,
    direction: Direction,
    size: number | undefined,
    reason: Reason,
  ): void {
    if (size === undefined) throw new Error(`${ms.config.name}: entry has no size`);
    this.open(ms, tick, direction, size, ms.config.strategy, reason, undefined, undefined);
  }

  /** Opens at ask (BUY) / bid (SELL) with the initial levels of SPEC §3.1 and §9 Initial stop. */
  private open(
    ms: MarketState,
    tick: SimTick,
    direction: Direction,
    size: number,
    strategy: string,
    reason: Reason,
    rowStopPoints: number | undefined,
    rowLimitPoints: number | undefined,
  ): void {
    const mc = ms.config;
    const entry = mc.entry;
    const blockStopPoints = entry.kind === 'none' ? undefined : entry.stopPoints;
    const blockLimitPoints = entry.kind === 'none' ? undefined : entry.limitPoints;
    const buy = direction === 'BUY';
    const sign = buy ? 1 : -1;
    const ps = mc.pointSize;
    const tol = TOLERANCE_POINTS * ps;
    const entryPrice = buy ? tick.ask : tick.bid;
    const minDistance = mc.minStopDistance * ps;
    const round = (x: number): number => roundHalfAway(x, mc.decimals, tol);

    // Stop distance (price terms): a row's own stopPoints, else multiplier × ATR when an ATR stop
    // is configured and ATR exists, else the entry block's stopPoints (§3.1, §4.3, §9 Initial stop).
    let ownDistance: number | undefined;
    let atrBased = false;
    const atrCfg = mc.exits.atrStop;
    if (rowStopPoints !== undefined) {
      ownDistance = rowStopPoints * ps;
    } else if (atrCfg !== undefined && ms.atr?.value !== undefined) {
      ownDistance = atrCfg.multiplier * ms.atr.value;
      atrBased = true;
    } else if (blockStopPoints !== undefined) {
      ownDistance = blockStopPoints * ps;
    }

    // §4.2: the virtual stop applies to positions whose own stop distance ≤ scalpMaxStop (before widening, §9);
    // unset scalpMaxStop: to every position of the market.
    const virtual = mc.exits.virtualStop;
    const virtualApplies =
      virtual !== undefined &&
      (virtual.scalpMaxStop === undefined ||
        (ownDistance !== undefined && leq(ownDistance / ps, virtual.scalpMaxStop, TOLERANCE_POINTS)));

    let stopLevel: number | undefined;
    let initialStop: number | undefined;
    let virtualLevel: number | undefined;
    let stopReason: Reason = 'STOP';
    if (virtualApplies) {
      // §3.1: the broker stop at safetyDistance; the virtual level (entry ∓ distance, rounded, never
      // widened, §9) is the initial stop for R.
      stopLevel = round(entryPrice - sign * Math.max(virtual.safetyDistance * ps, minDistance));
      virtualLevel = round(entryPrice - sign * virtual.distance * ps);
      initialStop = virtualLevel;
      stopReason = 'STOP'; // §9: a hit of any safety stop is STOP
    } else if (ownDistance !== undefined) {
      // §3.1: never closer than minStopDistance (widened to it), measured from the entry price (§9).
      stopLevel = round(entryPrice - sign * Math.max(ownDistance, minDistance));
      initialStop = stopLevel;
      stopReason = atrBased ? 'ATR_STOP' : 'STOP'; // §9 Initial stop
    }

    // Limit = entry ± limitPoints, widened to minStopDistance (§3.1, §9); a row's own wins.
    const limitPoints = rowLimitPoints ?? blockLimitPoints;
    const limitLevel =
      limitPoints === undefined ? undefined : round(entryPrice + sign * Math.max(limitPoints * ps, minDistance));

    const dealId = `SIM${String(this.nextDeal++).padStart(6, '0')}`;
    const ladder = mc.exits.ladder;
    const p: Position = {
      dealId,
      market: mc,
      direction,
      size,
      originalSize: size,
      sizeDecimals: Math.max(decimalsOf(mc.lotStep), decimalsOf(size)),
      entryPrice,
      entryTime: tick.time,
      strategy,
      stopLevel,
      stopReason,
      limitLevel,
      initialStop,
      virtualLevel,
      // §9: best favourable price starts at the entry tick's bid (BUY) or ask (SELL).
      best: buy ? tick.bid : tick.ask,
      trailingActive: false,
      firedRungs: ladder === undefined ? [] : ladder.rungs.map(() => false),
      open: true,
    };
    this.positions.push(p);
    this.strategyState(strategy);
    this.write([
      new Date(this.now).toISOString(),
      mc.name,
      dealId,
      strategy,
      direction,
      'ENTRY',
      formatNumber(size),
      formatNumber(entryPrice),
      formatNumber(stopLevel), // §9 Journal: the initial broker stop (the safety stop when virtual)
      '',
      '',
      '',
      reason,
      '',
    ]);
  }

  // ---------------------------------------------------------------------------------------------
  // Strategy guard (SPEC §4.6, §9 Guard).

  private strategyState(name: string): StrategyState {
    let st = this.strategies.get(name);
    if (st === undefined) {
      st = { realised: 0, peak: 0, stopped: false, tripReason: '' }; // §9: peak starts at 0
      this.strategies.set(name, st);
    }
    return st;
  }

  private evaluateGuard(name: string): void {
    const guard: GuardConfig | undefined = this.config.guards.get(name);
    if (guard === undefined) return;
    const st = this.strategyState(name);
    if (st.stopped) return;
    // MTM = realised P&L (partials included) + unrealised P&L of open positions at their market's last bid/ask.
    let mtm = st.realised;
    for (const p of this.positions) {
      if (!p.open || p.strategy !== name) continue;
      const last = this.lastFavourable(p);
      mtm += (this.profitPrice(p, last) / p.market.pointSize) * p.size * p.market.valuePerPoint;
    }
    st.peak = Math.max(st.peak, mtm);
    let trip: Reason | undefined;
    // §9: drawdown is tested before trail.
    if (guard.maxDrawdown !== undefined && leq(mtm, guard.maxDrawdown, TOLERANCE_AMOUNT)) {
      trip = 'STRATEGY_DRAWDOWN';
    } else if (
      guard.trailFraction !== undefined &&
      gt(st.peak, guard.minPeak, TOLERANCE_AMOUNT) &&
      leq(mtm, st.peak * (1 - guard.trailFraction), TOLERANCE_AMOUNT)
    ) {
      trip = 'STRATEGY_TRAIL';
    }
    if (trip === undefined) return;
    st.stopped = true;
    st.tripReason = trip;
    // Close every open position of the strategy, in every market (at that market's last bid/ask), in order of entry.
    for (const p of [...this.positions]) {
      if (p.open && p.strategy === name) this.close(p, p.size, this.lastFavourable(p), trip);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  private openPositionsOf(market: string): Position[] {
    return this.positions.filter((p) => p.open && p.market.name === market);
  }

  private lastFavourable(p: Position): number {
    const ms = this.markets.get(p.market.name)!;
    const price = p.direction === 'BUY' ? ms.lastBid : ms.lastAsk;
    if (price === undefined) throw new Error(`no price for ${p.market.name}`);
    return price;
  }

  /**
   * Profit in price terms at `price` (SPEC §1), as the exact decimal difference of the two prices
   * (SPEC §9): the binary error of a subtraction of two doubles near 163 (~3e-14), divided by a
   * point of 0.001 and multiplied by size × value per point, would decide an amount comparison.
   */
  private profitPrice(p: Position, price: number): number {
    return p.direction === 'BUY' ? decimalDifference(price, p.entryPrice) : decimalDifference(p.entryPrice, price);
  }

  /** R = |entryPrice − initialStop| (SPEC §1), as a decimal difference; undefined without an initial stop. */
  private riskOf(p: Position): number | undefined {
    return p.initialStop === undefined ? undefined : Math.abs(decimalDifference(p.entryPrice, p.initialStop));
  }

  private isAfterFlatAt(ms: MarketState, time: number): boolean {
    const flatAt = ms.config.exits.time?.flatAtMinutes;
    if (flatAt === undefined || ms.localTime === undefined) return false;
    const parts = ms.localTime.formatToParts(new Date(time));
    const part = (type: string) => parts.find((x) => x.type === type)?.value;
    const day = `${part('year')}-${part('month')}-${part('day')}`;
    if (ms.flatDay === day) return true;
    const hour = Number(part('hour'));
    const minute = Number(part('minute'));
    if (hour * 60 + minute < flatAt) return false;
    ms.flatDay = day;
    return true;
  }

  /** Closes `size` of p at `price` and writes the PARTIAL/EXIT row (SPEC §6.2, §9 Journal). */
  private close(p: Position, requested: number, price: number, reason: Reason): void {
    const mc = p.market;
    const size = Math.min(requested, p.size);
    const remaining = roundHalfAway(p.size - size, p.sizeDecimals, 1e-12);
    const exit = remaining <= 0; // a close that takes all that is left is EXIT
    const profit = this.profitPrice(p, price);
    const pnlPoints = profit / mc.pointSize;
    const pnlAmount = pnlPoints * size * mc.valuePerPoint;
    const R = this.riskOf(p);
    const tol = TOLERANCE_POINTS * mc.pointSize;
    const rMultiple = R === undefined || !gt(R, 0, tol) ? undefined : profit / R;
    this.write([
      new Date(this.now).toISOString(),
      mc.name,
      p.dealId,
      p.strategy,
      p.direction,
      exit ? 'EXIT' : 'PARTIAL',
      formatNumber(size),
      formatNumber(price),
      formatNumber(p.stopLevel), // the broker stop in force just before the close
      formatNumber(pnlPoints),
      formatNumber(pnlAmount),
      formatNumber(rMultiple),
      reason,
      formatNumber((this.now - p.entryTime) / 1000),
    ]);
    p.size = exit ? 0 : remaining;
    if (exit) {
      p.open = false;
      this.positions = this.positions.filter((x) => x !== p);
    }
    const st = this.strategyState(p.strategy);
    st.realised += pnlAmount; // §9 Guard: realised P&L includes partial closes
    if (!this.realisedThisTick.includes(p.strategy)) this.realisedThisTick.push(p.strategy);
  }

  private write(fields: string[]): void {
    this.rows.push(fields.join(','));
  }
}

/** a − b as on the decimals the two prices are written with (their shortest writing). */
function decimalDifference(a: number, b: number): number {
  return roundHalfAway(a - b, Math.max(decimalsOf(a), decimalsOf(b)), 0);
}
