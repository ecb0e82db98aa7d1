import { describe, expect, it } from 'vitest';
import { OUT_OF_ORDER_RUN_LIMIT, StreamTickCheck } from '../../../src/core/services/stream-ticks.js';

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

  it(`live never goes blind: after ${OUT_OF_ORDER_RUN_LIMIT} out-of-order ticks in a row the stray time is dropped and ticks are taken again`, () => {
    const resumed: string[] = [];
    const check = new StreamTickCheck((market, message) => resumed.push(`${market}: ${message}`));
    const taken = (time: number) => check.check({ time, market: DAX, bid: 1, ask: 2 }) === undefined;
    expect(taken(1000)).toBe(true);
    expect(taken(3_600_000), 'a time an hour ahead (a glitch) is taken: nothing tells it yet').toBe(true);
    const run = Array.from({ length: OUT_OF_ORDER_RUN_LIMIT }, (_, i) => taken(2000 + i * 1000));
    expect(
      run.every((t) => !t),
      'the next ticks are earlier: skipped, as a file would',
    ).toBe(true);
    expect(resumed).toEqual([]);
    expect(taken(20_000), 'one more: the stray time is dropped').toBe(true);
    expect(resumed).toEqual([
      `${DAX}: ${OUT_OF_ORDER_RUN_LIMIT} ticks in a row were earlier than the one at 1970-01-01T01:00:00.000Z: taking that time for a glitch, ticks are taken again from 1970-01-01T00:00:20.000Z`,
    ]);
    expect(taken(21_000)).toBe(true);
    expect(check.skipped.outOfOrder).toBe(OUT_OF_ORDER_RUN_LIMIT);
  });

  it('a good tick ends a run of out-of-order ones: a run must be unbroken to drop a time', () => {
    const check = new StreamTickCheck();
    const taken = (time: number) => check.check({ time, market: DAX, bid: 1, ask: 2 }) === undefined;
    taken(10_000);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < OUT_OF_ORDER_RUN_LIMIT; i++) expect(taken(5000)).toBe(false);
      expect(taken(10_000 + round)).toBe(true); // in order again
    }
    expect(check.skipped.outOfOrder).toBe(3 * OUT_OF_ORDER_RUN_LIMIT);
  });
});
