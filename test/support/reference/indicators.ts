// Candles, ATR and EMA (SPEC §4.3, §5, §9 "Candles before rules").

export interface Candle {
  bucket: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

/**
 * Candles on mid price, aligned to UTC boundaries of the timeframe (buckets aligned to the Unix
 * epoch, SPEC §9); a candle closes on the first tick of the next bucket; a bucket without ticks
 * makes no candle.
 */
export class CandleSeries {
  readonly closed: Candle[] = [];
  private current: Candle | undefined;

  constructor(readonly timeframeMs: number) {}

  /** Feeds one tick's mid price; returns the candle this tick closed, if any. */
  update(time: number, mid: number): Candle | undefined {
    const bucket = Math.floor(time / this.timeframeMs);
    let closedNow: Candle | undefined;
    if (this.current !== undefined && this.current.bucket !== bucket) {
      closedNow = this.current;
      this.closed.push(closedNow);
      this.current = undefined;
    }
    if (this.current === undefined) {
      this.current = { bucket, open: mid, high: mid, low: mid, close: mid };
    } else {
      this.current.high = Math.max(this.current.high, mid);
      this.current.low = Math.min(this.current.low, mid);
      this.current.close = mid;
    }
    return closedNow;
  }
}

/**
 * Wilder's average true range over `period` closed candles (SPEC §4.3): the first value is the
 * simple mean of the first `period` true ranges; the first candle's true range is high − low (§9).
 */
export class Atr {
  value: number | undefined;
  private readonly firstRanges: number[] = [];
  private previousClose: number | undefined;

  constructor(readonly period: number) {}

  onCandle(c: Candle): void {
    const tr =
      this.previousClose === undefined
        ? c.high - c.low
        : Math.max(c.high - c.low, Math.abs(c.high - this.previousClose), Math.abs(c.low - this.previousClose));
    this.previousClose = c.close;
    if (this.value === undefined) {
      this.firstRanges.push(tr);
      if (this.firstRanges.length === this.period) {
        this.value = this.firstRanges.reduce((a, b) => a + b, 0) / this.period;
      }
    } else {
      this.value = (this.value * (this.period - 1) + tr) / this.period;
    }
  }
}

/** EMA with alpha = 2/(n+1), seeded with the simple mean of the first n closes (SPEC §5). */
export class Ema {
  value: number | undefined;
  private readonly seed: number[] = [];

  constructor(readonly n: number) {}

  onClose(close: number): void {
    if (this.value === undefined) {
      this.seed.push(close);
      if (this.seed.length === this.n) this.value = this.seed.reduce((a, b) => a + b, 0) / this.n;
      return;
    }
    const alpha = 2 / (this.n + 1);
    this.value = alpha * close + (1 - alpha) * this.value;
  }
}
