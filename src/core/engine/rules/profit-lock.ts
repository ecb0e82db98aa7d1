import type { ProfitLockConfig } from '../../domain/config.js';
import { POINT_EPSILON } from '../numeric.js';
import type { PositionState } from '../position.js';

/** Profit lock (SPEC §4.5): while peak profit points > minProfit, entry ± lockFraction × peak profit. */
export function profitLockProposal(p: PositionState, cfg: ProfitLockConfig, pointSize: number): number | undefined {
  const peak = p.sign * (p.best - p.entryPrice);
  if (peak / pointSize <= cfg.minProfit + POINT_EPSILON) return undefined;
  return p.entryPrice + p.sign * cfg.lockFraction * peak;
}
