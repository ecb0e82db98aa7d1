import type { AtrStopConfig } from '../../domain/config.js';
import type { PositionState } from '../position.js';
import type { RuleMarket } from '../rule-market.js';

/** Initial stop distance in points from ATR (SPEC §4.3); undefined before ATR exists. */
export function atrStopPoints(cfg: AtrStopConfig, atr: number | undefined, pointSize: number): number | undefined {
  return atr === undefined ? undefined : (cfg.multiplier * atr) / pointSize;
}

/** Chandelier trail: best favourable ∓ multiplier × ATR when `trail` is on; NaN (no proposal) otherwise or before ATR exists. */
export function atrTrailProposal(p: PositionState, m: RuleMarket, cfg: AtrStopConfig): number {
  // A NaN ATR gives a NaN level: no proposal before ATR exists.
  return cfg.trail ? p.best - p.sign * cfg.multiplier * m.atrLevel : Number.NaN;
}
