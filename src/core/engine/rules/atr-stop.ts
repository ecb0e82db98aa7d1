import type { AtrStopConfig } from '../../domain/config.js';
import type { PositionState } from '../position.js';

/** Initial stop distance in points from ATR (SPEC §4.3); undefined before ATR exists. */
export function atrStopPoints(cfg: AtrStopConfig, atr: number | undefined, pointSize: number): number | undefined {
  return atr === undefined ? undefined : (cfg.multiplier * atr) / pointSize;
}

/** Chandelier trail: best favourable ∓ multiplier × ATR, when `trail` is on. */
export function atrTrailProposal(p: PositionState, cfg: AtrStopConfig, atr: number | undefined): number | undefined {
  return cfg.trail && atr !== undefined ? p.best - p.sign * cfg.multiplier * atr : undefined;
}
