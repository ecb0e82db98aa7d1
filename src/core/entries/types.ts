import type { Candle, Direction, EntryReason, Tick } from '../domain/types.js';

/** An open position as an entry strategy sees it. */
export interface EntryPositionView {
  readonly dealId: string;
  readonly direction: Direction;
  readonly size: number;
  readonly strategy: string;
}

export interface EntryContext {
  /** Open positions of this market (positions already being closed are left out). */
  readonly positions: readonly EntryPositionView[];
}

export type EntryIntent =
  | {
      kind: 'open';
      direction: Direction;
      size?: number | undefined;
      stopPoints?: number | undefined;
      limitPoints?: number | undefined;
      strategy?: string | undefined;
    }
  | { kind: 'exit'; dealId: string };

/**
 * The interface of every entry strategy, built in or a user's module (SPEC §5). It sees each tick
 * of its market after candles are updated, with the candle that tick closed (on `timeframeMs`),
 * and returns what it wants: opens and exits of its own positions. The engine drops opens while
 * entries are blocked (strategy guard, after `flatAt`).
 */
export interface EntryStrategy {
  readonly reason: EntryReason;
  /** Candle length the strategy wants closed candles of; undefined = no candles. */
  readonly timeframeMs?: number | undefined;
  onTick(tick: Tick, candle: Candle | undefined, ctx: EntryContext): readonly EntryIntent[] | undefined;
}

export const NO_INTENTS: readonly EntryIntent[] = Object.freeze([]);
