import { describe, expect, it } from 'vitest';
import { StreamTickCheck } from '../../../src/core/services/stream-ticks.js';

const DAX = 'IX.D.DAX.DAILY.IP';
const FTSE = 'IX.D.FTSE.DAILY.IP';

describe('StreamTickCheck: the tick files’ value checks on stream ticks (SPEC §6.1, §9)', () => {
  it.each([
    { why: 'bid = ask is accepted', bid: 100, ask: 100, kind: undefined },
    { why: 'bid above ask is crossed', bid: 101, ask: 100, kind: 'crossed' },
    { why: 'a zero bid is non-positive', bid: 0, ask: 1, kind: 'nonPositive' },
    { why: 'a negative ask is non-positive (before crossed)', bid: 1, ask: -1, kind: 'nonPositive' },
    { why: 'NaN is non-positive', bid: Number.NaN, ask: 1, kind: 'nonPositive' },
  ])('$why', ({ bid, ask, kind }) => {
    const check = new StreamTickCheck();
    expect(check.check({ time: 1, market: DAX, bid, ask })?.kind).toBe(kind);
  });

  it('order is per market, against its last accepted tick; an equal time is in order', () => {
    const check = new StreamTickCheck();
    const kinds = [
      { time: 2000, market: DAX },
      { time: 1000, market: FTSE }, // another market's clock
      { time: 2000, market: DAX }, // equal: accepted
      { time: 1999, market: DAX }, // earlier: skipped
      { time: 3000, market: DAX, bid: 0 }, // skipped, so it does not become the last tick
      { time: 2500, market: DAX },
    ].map((t) => check.check({ bid: 1, ask: 2, ...t })?.kind);
    expect(kinds).toEqual([undefined, undefined, undefined, 'outOfOrder', 'nonPositive', undefined]);
    expect(check.skipped).toEqual({ malformed: 0, crossed: 0, nonPositive: 1, outOfOrder: 1 });
    expect(check.skippedTotal).toBe(2);
  });
});
