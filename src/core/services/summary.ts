import type { ReadStats } from '../ports/market-data.js';
import type { Direction, JournalRow } from '../domain/types.js';
import type { OpenPositionView } from '../engine/engine.js';
import { round8 } from '../engine/numeric.js';

interface TradeAcc {
  entryTime: number;
  entrySize: number;
  amount: number;
  pointLots: number;
  rLots: number;
  hasR: boolean;
}

export interface OpenPositionSummary {
  dealId: string;
  market: string;
  strategy: string;
  direction: Direction;
  size: number;
  entryPrice: number;
  price: number | undefined;
  stopLevel: number | undefined;
  pnlPoints: number | undefined;
  pnlAmount: number | undefined;
}

export interface TradeSummary {
  /** Positions closed completely. */
  trades: number;
  wins: number;
  losses: number;
  winRate: number | undefined;
  /** Sum over closed trades of their size-weighted points (Σ points × size / entry size). */
  netPoints: number;
  /** Realised P&L of every PARTIAL and EXIT row: equals the journal's pnl_amount column summed. */
  netAmount: number;
  grossProfit: number;
  grossLoss: number;
  profitFactor: number | undefined;
  /** Mean size-weighted r-multiple of closed trades that have an R. */
  expectancyR: number | undefined;
  /** Largest fall of cumulative realised P&L from a previous peak, as a positive amount. */
  maxDrawdown: number;
  averageHoldSeconds: number | undefined;
  exitsByReason: Record<string, number>;
  journalRows: number;
}

/** Builds the backtest summary from journal rows as they are written (no rows kept in memory). */
export class SummaryBuilder {
  private readonly open = new Map<string, TradeAcc>();
  private trades = 0;
  private wins = 0;
  private losses = 0;
  private netPoints = 0;
  private netAmount = 0;
  private grossProfit = 0;
  private grossLoss = 0;
  private rSum = 0;
  private rCount = 0;
  private holdSum = 0;
  private peak = 0;
  private maxDrawdown = 0;
  private rows = 0;
  private readonly reasons: Record<string, number> = {};

  add(row: JournalRow): void {
    this.rows++;
    if (row.action === 'ENTRY') {
      this.open.set(row.dealId, {
        entryTime: row.time,
        entrySize: row.size,
        amount: 0,
        pointLots: 0,
        rLots: 0,
        hasR: true,
      });
      return;
    }
    const amount = row.pnlAmount ?? 0;
    this.netAmount += amount;
    if (this.netAmount > this.peak) this.peak = this.netAmount;
    if (this.peak - this.netAmount > this.maxDrawdown) this.maxDrawdown = this.peak - this.netAmount;
    this.reasons[row.reason] = (this.reasons[row.reason] ?? 0) + 1;
    const trade = this.open.get(row.dealId);
    if (trade === undefined) return; // a position opened before this run (live); not a trade of ours
    trade.amount += amount;
    trade.pointLots += (row.pnlPoints ?? 0) * row.size;
    if (row.rMultiple === undefined) trade.hasR = false;
    else trade.rLots += row.rMultiple * row.size;
    if (row.action !== 'EXIT') return;
    this.open.delete(row.dealId);
    this.trades++;
    // Decided on the decimal value (SPEC §9): partials of 0.1 and 0.2 and an exit of -0.3 sum to
    // 5.6e-17 in binary, a trade that made exactly nothing, neither a win nor a loss.
    const tradeAmount = round8(trade.amount);
    if (tradeAmount > 0) {
      this.wins++;
      this.grossProfit += tradeAmount;
    } else if (tradeAmount < 0) {
      this.losses++;
      this.grossLoss -= tradeAmount;
    }
    this.netPoints += trade.pointLots / trade.entrySize;
    if (trade.hasR) {
      this.rSum += trade.rLots / trade.entrySize;
      this.rCount++;
    }
    this.holdSum += (row.time - trade.entryTime) / 1000;
  }

  result(): TradeSummary {
    return {
      trades: this.trades,
      wins: this.wins,
      losses: this.losses,
      winRate: this.trades > 0 ? round8(this.wins / this.trades) : undefined,
      netPoints: round8(this.netPoints),
      netAmount: round8(this.netAmount),
      grossProfit: round8(this.grossProfit),
      grossLoss: round8(this.grossLoss),
      profitFactor: this.grossLoss > 0 ? round8(this.grossProfit / this.grossLoss) : undefined,
      expectancyR: this.rCount > 0 ? round8(this.rSum / this.rCount) : undefined,
      maxDrawdown: round8(this.maxDrawdown),
      averageHoldSeconds: this.trades > 0 ? round8(this.holdSum / this.trades) : undefined,
      exitsByReason: { ...this.reasons },
      journalRows: this.rows,
    };
  }
}

export function summariseOpen(views: readonly OpenPositionView[]): OpenPositionSummary[] {
  return views.map((v) => ({
    dealId: v.position.dealId,
    market: v.position.market,
    strategy: v.position.strategy,
    direction: v.position.direction,
    size: v.position.size,
    entryPrice: v.position.entryPrice,
    price: v.price,
    stopLevel: v.position.stopLevel,
    pnlPoints: v.pnlPoints === undefined ? undefined : round8(v.pnlPoints),
    pnlAmount: v.pnlAmount === undefined ? undefined : round8(v.pnlAmount),
  }));
}

export interface TickSummary {
  ticks: number;
  firstTick: number | undefined;
  lastTick: number | undefined;
  ignored: number;
  skipped: ReadStats['skipped'];
  firstSkipped: ReadStats['firstSkipped'];
}
