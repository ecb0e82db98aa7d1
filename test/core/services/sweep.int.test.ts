/**
 * A sweep runs the real backtest per combination: a 2×2 grid on the demo day, in worker threads,
 * gives for its best row exactly what a single backtest with those parameters gives.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runBacktest } from '../../../src/core/services/backtest.js';
import { runSweep } from '../../../src/core/services/sweep.js';
import { UserError } from '../../../src/core/domain/errors.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const TICKS = join(ROOT, 'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv');
const CONFIG = join(ROOT, 'fixtures/configs/demo.yaml');

/** The error of a two-combination sweep on one job over `ticks` (what it rejects with). */
const sweepError = (ticks: string, outDir: string, strict: boolean): Promise<unknown> =>
  runSweep({
    configPath: CONFIG,
    tickFiles: [ticks],
    outDir,
    format: 'standard',
    strict,
    sweeps: ['entry.fast=5,9'],
    jobs: 1,
    rank: 'net',
  }).catch((e: unknown) => e);

describe('backtest --sweep', () => {
  it('a 2×2 sweep on the demo day: every combination ran, the best equals a single backtest with its parameters', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    const result = await runSweep({
      configPath: CONFIG,
      tickFiles: [TICKS],
      outDir: out,
      format: 'standard',
      strict: false,
      sweeps: ['exits.trailing.distance=10..20:10', 'markets.IX.D.DAX.DAILY.IP.entry.fast=5,9'],
      jobs: 2,
      rank: 'net',
    });
    expect(result.combinations).toBe(4);
    expect(result.rows.map((r) => r.params)).toHaveLength(4);
    expect(new Set(result.rows.map((r) => r.combination))).toEqual(new Set([1, 2, 3, 4]));
    // Combinations in grid order: the first --sweep varies slowest.
    const byCombination = [...result.rows].sort((a, b) => a.combination - b.combination).map((r) => r.params);
    expect(byCombination).toEqual([
      { 'exits.trailing.distance': 10, 'markets.IX.D.DAX.DAILY.IP.entry.fast': 5 },
      { 'exits.trailing.distance': 10, 'markets.IX.D.DAX.DAILY.IP.entry.fast': 9 },
      { 'exits.trailing.distance': 20, 'markets.IX.D.DAX.DAILY.IP.entry.fast': 5 },
      { 'exits.trailing.distance': 20, 'markets.IX.D.DAX.DAILY.IP.entry.fast': 9 },
    ]);
    const nets = result.rows.map((r) => r.netAmount);
    expect(nets, 'ranked by net, best first').toEqual([...nets].sort((a, b) => b - a));

    // The same parameters written into a config file by hand, run as one ordinary backtest.
    const best = result.rows[0]!;
    const text = readFileSync(CONFIG, 'utf8')
      .replace(
        'trailing: { activateAt: 25, distance: 10 }',
        `trailing: { activateAt: 25, distance: ${best.params['exits.trailing.distance']} }`,
      )
      .replace('fast: 9', `fast: ${best.params['markets.IX.D.DAX.DAILY.IP.entry.fast']}`);
    const configPath = join(out, 'best.yaml');
    writeFileSync(configPath, text.replaceAll('../../out', join(ROOT, 'out')));
    const single = await runBacktest({
      configPath,
      tickFiles: [TICKS],
      outDir: join(out, 'single'),
      format: 'standard',
      strict: false,
    });
    expect(best).toMatchObject({
      trades: single.trades.trades,
      wins: single.trades.wins,
      netAmount: single.trades.netAmount,
      netPoints: single.trades.netPoints,
      profitFactor: single.trades.profitFactor,
      expectancyR: single.trades.expectancyR,
      maxDrawdown: single.trades.maxDrawdown,
      ticks: single.ticks.ticks,
    });
    expect(readFileSync(join(best.outDir, 'trade_history.csv'), 'utf8'), 'the same journal, byte for byte').toBe(
      readFileSync(single.journalPath, 'utf8'),
    );

    const csv = readFileSync(result.csvPath, 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'rank,combination,exits.trailing.distance,markets.IX.D.DAX.DAILY.IP.entry.fast,trades,wins,losses,win_rate,net_points,net_amount,profit_factor,expectancy_r,max_drawdown,open_positions,unrealised_amount,journal',
    );
    expect(csv).toHaveLength(5);
    expect(csv[1]!.startsWith(`1,${best.combination},`)).toBe(true);
  });

  it('a value the configuration schema refuses stops the sweep before any run, naming the combination', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    await expect(
      runSweep({
        configPath: CONFIG,
        tickFiles: [TICKS],
        outDir: out,
        format: 'standard',
        strict: false,
        sweeps: ['exits.trailing.distance=10,-1'],
        rank: 'net',
      }),
    ).rejects.toThrow(
      /sweep combination 2 \(exits\.trailing\.distance=-1\)[\s\S]*distance: got -1; expected a number ≥ 0/,
    );
  });

  it('a failure inside a run (a bad row under --strict) is a UserError of the sweep, naming the pass', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    const ticks = join(out, 'bad.csv');
    writeFileSync(ticks, `${readFileSync(TICKS, 'utf8').split('\n').slice(0, 3).join('\n')}\nnot-a-time,1,2\n`);
    const error = await sweepError(ticks, out, true);
    expect(error).toBeInstanceOf(UserError);
    // One worker runs both combinations in one pass over the ticks: the error is the pass's.
    expect((error as Error).message).toMatch(/^sweep combinations 1–2: .*bad\.csv, line 4: expected 4 fields/);
  });

  it('a failed sweep on 2 jobs leaves no temporary file of the run the other worker was writing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    const ticks = join(out, 'bad.csv');
    const day = readFileSync(TICKS, 'utf8').trimEnd().split('\n');
    // The bad row comes late, so that both workers are writing their journals when the first fails.
    writeFileSync(
      ticks,
      `${[...day, ...day.slice(1).map((l) => l.replace('2024-03-14', '2024-03-15'))].join('\n')}\nnot-a-time,1,2\n`,
    );
    const error = await runSweep({
      configPath: CONFIG,
      tickFiles: [ticks],
      outDir: join(out, 'sweep'),
      format: 'standard',
      strict: true,
      sweeps: ['entry.fast=5,9'],
      jobs: 2,
      rank: 'net',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    const left = readdirSync(join(out, 'sweep'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.tmp'),
    );
    expect(left).toEqual([]);
  });

  it('a missing tick file is found before any worker runs, and nothing is written', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tg-sweep-')), 'out');
    const error = await sweepError(join(out, 'missing.csv'), out, false);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(`tick file not found: ${join(out, 'missing.csv')}`);
    expect(existsSync(out)).toBe(false);
  });

  it('reports progress within a pass, as the share of the ticks read, up to every combination done', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    // Two days of ticks, 2 MB: the reader reports its progress per 1 MiB chunk.
    const day = readFileSync(TICKS, 'utf8');
    const ticks = join(out, 'two-days.csv');
    writeFileSync(ticks, day + day.split('\n').slice(1).join('\n').replaceAll('2024-03-14', '2024-03-15'));
    const seen: number[] = [];
    const finished: number[] = [];
    const result = await runSweep({
      configPath: CONFIG,
      tickFiles: [ticks],
      outDir: out,
      format: 'standard',
      strict: false,
      sweeps: ['exits.trailing.distance=10,20'],
      jobs: 1,
      rank: 'net',
      onProgress: (done, total) => {
        expect(total).toBe(2);
        seen.push(done);
      },
      onCombination: (done) => finished.push(done),
    });
    expect(result.combinations).toBe(2);
    expect(seen, 'never goes back').toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(2);
    // One pass runs both combinations: half-way through its ticks, both are half done.
    expect(seen.some((done) => done > 0 && done < 2)).toBe(true);
    expect(finished).toEqual([1, 2]);
  });

  it('through the built CLI (workers from dist/): the table, sweep.csv and one journal per combination', () => {
    const out = mkdtempSync(join(tmpdir(), 'tg-sweep-cli-'));
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/run.js'),
        'backtest',
        TICKS,
        '--config',
        CONFIG,
        '--out',
        out,
        '--sweep',
        'markets[IX.D.DAX.DAILY.IP].exits.trailing.activateAt=15,25',
        '--jobs',
        '2',
        '--rank',
        'max-drawdown',
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Sweep of 2 combinations on 2 worker\(s\), ranked by max-drawdown/);
    expect(r.stdout).toMatch(/markets\[IX\.D\.DAX\.DAILY\.IP\]\.exits\.trailing\.activateAt/);
    for (const n of [1, 2]) expect(existsSync(join(out, String(n), 'trade_history.csv'))).toBe(true);
    expect(readFileSync(join(out, 'sweep.csv'), 'utf8').split('\n')[0]).toMatch(/^rank,combination,"?markets/);
  });
});
