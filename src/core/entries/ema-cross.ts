import { Ema } from '../engine/indicators/ema.js';
import { objectArray } from '../engine/object-array.js';
import type { EntryIntent, EntryStrategy } from './types.js';

/**
 * EMA cross on candle closes (SPEC §5): fast crossing above slow (previous fast ≤ previous slow,
 * now fast > slow) is a BUY, below a SELL. One position per market: an opposite signal exits the
 * open one (SIGNAL_EXIT) and opens the new direction on the same tick.
 */
export function emaCrossEntry(params: { timeframeMs: number; fast: number; slow: number }): EntryStrategy {
  const fast = new Ema(params.fast);
  const slow = new Ema(params.slow);
  let prevFast: number | undefined;
  let prevSlow: number | undefined;
  return {
    reason: 'EMA_CROSS',
    timeframeMs: params.timeframeMs,
    onTick(_tick, candle, ctx) {
      if (candle === undefined) return undefined;
      const f = fast.push(candle.close);
      const s = slow.push(candle.close);
      const pf = prevFast;
      const ps = prevSlow;
      prevFast = f;
      prevSlow = s;
      if (f === undefined || s === undefined || pf === undefined || ps === undefined) return undefined;
      const direction = pf <= ps && f > s ? 'BUY' : pf >= ps && f < s ? 'SELL' : undefined;
      if (direction === undefined) return undefined;
      const intents = objectArray<EntryIntent>();
      for (const p of ctx.positions) {
        if (p.direction === direction) return undefined; // already positioned this way
        intents.push({ kind: 'exit', dealId: p.dealId });
      }
      intents.push({ kind: 'open', direction });
      return intents;
    },
  };
}
