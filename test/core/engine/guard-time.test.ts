import { describe, expect, it } from 'vitest';
import { brief, DAX, eurusd, EURUSD, harness, market, scriptedEntry } from '../../support/engine-harness.js';
import { clockEventTime } from '../../../src/core/services/live.js';

describe('strategy guard (SPEC §4.6)', () => {
  // EURJPY: 300 lots at 0.5 a point on a point of 0.001. In doubles, 163.336 − 163.369 is
  // −0.03299999999998704: an MTM of exactly −4950 came out −4949.999999998.
  const eurjpy = (guard: { maxDrawdown?: number; trailFraction?: number; minPeak: number }) =>
    harness({
      markets: [
        market({
          market: 'CS.D.EURJPY.CFD.IP',
          pointSize: 0.001,
          decimals: 3,
          valuePerPoint: 0.5,
          lotStep: 100,
          strategy: 's1',
        }),
      ],
      strategies: { s1: { guard } },
      entries: {
        'CS.D.EURJPY.CFD.IP': scriptedEntry([
          { at: 1, direction: 'BUY', size: 300, stopPoints: 300 },
          { at: 9, direction: 'BUY', size: 300, stopPoints: 300 },
        ]),
      },
    });

  it('an MTM exactly at maxDrawdown trips it, whatever the binary error of the prices', () => {
    const h = eurjpy({ maxDrawdown: -4950, minPeak: 0 });
    h.tick(1, 163.369);
    h.tick(2, 163.336); // −33 points × 300 × 0.5 = −4950
    h.tick(9, 163.345);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 300@163.369 stop=163.069 SIGNAL',
      'EXIT BUY 300@163.336 stop=163.069 STRATEGY_DRAWDOWN pts=-33',
    ]);
  });

  it('an MTM exactly at peak × (1 − trailFraction) trips it; a peak exactly at minPeak is not above it', () => {
    const trail = eurjpy({ trailFraction: 0.5, minPeak: 0 });
    trail.tick(1, 163.369);
    trail.tick(2, 163.469); // peak 15000
    trail.tick(3, 163.419); // 7500 = 15000 × 0.5
    expect(brief(trail.journal.rows).at(-1)).toBe('EXIT BUY 300@163.419 stop=163.069 STRATEGY_TRAIL pts=50');

    const minPeak = eurjpy({ trailFraction: 0.5, minPeak: 12000 });
    minPeak.tick(1, 163.369);
    minPeak.tick(2, 163.449); // peak exactly 12000: not above minPeak
    minPeak.tick(3, 163.389); // 3000, below 12000 × 0.5, but the trail test does not apply
    expect(brief(minPeak.journal.rows)).toEqual(['ENTRY BUY 300@163.369 stop=163.069 SIGNAL']);
  });

  it('MTM across markets ≤ maxDrawdown closes every position of the strategy in every market and blocks entries', () => {
    const h = harness({
      markets: [market({ strategy: 's' }), eurusd({ strategy: 's', valuePerPoint: 1 })],
      strategies: { s: { guard: { maxDrawdown: -50, minPeak: 0 } } },
      entries: {
        [DAX]: scriptedEntry([
          { at: 1, direction: 'BUY', stopPoints: 500 },
          { at: 10, direction: 'BUY', stopPoints: 500 },
        ]),
        [EURUSD]: scriptedEntry([{ at: 2, direction: 'SELL', stopPoints: 500 }]),
      },
    });
    h.tick(1, 100);
    h.tick(2, 1.1, 1.1, EURUSD);
    h.tick(3, 1.102, 1.102, EURUSD); // EURUSD −20 points × 1 = −20
    h.tick(4, 70); // DAX −30 → MTM −50: trips on this DAX tick
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=-400 SIGNAL',
      'ENTRY SELL 1@1.1 stop=1.15 SIGNAL',
      'EXIT BUY 1@70 stop=-400 STRATEGY_DRAWDOWN pts=-30',
      'EXIT SELL 1@1.102 stop=1.15 STRATEGY_DRAWDOWN pts=-20',
    ]);
    expect(h.alerts.map((a) => a.data['reason'])).toEqual(['STRATEGY_DRAWDOWN']);
    h.tick(10, 100);
    expect(h.journal.rows, 'a stopped strategy takes no new entries').toHaveLength(4);
  });

  it('a trip closes the positions in order of entry across markets, not in the configuration order of markets', () => {
    const h = harness({
      markets: [market({ strategy: 's' }), eurusd({ strategy: 's', valuePerPoint: 1 })],
      strategies: { s: { guard: { maxDrawdown: -50, minPeak: 0 } } },
      entries: {
        [DAX]: scriptedEntry([{ at: 2, direction: 'BUY', stopPoints: 500 }]),
        [EURUSD]: scriptedEntry([{ at: 1, direction: 'SELL', stopPoints: 500 }]),
      },
    });
    h.tick(1, 1.1, 1.1, EURUSD); // EURUSD (configured second) is entered first
    h.tick(2, 100);
    h.tick(3, 1.102, 1.102, EURUSD); // −20
    h.tick(4, 70); // DAX −30 → MTM −50: trips on this DAX tick
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY SELL 1@1.1 stop=1.15 SIGNAL',
      'ENTRY BUY 1@100 stop=-400 SIGNAL',
      'EXIT SELL 1@1.102 stop=1.15 STRATEGY_DRAWDOWN pts=-20',
      'EXIT BUY 1@70 stop=-400 STRATEGY_DRAWDOWN pts=-30',
    ]);
  });

  it("a position of another strategy than its market's follows its own strategy's guard, not the market's", () => {
    const h = harness({
      markets: [market({ strategy: 'plain' })],
      strategies: { plain: {}, guarded: { guard: { maxDrawdown: -20, minPeak: 0 } } },
      entries: {
        [DAX]: scriptedEntry([
          { at: 1, direction: 'BUY', stopPoints: 500 },
          { at: 1, direction: 'BUY', stopPoints: 500, strategy: 'guarded' },
        ]),
      },
    });
    h.tick(1, 100);
    h.tick(2, 85); // each −15: the guarded strategy's MTM is −15, not yet −20
    expect(h.journal.rows).toHaveLength(2);
    h.tick(3, 80); // −20: only the guarded strategy's position closes
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=-400 SIGNAL',
      'ENTRY BUY 1@100 stop=-400 SIGNAL',
      'EXIT BUY 1@80 stop=-400 STRATEGY_DRAWDOWN pts=-20',
    ]);
    expect(h.journal.rows.at(-1)?.strategy).toBe('guarded');
    expect(h.runner.engine.openPositions().map((v) => v.position.strategy)).toEqual(['plain']);
  });

  it('trail: after a peak above minPeak, MTM ≤ peak × (1 − trailFraction) trips STRATEGY_TRAIL', () => {
    const h = harness({
      markets: [market({ strategy: 's' })],
      strategies: { s: { guard: { trailFraction: 0.5, minPeak: 10 } } },
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY', stopPoints: 500 }]) },
    });
    h.tick(1, 100);
    h.tick(2, 110); // peak 10: not above minPeak
    h.tick(3, 104); // 4 ≤ 5 but peak is not > minPeak
    expect(h.journal.rows).toHaveLength(1);
    h.tick(4, 120); // peak 20
    h.tick(5, 110.1); // 10.1 > 10
    expect(h.journal.rows).toHaveLength(1);
    h.tick(6, 110); // 10 ≤ 20 × 0.5
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT BUY 1@110 stop=-400 STRATEGY_TRAIL pts=10');
  });

  it('a loss realised by a broker stop while flat stops the strategy before the entry on that tick', () => {
    const h = harness({
      markets: [market({ strategy: 's' })],
      strategies: { s: { guard: { maxDrawdown: -10, minPeak: 0 } } },
      entries: {
        [DAX]: scriptedEntry([
          { at: 1, direction: 'BUY', stopPoints: 10 },
          { at: 2, direction: 'BUY', stopPoints: 10 },
        ]),
      },
    });
    h.tick(1, 100);
    h.tick(2, 90); // stop hit: −10 realised, guard re-checked before entries → no second entry
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@100 stop=90 SIGNAL', 'EXIT BUY 1@90 stop=90 STOP pts=-10']);
    expect(h.alerts).toHaveLength(1);
  });
});

