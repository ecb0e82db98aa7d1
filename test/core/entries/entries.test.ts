import { describe, expect, it } from 'vitest';
import { breakoutEntry } from '../../../src/core/entries/breakout.js';
import { emaCrossEntry } from '../../../src/core/entries/ema-cross.js';
import { signalsEntry } from '../../../src/core/entries/signals.js';
import { brief, DAX, eurusd, EURUSD, harness, market } from '../../support/engine-harness.js';

const MIN = 60_000;

/** One tick per minute at the given mid prices, then one more tick to close the last candle. */
function feed(h: ReturnType<typeof harness>, closes: number[]) {
  closes.forEach((c, i) => h.tick(i * MIN, c));
  h.tick(closes.length * MIN, closes.at(-1) ?? 0);
}

describe('entries (SPEC §5)', () => {
  it('signals: each row enters on the first tick of its market at or after its time; positions stack', () => {
    const h = harness({
      markets: [market()],
      entries: {
        [DAX]: signalsEntry([
          { time: 5, market: DAX, direction: 'BUY', size: 1, stopPoints: 10 },
          { time: 5, market: DAX, direction: 'SELL', size: 2, limitPoints: 20 },
        ]),
      },
    });
    h.tick(4, 100);
    expect(h.journal.rows).toEqual([]);
    h.tick(7, 101, 102);
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@102 stop=92 SIGNAL', 'ENTRY SELL 2@101 stop= SIGNAL']);
    expect(h.actions[1]?.type === 'open' && h.actions[1].limitLevel).toBe(81);
  });

  it.each([
    {
      why: 'live started at 1000, first tick at 1500: rows before 1000 are from before the session',
      notBefore: 1000,
      firstTick: 1500,
      entered: ['ENTRY BUY 1@102 stop= SIGNAL'],
      dropped: [2],
    },
    {
      why: 'recorded ticks replayed (first tick at 300, before start-up): the session starts at 300',
      notBefore: 1000,
      firstTick: 300,
      entered: ['ENTRY SELL 1@101 stop= SIGNAL', 'ENTRY BUY 1@102 stop= SIGNAL'],
      dropped: [1],
    },
  ])('signals in live: $why', ({ notBefore, firstTick, entered, dropped }) => {
    const counts: number[] = [];
    const h = harness({
      markets: [market()],
      entries: {
        [DAX]: signalsEntry(
          [
            { time: 200, market: DAX, direction: 'SELL', size: 1 },
            { time: 300, market: DAX, direction: 'SELL', size: 1 },
            { time: 1200, market: DAX, direction: 'BUY', size: 1 },
          ],
          { notBefore, onDropped: (n) => counts.push(n) },
        ),
      },
    });
    h.tick(firstTick, 101, 102);
    h.tick(2000, 101, 102);
    expect(brief(h.journal.rows)).toEqual(entered);
    expect(counts, 'rows dropped, told at the first tick').toEqual(dropped);
  });

  it('ema-cross: fast crossing above slow BUYs at the candle close; the opposite cross exits and reverses on the same tick', () => {
    const h = harness({
      markets: [market({ entry: { kind: 'ema-cross', timeframeMs: MIN, fast: 2, slow: 3, size: 1 } })],
      entries: { [DAX]: emaCrossEntry({ timeframeMs: MIN, fast: 2, slow: 3, pointSize: 1 }) },
    });
    // closes 10,10,10 → both EMAs 10; then 13 → fast 12 > slow 11.5 (cross up); later falls.
    feed(h, [10, 10, 10, 13, 13, 5]);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@13 stop= EMA_CROSS',
      'EXIT BUY 1@5 stop= SIGNAL_EXIT pts=-8',
      'ENTRY SELL 1@5 stop= EMA_CROSS',
    ]);
  });

  it('ema-cross on the same timeframe as the ATR stop reads the same candles (one builder for both)', () => {
    const entry = { kind: 'ema-cross' as const, timeframeMs: MIN, fast: 2, slow: 3, size: 1 };
    const run = (withAtr: boolean) => {
      const h = harness({
        markets: [
          market({
            entry,
            exits: withAtr ? { atrStop: { period: 2, multiplier: 2, timeframeMs: MIN, trail: false } } : {},
          }),
        ],
        entries: { [DAX]: emaCrossEntry({ timeframeMs: MIN, fast: 2, slow: 3, pointSize: 1 }) },
      });
      feed(h, [10, 10, 10, 13, 13, 5]);
      return h.journal.rows;
    };
    const entries = (rows: ReturnType<typeof run>) =>
      rows.filter((r) => r.action === 'ENTRY').map((r) => `${r.direction} ${r.price} ${r.reason}`);
    expect(entries(run(true)), 'the entry sees the same closed candles').toEqual(entries(run(false)));
    expect(entries(run(true))).toEqual(['BUY 13 EMA_CROSS', 'SELL 5 EMA_CROSS']);
    // and the ATR got them too: the BUY carries an ATR stop (no stopPoints configured)
    expect(run(true)[0]?.stopLevel).toBeDefined();
    expect(run(false)[0]?.stopLevel).toBeUndefined();
  });

  it('ema-cross decides as on exact decimals (SPEC §9): EMAs equal in decimals but not in binary do not cross', () => {
    const h = harness({
      markets: [eurusd({ entry: { kind: 'ema-cross', timeframeMs: MIN, fast: 3, slow: 4, size: 1 } })],
      entries: { [EURUSD]: emaCrossEntry({ timeframeMs: MIN, fast: 3, slow: 4, pointSize: 0.0001 }) },
    });
    // After the close 1.1011 both EMAs are 1.10095 in decimals (fast 1.10095, slow 1.1009499999999999
    // in binary): no cross yet. The close 1.1014 then takes fast above slow: BUY on the tick closing it.
    [1.10075, 1.10105, 1.1009, 1.1007, 1.1011, 1.1014].forEach((c, i) => h.tick(i * MIN, c, c, EURUSD));
    expect(h.journal.rows, 'no entry on the tick closing 1.1011').toEqual([]);
    h.tick(6 * MIN, 1.1014, 1.1014, EURUSD);
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@1.1014 stop= EMA_CROSS']);
  });

  it('breakout compares as on exact decimals: a close equal to the high in decimals is no breakout', () => {
    const h = harness({
      markets: [eurusd({ entry: { kind: 'breakout', timeframeMs: MIN, period: 2, size: 1 } })],
      entries: { [EURUSD]: breakoutEntry({ timeframeMs: MIN, period: 2, pointSize: 0.0001 }) },
    });
    // Mids: (0.1 + 0.7) / 2 = 0.39999999999999997 twice, then (0.3 + 0.5) / 2 = 0.4: equal in decimals.
    h.tick(0, 0.1, 0.7, EURUSD);
    h.tick(MIN, 0.1, 0.7, EURUSD);
    h.tick(2 * MIN, 0.3, 0.5, EURUSD);
    h.tick(3 * MIN, 0.4, 0.6, EURUSD); // closes the 0.4 candle: no breakout
    expect(h.journal.rows).toEqual([]);
    h.tick(4 * MIN, 0.4, 0.6, EURUSD); // closes the 0.5 candle: above 0.4
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@0.6 stop= BREAKOUT']);
    expect(h.journal.rows[0]?.time).toBe(4 * MIN);
  });

  it('breakout: a close above the highest high of the previous `period` candles BUYs, only when flat', () => {
    const h = harness({
      markets: [market({ entry: { kind: 'breakout', timeframeMs: MIN, period: 2, size: 1, stopPoints: 50 } })],
      entries: { [DAX]: breakoutEntry({ timeframeMs: MIN, period: 2, pointSize: 1 }) },
    });
    feed(h, [10, 11, 12, 13]);
    // candle 2 (12) breaks 10..11 → BUY at the tick that closed it (price 13); candle 3 breaks too, not flat.
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@13 stop=-37 BREAKOUT']);
  });
});
