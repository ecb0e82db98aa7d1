import type { TrailingConfig } from '../../domain/config.js';
import { favourableIn, type PositionState } from '../position.js';
import type { RuleMarket } from '../rule-market.js';

/**
 * Trailing stop (SPEC §4.1): active for good once profit points ≥ activateAt; proposes best
 * favourable ∓ distance. Returns true when this call activated it (a lifecycle event).
 */
export function activateTrailing(p: PositionState, m: RuleMarket, cfg: TrailingConfig): boolean {
  if (p.trailingActive) return false;
  const profitPoints = (p.sign * (favourableIn(p, m) - p.entryPrice)) / m.ps;
  if (profitPoints < cfg.activateAt - m.eps / m.ps) return false;
  p.trailingActive = true;
  return true;
}

/** The trailing level, or NaN (no proposal) while the rule is not active. */
export function trailingProposal(p: PositionState, m: RuleMarket, cfg: TrailingConfig): number {
  return p.trailingActive ? p.best - p.sign * cfg.distance * m.ps : Number.NaN;
}
