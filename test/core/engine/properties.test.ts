import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExitsConfig } from '../../../src/core/domain/config.js';
import { SummaryBuilder } from '../../../src/core/services/summary.js';
import { formatJournalRows } from '../../../src/core/adapters/files/journal-csv.js';
import { DAX, harness, market, scriptedEntry } from '../../support/engine-harness.js';

/** A random scenario: which rules are on, entries, and a random walk of ticks. */
const scenario = fc.record({
  exits: fc.record(
    {
      trailing: fc.record({ activateAt: fc.integer({ min: 0, max: 40 }), distance: fc.integer({ min: 1, max: 20 }) }),
      virtualStop: fc.record({
        distance: fc.integer({ min: 1, max: 10 }),
        safetyDistance: fc.integer({ min: 6, max: 20 }),
        cooldownMs: fc.constant(1000),
      }),
      atrStop: fc.record({
        period: fc.integer({ min: 2, max: 5 }),
        multiplier: fc.double({ min: 0.5, max: 3, noNaN: true }),
        timeframeMs: fc.constant(60_000),
        trail: fc.boolean(),
      }),
      ladder: fc.constant({
        rungs: [
          { at: 1, lock: 0 },
          { at: 1.5, lock: 0.5 },
          { at: 2, lock: 1, close: 0.5 },
          { at: 3, lock: 1.5, close: 0.25 },
          { at: 4, lock: 2, close: 0.25 },
        ],
      }),
      profitLock: fc.record({
        lockFraction: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
        minProfit: fc.integer({ min: 0, max: 20 }),
      }),
    },
    { requiredKeys: [] },
  ),
  minStop: fc.integer({ min: 0, max: 8 }),
  stopStep: fc.integer({ min: 0, max: 3 }),
  entries: fc.array(
    fc.record({
      at: fc.integer({ min: 0, max: 400 }),
      direction: fc.constantFrom('BUY' as const, 'SELL' as const),
      size: fc.integer({ min: 1, max: 30 }).map((n) => n / 10),
      stopPoints: fc.option(fc.integer({ min: 3, max: 60 }), { nil: undefined }),
      limitPoints: fc.option(fc.integer({ min: 5, max: 80 }), { nil: undefined }),
    }),
    { maxLength: 6 },
  ),
  steps: fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 20, maxLength: 400 }),
  spread: fc.integer({ min: 0, max: 20 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function run(s: Scenario) {
  const entries = [...s.entries].sort((a, b) => a.at - b.at).map((e) => ({ ...e, at: e.at * 15_000 }));
  const h = harness({
    markets: [market({ minStopDistance: s.minStop, stopStep: s.stopStep, exits: s.exits as unknown as ExitsConfig })],
    entries: { [DAX]: scriptedEntry(entries) },
    strategies: {},
  });
  let mid = 10_000;
  s.steps.forEach((step, i) => {
    mid += step / 10;
    const bid = Math.round((mid - s.spread / 20) * 10) / 10;
    const ask = Math.round((bid + s.spread / 10) * 10) / 10;
    h.tick(i * 15_000, bid, ask);
  });
  return h;
}

describe('engine properties', () => {
  it('stops never loosen: every amend is tighter than the stop before it', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const h = run(s);
        const last = new Map<string, number>();
        const dir = new Map<string, string>();
        for (const row of h.journal.rows) {
          if (row.action === 'ENTRY') {
            dir.set(row.dealId, row.direction);
            if (row.stopLevel !== undefined) last.set(row.dealId, row.stopLevel);
          }
        }
        for (const a of h.actions) {
          if (a.type !== 'amendStop') continue;
          const prev = last.get(a.dealId);
          if (prev !== undefined) {
            const tighter = dir.get(a.dealId) === 'BUY' ? a.stopLevel > prev : a.stopLevel < prev;
            expect(tighter, `amend of ${a.dealId} from ${prev} to ${a.stopLevel} loosens the stop`).toBe(true);
          }
          last.set(a.dealId, a.stopLevel);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('sizes entered = sizes closed + size still open, per position', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const h = run(s);
        const balance = new Map<string, number>();
        for (const row of h.journal.rows) {
          const sign = row.action === 'ENTRY' ? 1 : -1;
          balance.set(row.dealId, (balance.get(row.dealId) ?? 0) + sign * row.size);
        }
        const open = new Map(h.runner.engine.openPositions().map((v) => [v.position.dealId, v.position.size]));
        for (const [dealId, left] of balance) {
          expect(left, `deal ${dealId}: entered − closed`).toBeCloseTo(open.get(dealId) ?? 0, 9);
          const exits = h.journal.rows.filter((r) => r.dealId === dealId && r.action === 'EXIT');
          expect(exits.length, `deal ${dealId} has one EXIT row iff it is closed`).toBe(open.has(dealId) ? 0 : 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("the journal's P&L sums equal the summary's", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const h = run(s);
        const summary = new SummaryBuilder();
        h.journal.rows.forEach((r) => summary.add(r));
        const total = h.journal.rows.reduce((sum, r) => sum + (r.pnlAmount ?? 0), 0);
        expect(summary.result().netAmount).toBeCloseTo(total, 6);
        const exits = h.journal.rows.filter((r) => r.action !== 'ENTRY').length;
        expect(Object.values(summary.result().exitsByReason).reduce((a, b) => a + b, 0)).toBe(exits);
      }),
      { numRuns: 200 },
    );
  });

  it('the same input always gives the same journal', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(formatJournalRows(run(s).journal.rows)).toBe(formatJournalRows(run(s).journal.rows));
      }),
      { numRuns: 100 },
    );
  });
});
