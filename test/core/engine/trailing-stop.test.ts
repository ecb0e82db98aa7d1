import { describe, expect, it } from 'vitest';
import { round8 } from '../../../src/core/engine/numeric.js';
import { brief, DAX, eurusd, EURUSD, harness, market, scriptedEntry } from '../../support/engine-harness.js';

describe('trailing stop (SPEC §4.1)', () => {
  // Each row: entry at t=1 (price 100, stop 50 points), then the listed bids (ask = bid);
  // the last column is what the journal must say.
  it.each([
    {
      why: 'BUY: profit exactly activateAt activates; stop follows best − distance; a gap below the stop fills at the bid',
      direction: 'BUY' as const,
      prices: [124.9, 125, 130, 119],
      expected: ['ENTRY BUY 1@100 stop=50 SIGNAL', 'EXIT BUY 1@119 stop=120 TRAILING_STOP pts=19'],
      amends: [115, 120],
    },
    {
      why: 'BUY: 24.9 points never activates, the initial stop stays',
      direction: 'BUY' as const,
      prices: [124.9, 110, 49],
      expected: ['ENTRY BUY 1@100 stop=50 SIGNAL', 'EXIT BUY 1@49 stop=50 STOP pts=-51'],
      amends: [],
    },
    {
      why: 'SELL mirrors BUY: the stop moves down and fills at the ask',
      direction: 'SELL' as const,
      prices: [75.1, 75, 70, 81],
      expected: ['ENTRY SELL 1@100 stop=150 SIGNAL', 'EXIT SELL 1@81 stop=80 TRAILING_STOP pts=19'],
      amends: [85, 80],
    },
    {
      why: 'a pull-back after activation never loosens the stop',
      direction: 'BUY' as const,
      prices: [130, 125, 126, 127, 119.5],
      expected: ['ENTRY BUY 1@100 stop=50 SIGNAL', 'EXIT BUY 1@119.5 stop=120 TRAILING_STOP pts=19.5'],
      amends: [120],
    },
  ])('$why', ({ direction, prices, expected, amends }) => {
    const h = harness({
      markets: [market({ exits: { trailing: { activateAt: 25, distance: 10 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction, stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    prices.forEach((p, i) => h.tick(2 + i, p));
    expect(brief(h.journal.rows)).toEqual(expected);
    expect(
      h.actions.filter((a) => a.type === 'amendStop').map((a) => (a.type === 'amendStop' ? a.stopLevel : 0)),
    ).toEqual(amends);
  });

  it('EURUSD: (1.10253 − 1.10003) / 0.0001 is 25 points, so the rule activates', () => {
    const h = harness({
      markets: [eurusd({ exits: { trailing: { activateAt: 25, distance: 10 } } })],
      entries: { [EURUSD]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(1, 1.10003);
    h.tick(2, 1.10253);
    const amend = h.actions.find((a) => a.type === 'amendStop');
    expect(amend, 'a 25-point profit must activate a 25-point trailing stop').toBeDefined();
    expect(amend?.type === 'amendStop' && amend.stopLevel).toBe(1.10153);
  });

  it('stopStep: an improvement smaller than stopStep points is not sent', () => {
    const h = harness({
      markets: [market({ stopStep: 2, exits: { trailing: { activateAt: 5, distance: 10 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 105); // proposes 95: first move from 50
    h.tick(3, 106); // 96: only 1 point better
    h.tick(4, 107); // 97: 2 points better than 95
    const levels = h.actions.flatMap((a) => (a.type === 'amendStop' ? [a.stopLevel] : []));
    expect(levels).toEqual([95, 97]);
  });

  it('minStopDistance clamps the proposal to bid − minStop', () => {
    const h = harness({
      markets: [market({ minStopDistance: 6, exits: { trailing: { activateAt: 5, distance: 2 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 110); // proposes 108, clamped to 104
    const levels = h.actions.flatMap((a) => (a.type === 'amendStop' ? [a.stopLevel] : []));
    expect(levels).toEqual([104]);
  });

  it('a limit closer than minStopDistance blocks the amend (the broker would refuse both levels)', () => {
    const h = harness({
      markets: [market({ minStopDistance: 6, exits: { trailing: { activateAt: 5, distance: 2 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 50, limitPoints: 14 }]) },
    });
    h.tick(1, 100); // limit 114
    h.tick(2, 109); // limit 5 points away < 6: no amend
    expect(h.actions.filter((a) => a.type === 'amendStop')).toEqual([]);
    h.tick(3, 114); // limit hit: TAKE_PROFIT at 114
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT BUY 1@114 stop=50 TAKE_PROFIT pts=14');
  });

  it('a proposal at or beyond the price closes at market with the rule reason', () => {
    const h = harness({
      markets: [market({ exits: { trailing: { activateAt: 5, distance: 0 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 106); // distance 0: proposal = bid → would trigger at once
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT BUY 1@106 stop=50 TRAILING_STOP pts=6');
  });
});

describe('decimal results at large prices (SPEC §9 "Arithmetic")', () => {
  it('a P&L is the decimal product of its points: 30.2 points × 10 × 1000 is 302000, not 301999.99999997', () => {
    const h = harness({
      markets: [market({ pointSize: 1, decimals: 1, valuePerPoint: 1000, lotStep: 1 })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', size: 10, stopPoints: 50, limitPoints: 30.2 }]) },
    });
    h.tick(1, 38123.5);
    expect(38153.7 - 38123.5).not.toBe(30.2);
    h.tick(2, 38153.7);
    const exit = h.journal.rows.find((r) => r.action === 'EXIT');
    expect(exit).toMatchObject({ price: 38153.7, pnlPoints: 30.2, pnlAmount: 302000, reason: 'TAKE_PROFIT' });
  });

  it('points that are no finite decimal (a point of 0.3) are not rounded before the amount: -1 / 0.3 × 10 × 0.3 is -10', () => {
    const h = harness({
      markets: [market({ pointSize: 0.3, decimals: 1, valuePerPoint: 0.3, lotStep: 1 })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', size: 10, stopPoints: 2 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 99); // through the stop at 99.4: filled at the bid
    const exit = h.journal.rows.find((r) => r.action === 'EXIT');
    expect(exit?.price).toBe(99);
    expect(round8(exit?.pnlAmount ?? Number.NaN)).toBe(-10);
    expect(round8(exit?.pnlPoints ?? Number.NaN)).toBe(-3.33333333);
  });

  it('R is the decimal distance of entry and stop: r = −5.61 / 5.12 is −1.095703125 (−1.09570313), and −1.54 / 0.02 is −77', () => {
    const gold = harness({
      markets: [market({ pointSize: 0.1, decimals: 2, lotStep: 1 })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', size: 1, stopPoints: 51.2 }]) },
    });
    gold.tick(1, 2005.73); // stop 2000.61: R 5.12 (5.120000000000118 in doubles)
    gold.tick(2, 2000.12);
    expect(round8(gold.journal.rows.find((r) => r.action === 'EXIT')?.rMultiple ?? Number.NaN)).toBe(-1.09570313);
    const btc = harness({
      markets: [market({ pointSize: 0.01, decimals: 2, lotStep: 0.1 })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', size: 0.3, stopPoints: 2 }]) },
    });
    btc.tick(1, 65000.22); // stop 65000.2: R 0.02 (0.0200000000048 in doubles)
    btc.tick(2, 64998.68);
    expect(round8(btc.journal.rows.find((r) => r.action === 'EXIT')?.rMultiple ?? Number.NaN)).toBe(-77);
  });

  it('prices below 0.01 get decimal moves too: 3 points of 1e-8 × 7000 × 10 is 210000, not 210000.00000001', () => {
    const h = harness({
      markets: [market({ pointSize: 0.00000001, decimals: 8, valuePerPoint: 10, lotStep: 1000 })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'SELL', size: 7000, stopPoints: 40, limitPoints: 3 }]) },
    });
    h.tick(1, 0.00002036);
    h.tick(2, 0.00002033);
    const exit = h.journal.rows.find((r) => r.action === 'EXIT');
    expect(exit).toMatchObject({ price: 0.00002033, reason: 'TAKE_PROFIT' });
    expect(round8(exit?.pnlPoints ?? Number.NaN)).toBe(3);
    expect(round8(exit?.pnlAmount ?? Number.NaN)).toBe(210000);
  });

  it('prices of 13 significant digits keep their last digit in a move: one point at 65000.12345678', () => {
    const h = harness({
      markets: [market({ pointSize: 0.00000001, decimals: 8, lotStep: 1 })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', size: 1, stopPoints: 1000, limitPoints: 1 }]) },
    });
    h.tick(1, 65000.12345678);
    h.tick(2, 65000.12345679);
    const exit = h.journal.rows.find((r) => r.action === 'EXIT');
    expect(exit).toMatchObject({ price: 65000.12345679, reason: 'TAKE_PROFIT' });
    expect(round8(exit?.pnlPoints ?? Number.NaN)).toBe(1);
  });

  it('a level on a half at 100920.108 on a 3-decimal market rounds up, and a profit of exactly activateAt activates', () => {
    const h = harness({
      markets: [
        market({ pointSize: 0.001, decimals: 3, lotStep: 1, exits: { trailing: { activateAt: 2192, distance: 100 } } }),
      ],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', size: 1, stopPoints: 328.5 }]) },
    });
    h.tick(1, 100920.108);
    // 100920.108 − 0.3285 = 100919.7795 → 100919.78 (half away from zero).
    expect(h.journal.rows[0]).toMatchObject({ action: 'ENTRY', stopLevel: 100919.78 });
    // 100922.3 − 100920.108 = 2.192: 2192 points, exactly activateAt.
    h.tick(2, 100922.3);
    const amend = h.actions.find((a) => a.type === 'amendStop');
    expect(amend?.type === 'amendStop' && amend.stopLevel).toBe(100922.2);
  });
});
