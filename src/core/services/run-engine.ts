import type { Action, AlertAction } from '../domain/events.js';
import type { JournalRow, Tick } from '../domain/types.js';
import { Engine, type EngineSetup, type EngineSink } from '../engine/engine.js';
import type { Broker, BrokerAction, BrokerEvent } from '../ports/broker.js';
import type { Journal } from '../ports/journal.js';

export interface RunEngineOptions {
  setup: EngineSetup;
  broker: Broker;
  journal: Journal;
  /** Also sees every journal row (summaries, status lines). */
  onJournalRow?: ((row: JournalRow) => void) | undefined;
  onAlert?: ((alert: AlertAction) => void) | undefined;
  /** A lifecycle change to persist (live); undefined market = strategy-level state. */
  onLifecycle?: ((market: string | undefined) => void) | undefined;
  /** Sees every action before the broker does (dry-run logging, tests). */
  onAction?: ((action: BrokerAction) => void) | undefined;
  /** Called once the actions of a tick or event have been handed to the broker (live persists state here). */
  onSettled?: (() => void) | undefined;
  /** Data rows the journal held before this run (live: JournalIndex.rows); see journalRows. */
  journalRowsBefore?: number | undefined;
}

/**
 * The one loop of both modes (STYLE habit 5): ticks go to the broker (which fills its own stops
 * and limits) and then to the engine; the engine's actions go to the broker; the broker's events
 * go back to the engine. Backtest and live differ only in the broker and where ticks come from.
 */
export class EngineRunner implements EngineSink {
  readonly engine: Engine;
  /**
   * Actions waiting for the broker: `queue[0, queued)`. The array is never truncated, so its
   * backing store is reused (truncating to 0 frees it, and the next push allocates it again).
   */
  private readonly queue: (BrokerAction | undefined)[] = [];
  private queued = 0;
  private flushing = false;
  /** The journal's data rows: those before this run and every row written since. */
  journalRows: number;

  constructor(private readonly options: RunEngineOptions) {
    this.journalRows = options.journalRowsBefore ?? 0;
    this.engine = new Engine(options.setup, this);
    options.broker.setEventHandler((event) => this.onBrokerEvent(event));
  }

  /** SPEC §3 for one tick. Synchronous: the simulated broker answers before this returns. */
  processTick(tick: Tick): void {
    this.options.broker.onTick(tick);
    this.engine.onTick(tick);
    this.flush();
  }

  onBrokerEvent(event: BrokerEvent): void {
    this.engine.handle(event);
    this.flush();
  }

  /** Time passing without ticks (live time exits). */
  onClock(time: number): void {
    this.engine.handle({ type: 'clock', time });
    this.flush();
  }

  /** Sends what the engine decided outside a tick or an event (the `close` command). */
  settle(): void {
    this.flush();
  }

  action(action: Action): void {
    if (action.type === 'alert') {
      this.options.onAlert?.(action);
      return;
    }
    this.queue[this.queued++] = action;
  }

  journal(row: JournalRow): void {
    this.options.journal.append([row]);
    this.journalRows++;
    this.options.onJournalRow?.(row);
  }

  lifecycle(market: string | undefined): void {
    this.options.onLifecycle?.(market);
  }

  private flush(): void {
    if (this.flushing) return; // events fired by a submit land here; the outer loop sends what they add
    // Most ticks produce no action: skip the queue entirely (setting an array's length is a
    // runtime call, and showed in the backtest's profile).
    if (this.queued > 0) {
      this.flushing = true;
      try {
        for (let i = 0; i < this.queued; i++) {
          const action = this.queue[i] as BrokerAction;
          this.options.onAction?.(action);
          this.options.broker.submit(action);
        }
        this.queue.fill(undefined, 0, this.queued); // keep no action alive past its tick
        this.queued = 0;
      } finally {
        this.flushing = false;
      }
    }
    // A deal is sent before anything is persisted (SPEC §3.2); events without actions (a fill,
    // a confirmation) change state too, so this runs after every tick and event.
    this.options.onSettled?.();
  }
}
