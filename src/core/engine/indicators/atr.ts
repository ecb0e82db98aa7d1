import type { Candle } from '../../domain/types.js';

/**
 * Wilder's average true range (SPEC §4.3, §9): the first candle's true range is high − low; the
 * first ATR is the simple mean of the first `period` true ranges; then atr = (atr·(n−1) + tr) / n.
 */
export class Atr {
  private prevClose = Number.NaN;
  private count = 0;
  private sum = 0;
  private current: number | undefined;

  constructor(readonly period: number) {}

  get value(): number | undefined {
    return this.current;
  }

  push(candle: Candle): number | undefined {
    const range = candle.high - candle.low;
    const tr = Number.isNaN(this.prevClose)
      ? range
      : Math.max(range, Math.abs(candle.high - this.prevClose), Math.abs(candle.low - this.prevClose));
    this.prevClose = candle.close;
    this.count++;
    if (this.count < this.period) {
      this.sum += tr;
    } else if (this.count === this.period) {
      this.sum += tr;
      this.current = this.sum / this.period;
    } else {
      this.current = ((this.current as number) * (this.period - 1) + tr) / this.period;
    }
    return this.current;
  }
}
