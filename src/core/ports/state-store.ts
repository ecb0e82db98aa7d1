import type { PositionSnapshot } from '../engine/position.js';
import type { GuardState } from '../engine/rules/strategy-guard.js';

/** One market's saved state (SPEC §6.3). */
export interface MarketState {
  version: 1;
  market: string;
  positions: PositionSnapshot[];
}

export interface StrategiesState {
  version: 1;
  guards: Record<string, GuardState>;
  /**
   * Per market, the time of the last tick its entry strategy saw: signal rows up to it were
   * executed or dropped already and are not executed again after a restart.
   */
  entriesSeenUntil?: Record<string, number> | undefined;
  /**
   * The journal's data rows when this was written: the guards' realised P&L holds every close
   * among them. A close row beyond them was written by a run stopped before it saved the guards;
   * start-up adds its P&L. Absent (written before this existed, or by `state clear`): nothing added.
   */
  journalRows?: number | undefined;
  /**
   * When this was written (epoch ms, the process's clock). An open a run sent after it was not
   * confirmed before that run stopped, or it would have been written again: start-up looks for
   * such opens in the broker's history from this time on (less the clock skew it allows).
   */
  savedAt?: number | undefined;
}

export interface StateStore {
  readMarket(market: string): MarketState | undefined;
  /** Writes atomically; an empty position list deletes the file. */
  writeMarket(state: MarketState): void;
  listMarkets(): string[];
  deleteMarket(market: string): void;
  readStrategies(): StrategiesState | undefined;
  writeStrategies(state: StrategiesState): void;
}
