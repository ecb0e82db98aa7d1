import type { GuardConfig } from '../../domain/config.js';

export type GuardTrip = 'STRATEGY_DRAWDOWN' | 'STRATEGY_TRAIL';

/** What the guard keeps per strategy (persisted live, SPEC §4.6). */
export interface GuardState {
  realised: number;
  peak: number;
  stopped: GuardTrip | undefined;
}

const MONEY_EPSILON = 1e-9;

/**
 * Strategy guard (SPEC §4.6, §9): the peak starts at 0; drawdown is tested before trail.
 * Returns the trip reason when this evaluation stops the strategy.
 */
export function evaluateGuard(state: GuardState, cfg: GuardConfig, mtm: number): GuardTrip | undefined {
  if (state.stopped !== undefined) return undefined;
  if (mtm > state.peak) state.peak = mtm;
  if (cfg.maxDrawdown !== undefined && mtm <= cfg.maxDrawdown + MONEY_EPSILON) {
    state.stopped = 'STRATEGY_DRAWDOWN';
  } else if (
    cfg.trailFraction !== undefined &&
    state.peak > cfg.minPeak + MONEY_EPSILON &&
    mtm <= state.peak * (1 - cfg.trailFraction) + MONEY_EPSILON
  ) {
    state.stopped = 'STRATEGY_TRAIL';
  }
  return state.stopped;
}
