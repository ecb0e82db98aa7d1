import type { AmendStopAction, CloseAction, EngineEvent, OpenAction } from '../domain/events.js';
import type { Tick } from '../domain/types.js';

export type BrokerAction = OpenAction | AmendStopAction | CloseAction;

/** Events a broker reports back: fills, amends, rejections. */
export type BrokerEvent = Exclude<EngineEvent, { type: 'tick' } | { type: 'clock' }>;

export type BrokerEventHandler = (event: BrokerEvent) => void;

/**
 * What the run loop needs from a broker. The simulated broker answers synchronously (events are
 * delivered to the handler before `submit`/`onTick` return); a live broker answers later, from
 * its deal confirmations and stream. Either way events arrive through the handler only.
 */
export interface Broker {
  setEventHandler(handler: BrokerEventHandler): void;
  /** Sees every tick before the engine does: the simulated broker fills stops and limits here. */
  onTick(tick: Tick): void;
  submit(action: BrokerAction): void;
  /** Resolves once every request in flight has settled (graceful shutdown). */
  drain(): Promise<void>;
}
