/** Parsing of --sweep and ranking: pure functions, table-driven. */
import { describe, expect, it } from 'vitest';

import { UserError } from '../../../src/core/domain/errors.js';
import {
  MAX_PASS_COMBINATIONS,
  parseSweep,
  planPasses,
  rankRows,
  sweepTable,
  type SweepRow,
} from '../../../src/core/services/sweep.js';

describe('--sweep PATH=VALUES', () => {
  it.each([
    {
      spec: 'exits.trailing.distance=5..20:5',
      path: ['exits', 'trailing', 'distance'],
      values: [5, 10, 15, 20],
      why: 'a range with a step, both ends included',
    },
    { spec: 'entry.fast=3..5', path: ['entry', 'fast'], values: [3, 4, 5], why: 'the step defaults to 1' },
    {
      spec: 'exits.profitLock.lockFraction=0.1..0.3:0.1',
      path: ['exits', 'profitLock', 'lockFraction'],
      values: [0.1, 0.2, 0.3],
      why: 'decimal steps land on the written decimals',
    },
    {
      spec: 'exits.trailing.distance=5..19:5',
      path: ['exits', 'trailing', 'distance'],
      values: [5, 10, 15],
      why: 'a range stops at the last step within it',
    },
    { spec: 'entry.fast=5,9,12', path: ['entry', 'fast'], values: [5, 9, 12], why: 'a list' },
    { spec: 'entry.timeframe=1m,5m', path: ['entry', 'timeframe'], values: ['1m', '5m'], why: 'text values' },
    {
      spec: 'exits.trailing=true,false,null',
      path: ['exits', 'trailing'],
      values: [true, false, null],
      why: 'switching a block',
    },
    {
      spec: 'markets[IX.D.DAX.DAILY.IP].entry.fast=5',
      path: ['markets', 'IX.D.DAX.DAILY.IP', 'entry', 'fast'],
      values: [5],
      why: 'a market name with dots, in brackets',
    },
    {
      spec: 'markets["A=B"].entry.fast=5',
      path: ['markets', 'A=B', 'entry', 'fast'],
      values: [5],
      why: 'a quoted name may hold "="',
    },
    {
      spec: 'exits.ladder.rungs[0].at=1,1.5',
      path: ['exits', 'ladder', 'rungs', '0', 'at'],
      values: [1, 1.5],
      why: 'a list item by index',
    },
  ])('$why: $spec', ({ spec, path, values }) => {
    const { tokens, parameter } = parseSweep(spec);
    expect(tokens.map((t) => t.key)).toEqual(path);
    expect(parameter.values).toEqual(values);
  });

  it.each([
    { spec: 'exits.trailing.distance', message: /PATH=VALUES/, why: 'no "="' },
    { spec: '=5', message: /no path|empty key/, why: 'no path' },
    { spec: 'entry.fast=', message: /empty value/, why: 'no value' },
    { spec: 'entry.fast=5,,9', message: /empty value/, why: 'an empty list item' },
    { spec: 'entry.fast=9..5', message: /ends \(5\) before it starts \(9\)/, why: 'a range going down' },
    { spec: 'entry.fast=1..5:0', message: /step must be > 0/, why: 'a zero step' },
    { spec: 'entry.fast=5..20:-5', message: /step must be > 0/, why: 'a negative step' },
    { spec: 'entry.fast=05,5.0,9', message: /5 is in the list twice/, why: 'one value written twice' },
    { spec: 'markets[IX.entry.fast=5', message: /without its "\]"/, why: 'an unclosed bracket' },
    { spec: 'entry.fast=1..100000', message: /more than/, why: 'too many values' },
  ])('rejects $why', ({ spec, message }) => {
    let error: unknown;
    try {
      parseSweep(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('ranking', () => {
  const row = (
    combination: number,
    netAmount: number,
    profitFactor: number | undefined,
    expectancyR: number | undefined,
    maxDrawdown: number,
  ): SweepRow => ({
    rank: 0,
    combination,
    params: {},
    outDir: '',
    trades: 1,
    wins: 1,
    losses: 0,
    winRate: 1,
    netPoints: netAmount,
    netAmount,
    profitFactor,
    expectancyR,
    maxDrawdown,
    openPositions: 0,
    unrealisedAmount: 0,
    ticks: 1,
    elapsedMs: 1,
  });
  const rows = [
    row(1, 100, 1.5, 0.2, 50),
    row(2, 300, 1.2, 0.1, 80),
    row(3, 50, undefined, 0.5, 10),
    row(4, 300, 2, undefined, 80),
  ];

  it('profit-factor: a combination that closed no trade ranks last, however much partial closes realised', () => {
    const none = { ...row(5, 500, undefined, undefined, 0), trades: 0, wins: 0, losses: 0, winRate: undefined };
    const ranked = rankRows([...rows, none], 'profit-factor');
    expect(ranked.map((r) => r.combination)).toEqual([3, 4, 1, 2, 5]);
  });

  it.each([
    { metric: 'net' as const, order: [2, 4, 1, 3], why: 'highest net first; a tie keeps combination order' },
    {
      metric: 'profit-factor' as const,
      order: [3, 4, 1, 2],
      why: 'no losing trade with a profit counts as an infinite factor',
    },
    { metric: 'expectancy' as const, order: [3, 1, 2, 4], why: 'no R: last' },
    {
      metric: 'max-drawdown' as const,
      order: [3, 1, 2, 4],
      why: 'smallest drawdown first, then net, then combination',
    },
  ])('$metric: $why', ({ metric, order }) => {
    const ranked = rankRows(rows, metric);
    expect(ranked.map((r) => r.combination)).toEqual(order);
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3, 4]);
  });
});

describe('passes of a sweep (combinations a worker runs over one read of the ticks)', () => {
  const dax = (n: number) => Array.from({ length: n }, () => ['DAX']);
  const sizes = (passes: number[][]) => passes.map((p) => p.length);

  it.each([
    { n: 8, jobs: 1, expected: [8], why: 'one worker: every combination in one pass' },
    { n: 8, jobs: 2, expected: [4, 4], why: 'a pass per worker' },
    { n: 3, jobs: 2, expected: [2, 1], why: 'an odd grid' },
    { n: 1, jobs: 4, expected: [1], why: 'fewer combinations than workers' },
    { n: 40, jobs: 2, expected: [10, 10, 10, 10], why: 'passes of at most MAX_PASS_COMBINATIONS, as many per worker' },
    { n: 17, jobs: 1, expected: [9, 8], why: 'one over the limit: two near-equal passes' },
    { n: 0, jobs: 2, expected: [], why: 'nothing to run' },
  ])('$n combinations on $jobs job(s): $why', ({ n, jobs, expected }) => {
    const passes = planPasses(dax(n), jobs);
    expect(sizes(passes)).toEqual(expected);
    // Every combination once, in order.
    expect(passes.flat()).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const pass of passes) expect(pass.length).toBeLessThanOrEqual(MAX_PASS_COMBINATIONS);
  });

  it('never puts combinations that read different markets in one pass', () => {
    const markets = [['DAX'], ['DAX'], ['DAX', 'FTSE'], ['DAX', 'FTSE'], ['DAX']];
    expect(planPasses(markets, 1)).toEqual([[0, 1], [2, 3], [4]]);
  });
});

describe('the sweep table', () => {
  it('names at most ten combinations of an alert, and says how many gave it', () => {
    const result = {
      kind: 'sweep' as const,
      parameters: [],
      rank: 'net' as const,
      jobs: 1,
      combinations: 40,
      rows: [],
      csvPath: 'out/sweep.csv',
      outDir: 'out',
      elapsedMs: 1,
      ticks: 0,
      ticksPerSecond: 0,
      input: undefined,
      alerts: [{ level: 'warn', message: 'careful', combinations: Array.from({ length: 25 }, (_, i) => i + 1) }],
    };
    expect(sweepTable(result)).toContain(
      'WARN (combinations 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (25 in all; --json lists each)): careful',
    );
  });
});
