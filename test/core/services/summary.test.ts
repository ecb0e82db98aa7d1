import { describe, expect, it } from 'vitest';
import { SummaryBuilder, tidy } from '../../../src/core/services/summary.js';
import type { JournalRow } from '../../../src/core/domain/types.js';

describe('summary figures as shown', () => {
  it('tidy drops binary noise beyond 8 decimals, and -0', () => {
    expect(tidy(79352.35000000003)).toBe(79352.35);
    expect(tidy(-0.9999999999998899)).toBe(-1);
    expect(tidy(0.1 + 0.2)).toBe(0.3);
    expect(tidy(-1e-12)).toBe(0);
    expect(Object.is(tidy(-1e-12), -0)).toBe(false);
    expect(tidy(1.23456789)).toBe(1.23456789);
    expect(tidy(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });

  it('the net of closes that do not add up exactly in binary reads as their decimal sum', () => {
    const summary = new SummaryBuilder();
    const row = (action: JournalRow['action'], pnl?: number): JournalRow => ({
      time: 0,
      market: 'M',
      dealId: 'D1',
      strategy: 'default',
      direction: 'BUY',
      action,
      size: 1,
      price: 1,
      pnlPoints: pnl,
      pnlAmount: pnl,
      reason: action === 'ENTRY' ? 'SIGNAL' : 'STOP',
    });
    summary.add(row('ENTRY'));
    summary.add(row('PARTIAL', 0.1));
    summary.add(row('EXIT', 0.2));
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(summary.result()).toMatchObject({ netPoints: 0.3, netAmount: 0.3, grossProfit: 0.3 });
  });
});
