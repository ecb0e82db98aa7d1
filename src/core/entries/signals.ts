import type { SignalRow } from '../domain/config.js';
import type { EntryIntent, EntryStrategy } from './types.js';

export interface SignalsLiveOptions {
  /**
   * Live: rows dated before the session started are not executed (a signal from yesterday is not
   * entered late). The session starts at the earlier of this time (the local clock at start-up)
   * and its market's first tick, so recorded ticks replayed through live start it at their own
   * first tick, as a backtest of them does.
   */
  notBefore: number;
  /** Told, at the first tick, how many rows were dated before the session. */
  onDropped?: ((rows: number) => void) | undefined;
}

/**
 * Signals from a CSV (SPEC §5): each row enters on the first tick of its market at or after its
 * time; positions may stack. Rows must be sorted by time (the loader does it).
 */
export function signalsEntry(rows: readonly SignalRow[], live?: SignalsLiveOptions): EntryStrategy {
  let next = 0;
  /** Live, until the session's first tick. */
  let starting = live;
  return {
    reason: 'SIGNAL',
    onTick(tick) {
      if (starting !== undefined) {
        const from = Math.min(starting.notBefore, tick.time);
        while (next < rows.length && (rows[next] as SignalRow).time < from) next++;
        if (next > 0) starting.onDropped?.(next);
        starting = undefined;
      }
      if (next >= rows.length || (rows[next] as SignalRow).time > tick.time) return undefined;
      const due: EntryIntent[] = [];
      while (next < rows.length && (rows[next] as SignalRow).time <= tick.time) {
        const row = rows[next++] as SignalRow;
        due.push({
          kind: 'open',
          direction: row.direction,
          size: row.size,
          stopPoints: row.stopPoints,
          limitPoints: row.limitPoints,
          strategy: row.strategy,
        });
      }
      return due;
    },
  };
}
