import type { TrailingConfig } from '../../domain/config.js';
import { POINT_EPSILON } from '../numeric.js';
import type { PositionState } from '../position.js';

/**
 * Trailing stop (SPEC §4.1): active for good once profit points ≥ activateAt; proposes best
 * favourable ∓ distance. Returns true when this call activated it (a lifecycle event).
 */
export function activateTrailing(p: PositionState, fav: number, cfg: TrailingConfig, pointSize: number): boolean {
  if (p.trailingActive) return false;
  const profitPoints = (p.sign * (fav - p.entryPrice)) / pointSize;
  if (profitPoints < cfg.activateAt - POINT_EPSILON) return false;
  p.trailingActive = true;
  return true;
}

export function trailingProposal(p: PositionState, cfg: TrailingConfig, pointSize: number): number | undefined {
  return p.trailingActive ? p.best - p.sign * cfg.distance * pointSize : undefined;
}
