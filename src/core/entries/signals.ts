import type { SignalRow } from '../domain/config.js';
import type { EntryIntent, EntryStrategy } from './types.js';

/**
 * Signals from a CSV (SPEC §5): each row enters on the first tick of its market at or after its
 * time; positions may stack. Rows must be sorted by time (the loader does it).
 */
export function signalsEntry(rows: readonly SignalRow[]): EntryStrategy {
  let next = 0;
  return {
    reason: 'SIGNAL',
    onTick(tick) {
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
