import { describe, expect, it } from 'vitest';
import { brief, DAX, harness, market, scriptedEntry } from '../../support/engine-harness.js';

const MIN = 60_000;

describe('ATR stop (SPEC §4.3)', () => {
  // Candles of 1 minute with ranges 4 and 6 (mid = bid = ask): ATR(2) = 5 at the start of minute 2.
  function warmUp(h: ReturnType<typeof harness>) {
    h.tick(0, 100);
    h.tick(1_000, 104); // minute 0: 100..104, TR 4
    h.tick(MIN, 104);
    h.tick(MIN + 1_000, 98); // minute 1: 98..104, TR max(6, |104−104|, |98−104|) = 6
  }

  it('before ATR exists the entry uses stopPoints; after, entry ∓ multiplier × ATR with reason ATR_STOP', () => {
    const h = harness({
      markets: [market({ exits: { atrStop: { period: 2, multiplier: 2, timeframeMs: MIN, trail: false } } })],
      entries: {
        [DAX]: scriptedEntry([
          { at: 0, direction: 'BUY' },
          { at: 2 * MIN, direction: 'BUY' },
        ]),
      },
      strategies: {},
    });
    // The first entry has no ATR and no stopPoints: no stop at all.
    warmUp(h);
    h.tick(2 * MIN, 100); // closes minute 1 → ATR = (4 + 6) / 2 = 5; entry at 100, stop 100 − 10 = 90
    h.tick(2 * MIN + 1, 90); // stop hit
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop= SIGNAL',
      'ENTRY BUY 1@100 stop=90 SIGNAL',
      'EXIT BUY 1@90 stop=90 ATR_STOP pts=-10',
    ]);
  });

  it('a signal row stopPoints wins over ATR', () => {
    const h = harness({
      markets: [market({ exits: { atrStop: { period: 2, multiplier: 2, timeframeMs: MIN, trail: false } } })],
      entries: { [DAX]: scriptedEntry([{ at: 2 * MIN, direction: 'SELL', stopPoints: 3 }]) },
    });
    warmUp(h);
    h.tick(2 * MIN, 100);
    h.tick(2 * MIN + 1, 103);
    expect(brief(h.journal.rows)).toEqual(['ENTRY SELL 1@100 stop=103 SIGNAL', 'EXIT SELL 1@103 stop=103 STOP pts=-3']);
  });

  it('trail: the chandelier proposes best ∓ multiplier × ATR', () => {
    const h = harness({
      markets: [market({ exits: { atrStop: { period: 2, multiplier: 2, timeframeMs: MIN, trail: true } } })],
      entries: { [DAX]: scriptedEntry([{ at: 2 * MIN, direction: 'BUY' }]) },
    });
    warmUp(h);
    h.tick(2 * MIN, 100); // stop 90
    h.tick(2 * MIN + 1, 112); // best 112 → 112 − 10 = 102
    expect(h.actions.flatMap((a) => (a.type === 'amendStop' ? [`${a.stopLevel} ${a.reason}`] : []))).toEqual([
      '102 ATR_STOP',
    ]);
  });
});

describe('profit lock (SPEC §4.5)', () => {
  it.each([
    {
      why: 'BUY: locks lockFraction of the peak, the stop hit reports PROFIT_LOCK',
      direction: 'BUY' as const,
      prices: [110, 108, 104],
      amend: 105,
      exit: 'EXIT BUY 1@104 stop=105 PROFIT_LOCK pts=4',
    },
    {
      why: 'SELL mirrors it',
      direction: 'SELL' as const,
      prices: [90, 92, 96],
      amend: 95,
      exit: 'EXIT SELL 1@96 stop=95 PROFIT_LOCK pts=4',
    },
  ])('$why', ({ direction, prices, amend, exit }) => {
    const h = harness({
      markets: [market({ exits: { profitLock: { lockFraction: 0.5, minProfit: 0 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction, stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    prices.forEach((p, i) => h.tick(2 + i, p));
    expect(h.actions.flatMap((a) => (a.type === 'amendStop' ? [a.stopLevel] : []))).toEqual([amend]);
    expect(brief(h.journal.rows).at(-1)).toBe(exit);
  });

  it('proposes nothing while peak profit points equal minProfit', () => {
    const h = harness({
      markets: [market({ exits: { profitLock: { lockFraction: 0.5, minProfit: 10 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 110);
    expect(h.actions.filter((a) => a.type === 'amendStop')).toEqual([]);
    h.tick(3, 110.5);
    expect(h.actions.filter((a) => a.type === 'amendStop')).toHaveLength(1);
  });

  it('ties go to the first rule in §4 order: trailing before profit lock', () => {
    const h = harness({
      markets: [
        market({
          exits: { trailing: { activateAt: 20, distance: 10 }, profitLock: { lockFraction: 0.5, minProfit: 0 } },
        }),
      ],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 120); // trailing 110, lock 110
    expect(h.actions.flatMap((a) => (a.type === 'amendStop' ? [`${a.stopLevel} ${a.reason}`] : []))).toEqual([
      '110 TRAILING_STOP',
    ]);
  });
});
