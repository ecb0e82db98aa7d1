import { describe, expect, it } from 'vitest';
import { round8 } from '../../../src/core/engine/numeric.js';
import { SummaryBuilder } from '../../../src/core/services/summary.js';
import type { JournalRow } from '../../../src/core/domain/types.js';

/** A row of one lot at price 1 whose points and amount are `pnl`. */
const row = (dealId: string, action: JournalRow['action'], pnl?: number): JournalRow => ({
  time: 0,
  market: 'M',
  dealId,
  strategy: 'default',
  direction: 'BUY',
  action,
  size: 1,
  price: 1,
  pnlPoints: pnl,
  pnlAmount: pnl,
  reason: action === 'ENTRY' ? 'SIGNAL' : 'STOP',
});

describe('summary figures as shown', () => {
  it('figures are shown as the journal writes numbers (round8): no binary noise beyond 8 decimals, no -0', () => {
    expect(round8(79352.35000000003)).toBe(79352.35);
    expect(round8(-0.9999999999998899)).toBe(-1);
    expect(round8(0.1 + 0.2)).toBe(0.3);
    expect(round8(-1e-12)).toBe(0);
    expect(Object.is(round8(-1e-12), -0)).toBe(false);
    expect(round8(1.23456789)).toBe(1.23456789);
    expect(round8(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });

  it('the net of closes that do not add up exactly in binary reads as their decimal sum', () => {
    const summary = new SummaryBuilder();
    summary.add(row('D1', 'ENTRY'));
    summary.add(row('D1', 'PARTIAL', 0.1));
    summary.add(row('D1', 'EXIT', 0.2));
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(summary.result()).toMatchObject({ netPoints: 0.3, netAmount: 0.3, grossProfit: 0.3 });
  });

  it('a trade that made exactly nothing in decimals is neither a win nor a loss (SPEC §9), whatever binary noise says', () => {
    const summary = new SummaryBuilder();
    // 0.1 + 0.2 - 0.3 is 5.6e-17 in binary; 0.3 - 0.1 - 0.2 is -2.8e-17.
    for (const [deal, pnls] of [
      ['A', [0.1, 0.2, -0.3]],
      ['B', [0.3, -0.1, -0.2]],
    ] as const) {
      summary.add(row(deal, 'ENTRY'));
      summary.add(row(deal, 'PARTIAL', pnls[0]));
      summary.add(row(deal, 'PARTIAL', pnls[1]));
      summary.add(row(deal, 'EXIT', pnls[2]));
    }
    summary.add(row('C', 'ENTRY'));
    summary.add(row('C', 'EXIT', 2));
    expect(summary.result()).toMatchObject({ trades: 3, wins: 1, losses: 0, grossProfit: 2, grossLoss: 0 });
    expect(summary.result().profitFactor).toBeUndefined();
  });
});
