/** What flows into the engine (events) and out of it (actions) — SPEC §2. */
import type { Direction, EntryReason, ExitReason, StopReason, Tick } from './types.js';

/** A position the broker reports as opened, either for one of our `open` actions or found on the account. */
export interface PositionOpenedEvent {
  type: 'positionOpened';
  time: number;
  /** The `ref` of the `open` action this fills; absent for a position opened elsewhere (adopted). */
  ref?: string | undefined;
  dealId: string;
  market: string;
  direction: Direction;
  size: number;
  level: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  /** Strategy for adopted positions; our own opens keep the strategy of the action. */
  strategy?: string | undefined;
  /**
   * An open of trailguard's own that no engine holds a `ref` for: an earlier run sent it and was
   * stopped before its confirmation (found at start-up by its deal reference). What its action
   * carried, so that it is managed as it would have been.
   */
  own?: { strategy: string; reason: EntryReason; virtual: boolean; stopReason: StopReason } | undefined;
}

/** The broker confirms new levels (our amend, or one made on the platform). */
export interface PositionAmendedEvent {
  type: 'positionAmended';
  time: number;
  ref?: string | undefined;
  dealId: string;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
}

/**
 * How a close came about. `action`: one of our `close` actions (carries its ref);
 * `stop`/`limit`: a broker-side order; `external`: closed on the platform or found closed;
 * `manual`: the `close` command.
 */
export type CloseCause = 'action' | 'stop' | 'limit' | 'external' | 'manual';

export interface PositionClosedEvent {
  type: 'positionClosed';
  time: number;
  ref?: string | undefined;
  dealId: string;
  /** Size closed by this fill; the rest stays open. */
  size: number;
  level: number;
  cause: CloseCause;
}

export interface ActionRejectedEvent {
  type: 'actionRejected';
  time: number;
  ref: string;
  reason: string;
}

export interface ClockEvent {
  type: 'clock';
  time: number;
}

export interface TickEvent {
  type: 'tick';
  tick: Tick;
}

export type EngineEvent =
  TickEvent | PositionOpenedEvent | PositionAmendedEvent | PositionClosedEvent | ActionRejectedEvent | ClockEvent;

export interface OpenAction {
  type: 'open';
  /** Engine-made reference; the broker echoes it in positionOpened / actionRejected. */
  ref: string;
  market: string;
  direction: Direction;
  size: number;
  /** The price the engine expects to fill at (ask for BUY, bid for SELL); levels were computed from it. */
  expectedLevel: number;
  stopLevel?: number | undefined;
  limitLevel?: number | undefined;
  /** Distances in points, for brokers that take distances rather than levels. */
  stopDistance?: number | undefined;
  limitDistance?: number | undefined;
  strategy: string;
  reason: EntryReason;
  /** The virtual stop applies (SPEC §3.1): stopLevel is the broker's safety stop. */
  virtual: boolean;
  /** The reason of a hit of the initial stop (SPEC §9): ATR_STOP when ATR-based, else STOP. */
  stopReason: StopReason;
}

export interface AmendStopAction {
  type: 'amendStop';
  ref: string;
  dealId: string;
  market: string;
  stopLevel: number;
  /** Amends carry both levels (IG replaces both). */
  limitLevel?: number | undefined;
  reason: ExitReason;
}

export interface CloseAction {
  type: 'close';
  ref: string;
  dealId: string;
  market: string;
  direction: Direction;
  size: number;
  reason: ExitReason;
}

export interface AlertAction {
  type: 'alert';
  ref: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  data: Record<string, unknown>;
}

export type Action = OpenAction | AmendStopAction | CloseAction | AlertAction;
