import type { LadderConfig } from '../../domain/config.js';
import type { StopReason } from '../../domain/types.js';
import { cleanSize, floorToStep } from '../numeric.js';
import type { PositionState } from '../position.js';

/** Index of the rung with the highest `at` that closes: it takes whatever is left (SPEC §9). */
export function lastClosingRung(cfg: LadderConfig): number {
  for (let i = cfg.rungs.length - 1; i >= 0; i--) if ((cfg.rungs[i]?.close ?? 0) > 0) return i;
  return -1;
}

/**
 * Fires the next rung if the r-multiple reached its `at` (SPEC §4.4): returns the size to close
 * (0 for a rung that closes nothing, or whose size rounds to 0), or undefined when no rung is due.
 * The caller loops, so every rung crossed on one tick fires, in order.
 */
export function fireNextRung(
  p: PositionState,
  fav: number,
  cfg: LadderConfig,
  lastClosing: number,
  lotStep: number,
  eps: number,
): number | undefined {
  const rung = cfg.rungs[p.ladderNext];
  if (rung === undefined || p.risk <= 0) return undefined;
  if (p.sign * (fav - p.entryPrice) < rung.at * p.risk - eps) return undefined;
  const index = p.ladderNext++;
  p.ladderLock = rung.lock;
  const left = cleanSize(p.size - p.pendingClose, lotStep);
  if (!(rung.close !== undefined && rung.close > 0) || left <= 0) return 0;
  if (index === lastClosing) return left;
  return Math.min(floorToStep(rung.close * p.originalSize, lotStep), left);
}

/** The stop the fired rungs lock in: entry ± lock × R. */
export function ladderProposal(p: PositionState): number | undefined {
  return p.ladderLock === undefined || p.risk <= 0 ? undefined : p.entryPrice + p.sign * p.ladderLock * p.risk;
}

/** A ladder stop at entry is breakeven (SPEC §9 "Ties"). */
export function ladderReason(p: PositionState, level: number, eps: number): StopReason {
  return Math.abs(level - p.entryPrice) <= eps ? 'BREAKEVEN_STOP' : 'LADDER_STOP';
}
