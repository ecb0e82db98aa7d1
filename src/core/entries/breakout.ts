import type { Candle } from '../domain/types.js';
import { POINT_EPSILON } from '../engine/numeric.js';
import type { EntryStrategy } from './types.js';

/**
 * Breakout (SPEC §5): when a candle closes above the highest high of the `period` candles before
 * it, BUY; below their lowest low, SELL; only when the market is flat. Strictly above and below,
 * as on exact decimal values (SPEC §9): a close equal to the high in decimals (mid prices that
 * differ only in binary) is no breakout.
 */
export function breakoutEntry(params: { timeframeMs: number; period: number; pointSize: number }): EntryStrategy {
  const window: Candle[] = [];
  const eps = POINT_EPSILON * params.pointSize;
  return {
    reason: 'BREAKOUT',
    timeframeMs: params.timeframeMs,
    onTick(_tick, candle, ctx) {
      if (candle === undefined) return undefined;
      let direction: 'BUY' | 'SELL' | undefined;
      if (window.length === params.period) {
        let high = -Infinity;
        let low = Infinity;
        for (const c of window) {
          if (c.high > high) high = c.high;
          if (c.low < low) low = c.low;
        }
        if (candle.close - high > eps) direction = 'BUY';
        else if (low - candle.close > eps) direction = 'SELL';
        window.shift();
      }
      window.push(candle);
      if (direction === undefined || ctx.positions.length > 0) return undefined;
      return [{ kind: 'open', direction }];
    },
  };
}
