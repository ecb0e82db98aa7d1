import type { Direction, EntryReason, StopReason } from '../domain/types.js';

/**
 * Everything the engine knows about one open position. Plain data, so that the lifecycle fields
 * can be saved and restored (SPEC §6.3).
 */
export interface PositionState {
  dealId: string;
  market: string;
  strategy: string;
  /**
   * `strategy` is its market's own (most positions'): its guard is the market's. Set once, so that
   * the per-tick rules compare no strategy names. Not saved: it follows from the configuration.
   */
  ownStrategy: boolean;
  direction: Direction;
  /** +1 for BUY, −1 for SELL: "tighter" and "profit" are sign × (a − b). */
  sign: 1 | -1;
  size: number;
  originalSize: number;
  entryPrice: number;
  entryTime: number;
  entryReason: EntryReason;
  /** Broker-side stop in force (as the engine has set it; reverted if an amend is rejected). */
  stopLevel: number | undefined;
  /** The rule that last set the stop: the reason a broker-side stop hit is reported with. */
  stopReason: StopReason;
  limitLevel: number | undefined;
  /** Initial stop for R: the virtual level when a virtual stop applies, else the initial broker stop. */
  initialStop: number | undefined;
  /** R in price terms; 0 when unknown. */
  risk: number;
  /** Best favourable price since entry (highest bid for BUY, lowest ask for SELL). */
  best: number;
  trailingActive: boolean;
  /** Index of the next ladder rung to fire. */
  ladderNext: number;
  /** `lock` of the last rung fired; undefined before the first. */
  ladderLock: number | undefined;
  virtualLevel: number | undefined;
  /** Tick time of a virtual-stop close the broker rejected (cooldown). */
  virtualRejectedAt: number | undefined;
  /** Size with a close in flight. */
  pendingClose: number;
  /** A close of everything left is in flight: rules leave the position alone. */
  closing: boolean;
}

/** The favourable price at the market's current prices (the hot-path form: see RuleMarket). */
export function favourableIn(p: PositionState, m: { readonly bid: number; readonly ask: number }): number {
  return p.sign > 0 ? m.bid : m.ask;
}

/** What the state file keeps of a position: lifecycle facts only, never the stop level (SPEC §6.3). */
export type PositionSnapshot = Omit<
  PositionState,
  'ownStrategy' | 'sign' | 'stopLevel' | 'limitLevel' | 'virtualRejectedAt' | 'pendingClose' | 'closing'
>;
