import type { ProfitLockConfig } from '../../domain/config.js';
import type { PositionState } from '../position.js';
import type { RuleMarket } from '../rule-market.js';

/** Profit lock (SPEC §4.5): while peak profit points > minProfit, entry ± lockFraction × peak profit; else NaN (no proposal). */
export function profitLockProposal(p: PositionState, m: RuleMarket, cfg: ProfitLockConfig): number {
  const peak = p.sign * (p.best - p.entryPrice);
  if (peak / m.ps <= cfg.minProfit + m.eps / m.ps) return Number.NaN;
  return p.entryPrice + p.sign * cfg.lockFraction * peak;
}
