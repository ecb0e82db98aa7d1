import type { LadderConfig } from '../../domain/config.js';
import type { StopReason } from '../../domain/types.js';
import { cleanSize, floorToStep } from '../numeric.js';
import { favourableIn, type PositionState } from '../position.js';
import type { RuleMarket } from '../rule-market.js';

/** Index of the rung with the highest `at` that closes: it takes whatever is left (SPEC §9). */
export function lastClosingRung(cfg: LadderConfig): number {
  for (let i = cfg.rungs.length - 1; i >= 0; i--) if ((cfg.rungs[i]?.close ?? 0) > 0) return i;
  return -1;
}

/** What fireNextRung returns when no rung is due (sizes are never negative). */
export const NO_RUNG = -1;

/**
 * Fires the next rung if the r-multiple reached its `at` (SPEC §4.4): returns the size to close
 * (0 for a rung that closes nothing, or whose size rounds to 0), or NO_RUNG when no rung is due.
 * The caller loops, so every rung crossed on one tick fires, in order. (A number, never
 * undefined, so that V8 keeps it an unboxed double: this runs per open position per tick.)
 */
export function fireNextRung(p: PositionState, m: RuleMarket, cfg: LadderConfig): number {
  const rung = cfg.rungs[p.ladderNext];
  if (rung === undefined || p.risk <= 0) return NO_RUNG;
  if (p.sign * (favourableIn(p, m) - p.entryPrice) < rung.at * p.risk - m.eps) return NO_RUNG;
  const index = p.ladderNext++;
  // Every fired rung proposes entry ± lock × R from then on (SPEC §4.4), and the tightest wins
  // (§3 step 2.6): the highest lock so far, not the last one (a later rung may lock less).
  if (p.ladderLock === undefined || rung.lock > p.ladderLock) p.ladderLock = rung.lock;
  const lotStep = m.lotStep;
  const left = cleanSize(p.size - p.pendingClose, lotStep);
  if (!(rung.close !== undefined && rung.close > 0) || left <= 0) return 0;
  if (index === m.lastClosingRung) return left;
  return Math.min(floorToStep(rung.close * p.originalSize, lotStep), left);
}

/** The stop the fired rungs lock in: entry ± lock × R; NaN (no proposal) before the first rung. */
export function ladderProposal(p: PositionState): number {
  return p.ladderLock === undefined || p.risk <= 0 ? Number.NaN : p.entryPrice + p.sign * p.ladderLock * p.risk;
}

/** A ladder stop at entry is breakeven (SPEC §9 "Ties"). */
export function ladderReason(p: PositionState, level: number, eps: number): StopReason {
  return Math.abs(level - p.entryPrice) <= eps ? 'BREAKEVEN_STOP' : 'LADDER_STOP';
}
