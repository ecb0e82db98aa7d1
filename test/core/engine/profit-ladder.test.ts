import { describe, expect, it } from 'vitest';
import { brief, DAX, harness, market, scriptedEntry } from '../../support/engine-harness.js';
import type { LadderConfig } from '../../../src/core/domain/config.js';
import { ladderProgress } from '../../../src/core/engine/rules/profit-ladder.js';

const rungs: LadderConfig = {
  rungs: [
    { at: 1, lock: 0 },
    { at: 1.5, lock: 0.5 },
    { at: 2, lock: 1, close: 0.5 },
    { at: 3, lock: 1.5, close: 0.25 },
    { at: 4, lock: 2, close: 0.25 },
  ],
};

function run(direction: 'BUY' | 'SELL', prices: number[], size = 1) {
  const h = harness({
    markets: [market({ exits: { ladder: rungs } })],
    entries: { [DAX]: scriptedEntry([{ at: 1, direction, stopPoints: 10, size }]) },
  });
  h.tick(1, 100);
  prices.forEach((p, i) => h.tick(2 + i, p));
  return h;
}

const amends = (h: ReturnType<typeof run>) =>
  h.actions.flatMap((a) => (a.type === 'amendStop' ? [`${a.stopLevel} ${a.reason}`] : []));

describe('profit ladder (SPEC §4.4, R = 10 points)', () => {
  it('BUY: each rung fires once when r reaches `at` exactly; sizes floor to lotStep; the last closing rung takes the rest', () => {
    const h = run('BUY', [110, 115, 120, 130, 140]);
    expect(amends(h)).toEqual(['100 BREAKEVEN_STOP', '105 LADDER_STOP', '110 LADDER_STOP', '115 LADDER_STOP']);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=90 SIGNAL',
      'PARTIAL BUY 0.5@120 stop=105 PROFIT_TARGET pts=20',
      'PARTIAL BUY 0.2@130 stop=110 PROFIT_TARGET pts=30',
      'EXIT BUY 0.3@140 stop=115 PROFIT_TARGET pts=40',
    ]);
    expect(h.journal.rows.map((r) => r.rMultiple)).toEqual([undefined, 2, 3, 4]);
  });

  it('every rung crossed on one tick fires, in order', () => {
    const h = run('BUY', [130]);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 1@100 stop=90 SIGNAL',
      'PARTIAL BUY 0.5@130 stop=90 PROFIT_TARGET pts=30',
      'PARTIAL BUY 0.2@130 stop=90 PROFIT_TARGET pts=30',
    ]);
    expect(amends(h)).toEqual(['115 LADDER_STOP']);
  });

  it('SELL: r is measured at the ask; the breakeven stop hit reports BREAKEVEN_STOP', () => {
    const h = run('SELL', [90, 95, 100]);
    expect(amends(h)).toEqual(['100 BREAKEVEN_STOP']);
    expect(brief(h.journal.rows).at(-1)).toBe('EXIT SELL 1@100 stop=100 BREAKEVEN_STOP pts=0');
  });

  it('just below a rung nothing fires', () => {
    const h = run('BUY', [109.9]);
    expect(amends(h)).toEqual([]);
  });

  it('a rung whose size rounds to zero sends nothing, but its lock applies', () => {
    // size 0.1: 0.5 × 0.1 = 0.05 → floor to 0 lots; 0.25 → 0; the last closing rung takes 0.1.
    const h = run('BUY', [120, 130, 140], 0.1);
    expect(brief(h.journal.rows)).toEqual([
      'ENTRY BUY 0.1@100 stop=90 SIGNAL',
      'EXIT BUY 0.1@140 stop=115 PROFIT_TARGET pts=40',
    ]);
    expect(amends(h)).toEqual(['110 LADDER_STOP', '115 LADDER_STOP']);
  });

  it('a position without an initial stop skips the ladder', () => {
    const h = harness({
      markets: [market({ exits: { ladder: rungs } })],
      entries: { [DAX]: scriptedEntry([{ at: 1, direction: 'BUY' }]) },
    });
    h.tick(1, 100);
    h.tick(2, 200);
    expect(h.actions.filter((a) => a.type !== 'open')).toEqual([]);
  });

  it.each([
    ['BUY', [120, 104], 'EXIT BUY 1@104 stop=105 LADDER_STOP pts=4', '105 LADDER_STOP'],
    ['SELL', [80, 96], 'EXIT SELL 1@96 stop=95 LADDER_STOP pts=4', '95 LADDER_STOP'],
  ] as const)(
    '%s: a later rung that locks less does not loosen the stop: every fired rung proposes, the tightest wins',
    (direction, prices, exit, amend) => {
      // Both rungs fire on one tick (r = 2): 0.5 R (105 for the BUY) is tighter than 0.2 R (102).
      const h = harness({
        markets: [
          market({
            exits: {
              ladder: {
                rungs: [
                  { at: 1, lock: 0.5 },
                  { at: 2, lock: 0.2 },
                ],
              },
            },
          }),
        ],
        entries: { [DAX]: scriptedEntry([{ at: 1, direction, stopPoints: 10 }]) },
      });
      h.tick(1, 100);
      prices.forEach((p, i) => h.tick(2 + i, p));
      expect(amends(h as ReturnType<typeof run>)).toEqual([amend]);
      expect(brief(h.journal.rows).at(-1)).toBe(exit);
    },
  );
});

describe('ladder progress from the sizes its rungs closed (a position rebuilt from its journal)', () => {
  const ladder = {
    rungs: [
      { at: 0.5, lock: -0.5, close: 0 },
      { at: 1, lock: 0, close: 0.3 },
      { at: 2, lock: 0.5, close: 0.3 },
      { at: 3, lock: 1, close: 0.5 },
    ],
  };
  it.each([
    { closed: 0, expected: { ladderNext: 0, ladderLock: undefined }, why: 'nothing closed: from the first rung' },
    {
      closed: 0.3,
      expected: { ladderNext: 2, ladderLock: 0 },
      why: 'the 1R rung took 0.3 (the rung before it closed nothing)',
    },
    { closed: 0.6, expected: { ladderNext: 3, ladderLock: 0.5 }, why: 'two rungs' },
    { closed: 0.5, expected: { ladderNext: 2, ladderLock: 0 }, why: 'less than two rungs: one' },
    { closed: 1, expected: { ladderNext: 4, ladderLock: 1 }, why: 'the last closing rung took the rest' },
  ])('$why', ({ closed, expected }) => {
    expect(ladderProgress(ladder, 1, 0.1, closed)).toEqual(expected);
  });
});
