import { Ema } from '../engine/indicators/ema.js';
import { POINT_EPSILON } from '../engine/numeric.js';
import { objectArray } from '../engine/object-array.js';
import type { EntryIntent, EntryStrategy } from './types.js';

/**
 * EMA cross on candle closes (SPEC §5): fast crossing above slow (previous fast ≤ previous slow,
 * now fast > slow) is a BUY, below a SELL. One position per market: an opposite signal exits the
 * open one (SIGNAL_EXIT) and opens the new direction on the same tick.
 *
 * The comparisons are made as on exact decimal values (SPEC §9), within 1e-9 of the market's point:
 * two EMAs that are equal in decimals (1.10095 against 1.1009499999999999 in binary) do not cross.
 */
export function emaCrossEntry(params: {
  timeframeMs: number;
  fast: number;
  slow: number;
  pointSize: number;
}): EntryStrategy {
  const fast = new Ema(params.fast);
  const slow = new Ema(params.slow);
  const eps = POINT_EPSILON * params.pointSize;
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
      const direction = pf - ps <= eps && f - s > eps ? 'BUY' : ps - pf <= eps && s - f > eps ? 'SELL' : undefined;
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
