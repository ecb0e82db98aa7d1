/** Core vocabulary of SPEC.md §1. Plain data only: no behaviour, no I/O. */

export type Direction = 'BUY' | 'SELL';

/** One price update. `time` is epoch milliseconds UTC. Consumers must not keep the object: hot loops reuse it. */
export interface Tick {
  time: number;
  market: string;
  bid: number;
  ask: number;
}

/** The reason a broker-side stop hit is reported with: the rule that last set the stop (SPEC §4.8). */
export const STOP_REASONS = [
  'STOP',
  'TRAILING_STOP',
  'ATR_STOP',
  'BREAKEVEN_STOP',
  'LADDER_STOP',
  'PROFIT_LOCK',
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** Why a position (or part of it) was closed — a stop's reasons, SPEC §4.8's others and the engine's own exits. */
export const EXIT_REASONS = [
  ...STOP_REASONS,
  'VIRTUAL_STOP',
  'PROFIT_TARGET',
  'TAKE_PROFIT',
  'END_OF_DAY',
  'TIME_EXIT',
  'STRATEGY_DRAWDOWN',
  'STRATEGY_TRAIL',
  'MANUAL',
  'CLOSED_EXTERNALLY',
  'SIGNAL_EXIT',
] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

/** Reason written on ENTRY rows (SPEC §9 "Journal"). */
export type EntryReason = 'SIGNAL' | 'EMA_CROSS' | 'BREAKOUT' | 'MODULE' | 'ADOPTED';

export type JournalAction = 'ENTRY' | 'PARTIAL' | 'EXIT';

/** One row of trade_history.csv (SPEC §6.2), before formatting. Optional numbers are written empty. */
export interface JournalRow {
  time: number;
  market: string;
  dealId: string;
  strategy: string;
  direction: Direction;
  action: JournalAction;
  size: number;
  price: number;
  stopLevel?: number | undefined;
  pnlPoints?: number | undefined;
  pnlAmount?: number | undefined;
  rMultiple?: number | undefined;
  reason: ExitReason | EntryReason;
  heldMs?: number | undefined;
}

/** A closed candle built from mid prices (SPEC §4.3). `start` is the bucket's opening time. */
export interface Candle {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
}
