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
import { planSweep, runSweep, sweepTable } from '../../../src/core/services/sweep.js';
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
    expect((error as Error).message).toMatch(
      /^sweep combinations 1–2 \(run in one pass over the ticks\): .*bad\.csv, line 4: expected 4 fields/,
    );
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

  it("a sweep that fails after some passes ran leaves an earlier sweep's journals and sweep.csv as they were", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    // An entry module that opens on the first tick and, with options.crash, throws on the 500th.
    writeFileSync(
      join(dir, 'entry.mjs'),
      `export function createEntry({ options }) {
        let n = 0;
        return { onTick(tick, candle, ctx) {
          n++;
          if (options.crash && n === 500) throw new Error('boom');
          if (ctx.positions.length === 0) return [{ kind: 'open', direction: 'BUY' }];
        } };
      }\n`,
    );
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      readFileSync(CONFIG, 'utf8').replace(
        / {4}entry:\n( {6}.*\n)+/,
        '    entry: { kind: module, path: ./entry.mjs, size: 1, stopPoints: 30, options: { crash: false, k: 0 } }\n',
      ),
    );
    const out = join(dir, 'out');
    const sweep = (sweeps: string[]) =>
      runSweep({
        configPath: config,
        tickFiles: [TICKS],
        outDir: out,
        format: 'standard',
        strict: false,
        sweeps,
        jobs: 1,
        rank: 'net',
      });
    await sweep(['exits.trailing.distance=5,10']);
    const before = ['sweep.csv', '1/trade_history.csv', '1/summary.json', '2/trade_history.csv'].map((f) =>
      readFileSync(join(out, f), 'utf8'),
    );
    // 18 combinations on one job: two passes of 9; the first (crash false) runs whole, the second fails.
    const error = await sweep(['entry.options.crash=false,true', 'entry.options.k=1..9']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^sweep combinations 10–18\b.*boom/);
    const after = ['sweep.csv', '1/trade_history.csv', '1/summary.json', '2/trade_history.csv'].map((f) =>
      readFileSync(join(out, f), 'utf8'),
    );
    expect(after).toEqual(before);
    const left = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
    expect(left).toEqual([]);
  });

  it('says what its backtests said: warnings of the swept values with their combinations, and the rows skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    const ticks = join(dir, 'bad.csv');
    const day = readFileSync(TICKS, 'utf8').trimEnd().split('\n');
    writeFileSync(
      ticks,
      `${[...day.slice(0, 100), 'not-a-time,IX.D.DAX.DAILY.IP,1,2', ...day.slice(100)].join('\n')}\n`,
    );
    const result = await runSweep({
      configPath: CONFIG,
      tickFiles: [ticks],
      outDir: join(dir, 'out'),
      format: 'standard',
      strict: false,
      sweeps: ['exits.trailing.distance=0,10'],
      jobs: 1,
      rank: 'net',
    });
    expect(result.alerts).toContainEqual({
      level: 'warn',
      message: 'IX.D.DAX.DAILY.IP: exits.trailing.distance 0 closes a position as soon as the rule is active',
      combinations: [1],
    });
    expect(result.input?.skipped.malformed).toBe(1);
    const table = sweepTable(result);
    expect(table).toContain(
      'WARN (combination 1): IX.D.DAX.DAILY.IP: exits.trailing.distance 0 closes a position as soon as the rule is active',
    );
    expect(table).toContain(`rows skipped    1 (malformed 1`);
    expect(table).toContain(`${ticks}:101:`);
  });

  it('refuses two --sweep paths that reach one key, or a key and a block above it', async () => {
    const plan = (sweeps: string[]) => planSweep(CONFIG, sweeps, undefined);
    await expect(
      plan(['exits.trailing.distance=5,10', 'markets[IX.D.DAX.DAILY.IP].exits.trailing.distance=15,20']),
    ).rejects.toThrow(
      '--sweep exits.trailing.distance and --sweep markets[IX.D.DAX.DAILY.IP].exits.trailing.distance both set markets.IX.D.DAX.DAILY.IP.exits.trailing.distance',
    );
    await expect(
      plan(['markets.IX.D.DAX.DAILY.IP.entry.fast=5,9', 'markets[IX.D.DAX.DAILY.IP].entry.fast=12']),
    ).rejects.toThrow(/both set markets\.IX\.D\.DAX\.DAILY\.IP\.entry\.fast/);
    await expect(plan(['exits.trailing=true,false', 'exits.trailing.distance=5,10'])).rejects.toThrow(
      /both set markets\.IX\.D\.DAX\.DAILY\.IP\.exits\.trailing:/,
    );
    // Keys a backtest does not read.
    for (const key of ['journal', 'stateDir', 'broker.environment'])
      await expect(plan([`${key}=a,b`])).rejects.toThrow(/cannot change a backtest/);
    // Neighbouring keys are two parameters.
    const ok = await plan(['exits.trailing.distance=5,10', 'exits.trailing.activateAt=20,30']);
    expect(ok.combinations).toHaveLength(4);
  });

  it("refuses a parameter of a market --market leaves out; a strategy's is kept (signal rows may name it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    const config = join(dir, 'two.yaml');
    writeFileSync(
      config,
      [
        'strategies:',
        '  fx: { guard: { maxDrawdown: -100 } }',
        'markets:',
        '  DAX: { pointSize: 1, decimals: 1, exits: { trailing: { distance: 10 } } }',
        '  FX: { pointSize: 0.0001, decimals: 5, strategy: fx, exits: { trailing: { distance: 10 } } }',
        '',
      ].join('\n'),
    );
    await expect(planSweep(config, ['markets[FX].exits.trailing.distance=2,4'], ['DAX'])).rejects.toThrow(
      /market FX is not among the run's markets \(DAX\)/,
    );
    // No market of the run follows fx in the configuration, but a signals file's strategy column may.
    expect((await planSweep(config, ['strategies[fx].guard.maxDrawdown=-10,-100'], ['DAX'])).combinations).toHaveLength(
      2,
    );
    expect((await planSweep(config, ['markets[FX].exits.trailing.distance=2,4'], ['FX'])).combinations).toHaveLength(2);
    expect(
      (await planSweep(config, ['strategies[fx].guard.maxDrawdown=-10,-100'], undefined)).combinations,
    ).toHaveLength(2);
  });

  it('tick caches and text files given together: said for the sweep, not as combination 1s error, nothing made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-sweep-'));
    const cache = join(dir, 'dax.tgt');
    writeFileSync(cache, 'not read');
    const error = await runSweep({
      configPath: CONFIG,
      tickFiles: [cache, TICKS],
      outDir: join(dir, 'out'),
      format: 'standard',
      strict: false,
      sweeps: ['entry.fast=5,9'],
      jobs: 1,
      rank: 'net',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      `cannot mix tick caches (${cache}) with text tick files (${TICKS}) in one run`,
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
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
