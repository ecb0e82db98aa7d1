import type { VirtualStopConfig } from '../../domain/config.js';
import { POINT_EPSILON } from '../numeric.js';
import { favourableIn, type PositionState } from '../position.js';
import type { RuleMarket } from '../rule-market.js';

/**
 * Virtual stop (SPEC §4.2, §9): a level tighter than the broker allows, watched by the engine.
 * It applies to a position whose own stop distance (before widening) is ≤ scalpMaxStop, or to
 * every position when scalpMaxStop is unset.
 */
export function virtualStopApplies(cfg: VirtualStopConfig | undefined, stopPoints: number | undefined): boolean {
  if (cfg === undefined) return false;
  if (cfg.scalpMaxStop === undefined) return true;
  return stopPoints !== undefined && stopPoints <= cfg.scalpMaxStop + POINT_EPSILON;
}

/** Breach: BUY bid ≤ level, SELL ask ≥ level (the market object, not doubles: see RuleMarket). */
export function virtualBreached(p: PositionState, m: RuleMarket): boolean {
  return p.virtualLevel !== undefined && p.sign * (favourableIn(p, m) - p.virtualLevel) <= m.eps;
}

/** A rejected virtual-stop close is retried no sooner than cooldownMs after the attempt (`now`: the tick). */
export function virtualCoolingDown(p: PositionState, now: { readonly time: number }, cfg: VirtualStopConfig): boolean {
  return p.virtualRejectedAt !== undefined && now.time - p.virtualRejectedAt < cfg.cooldownMs;
}
