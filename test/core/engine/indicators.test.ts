import { describe, expect, it } from 'vitest';
import { Atr } from '../../../src/core/engine/indicators/atr.js';
import { parseTimeframe } from '../../../src/core/config/units.js';
import { CandleBuilder } from '../../../src/core/engine/indicators/candles.js';
import { Ema } from '../../../src/core/engine/indicators/ema.js';

describe('candles (SPEC §4.3, §9)', () => {
  it('aligns buckets to the epoch, closes a candle on the first tick of a later bucket, skips empty buckets', () => {
    const b = new CandleBuilder(60_000);
    expect(b.update(30_000, 10)).toBeUndefined();
    expect(b.update(59_999, 12)).toBeUndefined();
    expect(b.update(60_000, 11), 'first tick of the next minute closes the first').toEqual({
      start: 0,
      open: 10,
      high: 12,
      low: 10,
      close: 12,
    });
    expect(b.update(200_000, 9), 'a gap: no candle for the empty minute').toEqual({
      start: 60_000,
      open: 11,
      high: 11,
      low: 11,
      close: 11,
    });
  });

  it.each([
    ['30s', 30_000],
    ['1m', 60_000],
    ['4h', 14_400_000],
    ['1d', 86_400_000],
    ['0m', undefined],
    ['1w', undefined],
  ])('parseTimeframe(%s) = %s', (text, ms) => expect(parseTimeframe(text)).toBe(ms));
});

describe("Wilder's ATR", () => {
  it('first value is the mean of the first `period` true ranges; the first TR is high − low; then Wilder smoothing', () => {
    const atr = new Atr(3);
    expect(atr.push({ start: 0, open: 10, high: 12, low: 10, close: 11 })).toBeUndefined(); // TR 2
    expect(atr.push({ start: 1, open: 11, high: 14, low: 11, close: 13 })).toBeUndefined(); // TR 3
    expect(atr.push({ start: 2, open: 13, high: 13, low: 9, close: 10 })).toBe(3); // TR 4 → (2+3+4)/3
    // TR = max(16−14, |16−10|, |14−10|) = 6 → (3·2 + 6)/3 = 4
    expect(atr.push({ start: 3, open: 14, high: 16, low: 14, close: 15 })).toBe(4);
  });
});

describe('EMA', () => {
  it('is seeded with the simple mean of the first n values, then alpha = 2/(n+1)', () => {
    const ema = new Ema(3);
    expect(ema.push(1)).toBeUndefined();
    expect(ema.push(2)).toBeUndefined();
    expect(ema.push(3)).toBe(2);
    expect(ema.push(6)).toBe(4); // 2 + 0.5 × (6 − 2)
  });
});