describe('time exits (SPEC §4.7)', () => {
  const london = { flatAtMinutes: 21 * 60 + 55, timezone: 'Europe/London' };
  it.each([
    {
      why: 'summer (BST, UTC+1): 21:55 London is 20:55 UTC',
      before: '2024-07-01T20:54:59.999Z',
      at: '2024-07-01T20:55:00.000Z',
    },
    {
      why: 'winter (GMT): 21:55 London is 21:55 UTC',
      before: '2024-01-15T21:54:59.999Z',
      at: '2024-01-15T21:55:00.000Z',
    },
    { why: 'the day after the spring change', before: '2024-03-31T20:54:59.000Z', at: '2024-03-31T20:55:00.000Z' },
  ])('flatAt closes at or after local time: $why', ({ before, at }) => {
    const t0 = Date.parse(before) - 3_600_000;
    const h = harness({
      markets: [market({ exits: { time: london } })],
      entries: { [DAX]: scriptedEntry([{ at: t0, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(t0, 100);
    h.tick(Date.parse(before), 101);
    expect(h.journal.rows).toHaveLength(1);
    h.tick(Date.parse(at), 102);
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT BUY 1@102 stop=50 END_OF_DAY pts=2');
  });

  it('after flatAt no entry until local midnight; a signal due then is dropped', () => {
    const late = Date.parse('2024-07-01T21:30:00Z'); // 22:30 BST
    const nextDay = Date.parse('2024-07-01T23:00:00Z'); // 00:00 BST on 2 July
    const h = harness({
      markets: [market({ exits: { time: london } })],
      entries: {
        [DAX]: scriptedEntry([
          { at: late, direction: 'BUY', stopPoints: 50 },
          { at: nextDay, direction: 'SELL', stopPoints: 50 },
        ]),
      },
    });
    h.tick(late, 100);
    h.tick(nextDay - 1, 100);
    expect(h.journal.rows).toEqual([]);
    h.tick(nextDay, 100);
    expect(brief(h.journal.rows)).toEqual(['ENTRY SELL 1@100 stop=150 SIGNAL']);
  });

  it('on the day clocks go back, a flatAt in the repeated hour blocks entries until local midnight all the same', () => {
    // 2024-10-27 in London: 02:00 BST becomes 01:00 GMT at 01:00Z. flatAt 01:30 is reached at
    // 00:30Z (01:30 BST); from 01:00Z the local time of day is 01:00–01:29 (GMT) again.
    const at = (utc: string) => Date.parse(`2024-10-27T${utc}Z`);
    const h = harness({
      markets: [market({ exits: { time: { flatAtMinutes: 90, timezone: 'Europe/London' } } })],
      entries: {
        [DAX]: scriptedEntry([
          { at: at('00:00'), direction: 'BUY', stopPoints: 50 },
          { at: at('01:05'), direction: 'BUY', stopPoints: 50 },
          { at: Date.parse('2024-10-28T00:00:00Z'), direction: 'SELL', stopPoints: 50 },
        ]),
      },
    });
    for (const t of ['00:00', '00:30', '00:45', '01:10', '01:30', '23:59']) h.tick(at(t), 100);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=50 SIGNAL',
      'EXIT BUY 1@100 stop=50 END_OF_DAY pts=0',
    ]);
    h.tick(Date.parse('2024-10-28T00:00:00Z'), 100); // local midnight (GMT)
    expect(brief(h.journal.rows).at(-1)).toBe('ENTRY SELL 1@100 stop=150 SIGNAL');
  });

  it("live's clock event just after local midnight (dated its grace back) does not apply the day before's flatAt", () => {
    const t = (s: string) => Date.parse(s);
    const h = harness({
      markets: [market({ exits: { time: { flatAtMinutes: 21 * 60, timezone: 'UTC' } } })],
      entries: { [DAX]: scriptedEntry([{ at: t('2024-03-02T00:00:01Z'), direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(t('2024-03-01T21:30:00Z'), 100); // after flatAt: flat
    h.tick(t('2024-03-02T00:00:01Z'), 100); // the next day: entered
    // live's interval a second later: the feed's clock carried on, less the 5 s grace.
    const local = 1_000_000;
    h.runner.onClock(clockEventTime(local + 1000, t('2024-03-02T00:00:01Z'), local));
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@100 stop=50 SIGNAL']);
  });

  it('maxHoldMinutes closes with TIME_EXIT once held that long; END_OF_DAY wins when both are due', () => {
    const h = harness({
      markets: [market({ exits: { time: { timezone: 'UTC', maxHoldMinutes: 10 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 0, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(0, 100);
    h.tick(599_999, 100);
    expect(h.journal.rows).toHaveLength(1);
    h.tick(600_000, 101);
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT BUY 1@101 stop=50 TIME_EXIT pts=1');
    expect(h.journal.rows.at(-1)?.heldMs).toBe(600_000);

    const both = harness({
      markets: [market({ exits: { time: { timezone: 'UTC', maxHoldMinutes: 10, flatAtMinutes: 10 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 0, direction: 'BUY', stopPoints: 50 }]) },
    });
    both.tick(0, 100);
    both.tick(600_000, 100);
    expect(both.journal.rows.at(-1)?.reason).toBe('END_OF_DAY');
  });

  it('the clock event closes a position held too long when no tick arrives (live)', () => {
    const h = harness({
      markets: [market({ exits: { time: { timezone: 'UTC', maxHoldMinutes: 1 } } })],
      entries: { [DAX]: scriptedEntry([{ at: 0, direction: 'BUY', stopPoints: 50 }]) },
    });
    h.tick(0, 100);
    h.runner.onClock(60_000);
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT BUY 1@100 stop=50 TIME_EXIT pts=0');
  });
});
