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

/**
 * How far a position's ladder had got, from what its rungs closed (the journal's PARTIAL rows with
 * reason PROFIT_TARGET): the rungs in order, each with the size fireNextRung gives it, as long as
 * their sizes add up within `closed`. A rung that closes nothing counts only before one that
 * closed. For a position rebuilt from its ENTRY row after a crash (no state file): without it the
 * ladder would start again at its first rung and close a part already taken a second time.
 */
export function ladderProgress(
  cfg: LadderConfig,
  originalSize: number,
  lotStep: number,
  closed: number,
): { ladderNext: number; ladderLock: number | undefined } {
  const last = lastClosingRung(cfg);
  let ladderNext = 0;
  let taken = 0;
  for (let i = 0; i < cfg.rungs.length; i++) {
    const rung = cfg.rungs[i]!;
    if (!(rung.close !== undefined && rung.close > 0)) continue;
    const left = cleanSize(originalSize - taken, lotStep);
    const size = i === last ? left : Math.min(floorToStep(rung.close * originalSize, lotStep), left);
    if (size <= 0) continue;
    if (taken + size > closed + 1e-9 * Math.max(1, closed)) break;
    taken = cleanSize(taken + size, lotStep);
    ladderNext = i + 1;
  }
  let ladderLock: number | undefined;
  for (let i = 0; i < ladderNext; i++) {
    const lock = cfg.rungs[i]!.lock;
    if (ladderLock === undefined || lock > ladderLock) ladderLock = lock;
  }
  return { ladderNext, ladderLock };
}
