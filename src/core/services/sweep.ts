/**
 * Parameter sweeps (`backtest --sweep`, issue 4): the grid of configurations, each validated by
 * the real configuration schema, run by the real `runBacktest` across worker threads, ranked.
 *
 * Path syntax of `--sweep PATH=VALUES`:
 * - `exits.trailing.distance`, `entry.fast`, `stopStep`: relative to a market, applied to every
 *   market of the run (the `--market` ones, else all configured);
 * - `markets[IX.D.DAX.DAILY.IP].entry.fast` (or `markets["…"]…`): one market; the dotted form
 *   `markets.IX.D.DAX.DAILY.IP.entry.fast` works too: the longest configured market name that
 *   the path starts with wins;
 * - `strategies[scalper].guard.maxDrawdown` (or dotted): a strategy's settings.
 * A key under an absent or switched-off block (`false`, `null`, `true`) creates the block, i.e.
 * switches it on with the defaults for its other keys.
 *
 * Values: `5..20:5` (5, 10, 15, 20; the step defaults to 1), or a list `5,9,12`; list items are
 * numbers, `true`, `false`, `null`, or text (`1m`, `Europe/London`).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';

import { stringify } from 'csv-stringify/sync';
import { parse as parseYaml } from 'yaml';

import { formatNumber } from '../adapters/files/journal-csv.js';
import { makeOutputDir } from '../adapters/files/output-dir.js';
import { mixedTicksError } from '../adapters/files/tick-cache/index.js';
import { checkTickFiles } from '../adapters/files/ticks/chunks.js';
import { startWorker } from '../adapters/threads/start-worker.js';
import { loadConfig, parseConfig, selectMarkets } from '../config/load.js';
import type { Config } from '../domain/config.js';
import { InvariantError, UserError } from '../domain/errors.js';
import {
  commitRunFiles,
  removeRunTempFiles,
  sweepTableTempFile,
  type BacktestOptions,
  type BacktestResult,
} from './backtest.js';
import type { TickSummary } from './summary.js';

export type SweepValue = number | boolean | string | null;
export type RankMetric = 'net' | 'profit-factor' | 'expectancy' | 'max-drawdown';
export const RANK_METRICS: readonly RankMetric[] = ['net', 'profit-factor', 'expectancy', 'max-drawdown'];

/** Most combinations a sweep may have: a typo in a range should not start a week of work. */
export const MAX_COMBINATIONS = 10_000;

export interface SweepOptions extends Omit<BacktestOptions, 'config' | 'onProgress'> {
  /** `PATH=VALUES` as given to --sweep, in order: the first varies slowest. */
  sweeps: readonly string[];
  /** Worker threads; default one per core. */
  jobs?: number | undefined;
  rank: RankMetric;
  /** After each finished combination. */
  onCombination?: ((done: number, total: number) => void) | undefined;
  /**
   * As the passes read their ticks: `done` combinations' worth of work (fractional: a pass that
   * has read half its ticks counts half of its combinations) out of `total` combinations.
   */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface SweepParameter {
  /** The path as written. */
  path: string;
  values: SweepValue[];
}

export interface SweepRow {
  rank: number;
  /** 1-based; the combination's journal is in `<out>/<combination>/`. */
  combination: number;
  params: Record<string, SweepValue>;
  outDir: string;
  trades: number;
  wins: number;
  losses: number;
  winRate: number | undefined;
  netPoints: number;
  netAmount: number;
  profitFactor: number | undefined;
  expectancyR: number | undefined;
  maxDrawdown: number;
  openPositions: number;
  unrealisedAmount: number;
  ticks: number;
  /** Wall time of the pass that ran the combination (a pass runs several: MAX_PASS_COMBINATIONS). */
  elapsedMs: number;
}

export interface SweepResult {
  kind: 'sweep';
  parameters: SweepParameter[];
  rank: RankMetric;
  jobs: number;
  combinations: number;
  /** Best first, by `rank`. */
  rows: SweepRow[];
  csvPath: string;
  outDir: string;
  elapsedMs: number;
  /** Ticks of one run (every combination reads the same ticks). */
  ticks: number;
  /** Ticks processed by all combinations together per second of wall clock. */
  ticksPerSecond: number;
  /** What every combination read (the same ticks): counts, skipped rows and the first of them. */
  input: TickSummary | undefined;
  /**
   * The combinations' warnings and alerts (configuration warnings, which swept values may cause,
   * and the engine's, such as a strategy guard's trip), each once with the combinations that said it.
   */
  alerts: { level: string; message: string; combinations: number[] }[];
}

// ---------------------------------------------------------------------------------------------
// Parsing --sweep

interface PathToken {
  key: string;
  /** Written as `[key]` (a whole name) rather than `.key`. */
  bracketed: boolean;
}

function tokenizePath(text: string, spec: string): PathToken[] {
  const tokens: PathToken[] = [];
  let i = 0;
  const bad = (why: string) =>
    new UserError(
      `--sweep ${spec}: ${why}`,
      'paths look like exits.trailing.distance, entry.fast or markets[IX.D.DAX.DAILY.IP].entry.fast',
    );
  while (i < text.length) {
    const c = text[i];
    if (c === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) throw bad('a "[" without its "]"');
      let key = text.slice(i + 1, close).trim();
      if ((key.startsWith('"') && key.endsWith('"')) || (key.startsWith("'") && key.endsWith("'")))
        key = key.slice(1, -1);
      if (key === '') throw bad('an empty [] in the path');
      tokens.push({ key, bracketed: true });
      i = close + 1;
      if (text[i] === '.') i++;
      continue;
    }
    let end = i;
    while (end < text.length && text[end] !== '.' && text[end] !== '[') end++;
    const key = text.slice(i, end).trim();
    if (key === '') throw bad('an empty key in the path');
    tokens.push({ key, bracketed: false });
    i = end;
    if (text[i] === '.') {
      i++;
      if (i === text.length) throw bad('the path ends with "."');
    }
  }
  if (tokens.length === 0) throw bad('no path before "="');
  return tokens;
}

function decimalsIn(text: string): number {
  const m = /\.(\d+)/.exec(text);
  return m ? m[1]!.length : 0;
}

function parseValues(text: string, spec: string): SweepValue[] {
  const range = /^\s*(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)\s*(?::\s*(-?\d+(?:\.\d+)?)\s*)?$/.exec(text);
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    const step = range[3] === undefined ? 1 : Number(range[3]);
    if (!(step > 0)) throw new UserError(`--sweep ${spec}: the step must be > 0`);
    if (to < from) throw new UserError(`--sweep ${spec}: the range ends (${to}) before it starts (${from})`);
    const count = Math.floor((to - from) / step + 1e-9) + 1;
    if (count > MAX_COMBINATIONS)
      throw new UserError(`--sweep ${spec}: ${count} values, more than ${MAX_COMBINATIONS}`);
    // Computed from integers and rounded to the decimals written, so 0.1..0.3:0.1 gives 0.3, not 0.30000000000000004.
    const decimals = Math.max(decimalsIn(range[1]!), decimalsIn(range[2]!), decimalsIn(range[3] ?? ''));
    return Array.from({ length: count }, (_, i) => Number((from + i * step).toFixed(decimals)));
  }
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === ''))
    throw new UserError(`--sweep ${spec}: an empty value in the list`, 'values look like 5..20:5 or 5,9,12');
  const values = items.map((item): SweepValue => {
    if (item === 'true') return true;
    if (item === 'false') return false;
    if (item === 'null') return null;
    if (/^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(item)) return Number(item);
    if (
      (item.startsWith('"') && item.endsWith('"') && item.length >= 2) ||
      (item.startsWith("'") && item.endsWith("'") && item.length >= 2)
    )
      return item.slice(1, -1);
    return item;
  });
  // 5, 05 and 5.0 are one value: the same combination would run twice.
  const seen = new Set<SweepValue>();
  for (const value of values) {
    if (seen.has(value)) throw new UserError(`--sweep ${spec}: ${JSON.stringify(value)} is in the list twice`);
    seen.add(value);
  }
  return values;
}

/** Parses `PATH=VALUES` (SPEC-free: issue 4's sweep syntax, documented at the top of this file). */
export function parseSweep(spec: string): { tokens: PathToken[]; parameter: SweepParameter } {
  // The path ends at the first "=" outside brackets.
  let depth = 0;
  let eq = -1;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === '=' && depth === 0) {
      eq = i;
      break;
    }
  }
  if (eq < 0 && depth > 0) throw new UserError(`--sweep ${spec}: a "[" without its "]"`);
  if (eq < 0)
    throw new UserError(
      `--sweep ${spec}: expected PATH=VALUES`,
      'e.g. --sweep exits.trailing.distance=5..20:5 --sweep entry.fast=5,9,12',
    );
  const path = spec.slice(0, eq).trim();
  const tokens = tokenizePath(path, spec);
  const values = parseValues(spec.slice(eq + 1), spec);
  return { tokens, parameter: { path, values } };
}

// ---------------------------------------------------------------------------------------------
// Applying a combination to the raw configuration

type Raw = Record<string, unknown>;

const MARKET_KEYS = new Set([
  'pointSize',
  'decimals',
  'valuePerPoint',
  'lotStep',
  'minStopDistance',
  'stopStep',
  'strategy',
  'entry',
  'exits',
]);
/** Top-level keys a backtest does not read (markets and strategies are handled above). */
const TOP_KEYS = new Set(['broker', 'stateDir', 'journal']);

/** Where a parameter goes: one or more absolute key paths in the raw configuration. */
function targetsOf(tokens: PathToken[], raw: Raw, selected: readonly string[], spec: string): string[][] {
  const first = tokens[0]!;
  if (!first.bracketed && (first.key === 'markets' || first.key === 'strategies')) {
    const names = Object.keys(isObject(raw[first.key]) ? (raw[first.key] as Raw) : {});
    const rest = tokens.slice(1);
    if (rest.length === 0)
      throw new UserError(
        `--sweep ${spec}: name a ${first.key === 'markets' ? 'market' : 'strategy'} and a key after "${first.key}"`,
      );
    if (rest[0]!.bracketed) {
      if (!names.includes(rest[0]!.key)) throw unknownName(spec, first.key, rest[0]!.key, names);
      return [[first.key, rest[0]!.key, ...rest.slice(1).map((t) => t.key)]];
    }
    // Dotted: the longest configured name made of the leading plain segments.
    let best = -1;
    for (let k = 1; k <= rest.length; k++) {
      if (rest.slice(0, k).some((t) => t.bracketed)) break;
      const name = rest
        .slice(0, k)
        .map((t) => t.key)
        .join('.');
      if (names.includes(name)) best = k;
    }
    if (best < 0) throw unknownName(spec, first.key, rest[0]!.key, names);
    const name = rest
      .slice(0, best)
      .map((t) => t.key)
      .join('.');
    if (best === rest.length) throw new UserError(`--sweep ${spec}: name a key of ${first.key}.${name}`);
    return [[first.key, name, ...rest.slice(best).map((t) => t.key)]];
  }
  if (!first.bracketed && TOP_KEYS.has(first.key))
    throw new UserError(
      `--sweep ${spec}: "${first.key}" cannot change a backtest`,
      "sweep a market setting (exits.…, entry.…, markets[NAME].…) or a strategy's (strategies[NAME].…)",
    );
  if (!MARKET_KEYS.has(first.key)) {
    throw new UserError(
      `--sweep ${spec}: "${first.key}" is not a market setting`,
      `a relative path starts with one of ${[...MARKET_KEYS].join(', ')}; or write markets[NAME].… / strategies[NAME].…`,
    );
  }
  return selected.map((market) => ['markets', market, ...tokens.map((t) => t.key)]);
}

/**
 * Two parameters that reach one key (`exits.trailing.distance` and `markets[X].exits.trailing.distance`,
 * or the dotted and bracketed spellings of one market), or a key and a block above it
 * (`exits.trailing=false` and `exits.trailing.distance`): the later would silently override the
 * earlier in every combination, so the table would name values never used.
 */
function checkDistinctTargets(parsed: readonly { parameter: SweepParameter }[], targets: readonly string[][][]): void {
  const within = (a: readonly string[], b: readonly string[]) => a.every((key, i) => b[i] === key);
  for (let k = 1; k < targets.length; k++) {
    for (let j = 0; j < k; j++) {
      for (const a of targets[j]!) {
        for (const b of targets[k]!) {
          if (within(a, b) || within(b, a))
            throw overlapping(parsed[j]!.parameter.path, parsed[k]!.parameter.path, a.length <= b.length ? a : b);
        }
      }
    }
  }
}

function overlapping(first: string, second: string, path: readonly string[]): UserError {
  return new UserError(
    `--sweep ${first} and --sweep ${second} both set ${path.join('.')}: the later would override the earlier in every combination`,
    'sweep each key once',
  );
}

/**
 * A parameter of a market that `--market` leaves out cannot change the run: every combination
 * would be the same backtest. (A strategy's are not checked so: a signals file's `strategy`
 * column, or a swept `strategy` key, may give it positions that no market's setting names.)
 */
function checkSelectedTargets(
  parsed: readonly { parameter: SweepParameter }[],
  targets: readonly string[][][],
  selected: readonly string[],
): void {
  parsed.forEach((p, k) => {
    const paths = targets[k]!;
    if (paths.some((path) => path[0] !== 'markets' || selected.includes(path[1]!))) return;
    throw new UserError(
      `--sweep ${p.parameter.path}: market ${paths[0]![1]} is not among the run's markets (${selected.join(', ')}): every combination would be the same run`,
      'sweep a key of a market the run reads, or name it with --market',
    );
  });
}

function unknownName(spec: string, kind: string, name: string, names: string[]): UserError {
  return new UserError(
    `--sweep ${spec}: no ${kind === 'markets' ? 'market' : 'strategy'} "${name}" in the configuration`,
    `configured: ${names.join(', ') || 'none'}`,
  );
}

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setPath(raw: Raw, path: readonly string[], value: SweepValue): void {
  let node: Raw | unknown[] = raw;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || index >= node.length)
        throw new UserError(`sweep path ${path.join('.')}: no item ${key} in the list`);
      const next: unknown = node[index];
      if (!isObject(next) && !Array.isArray(next)) node[index] = {};
      node = node[index] as Raw | unknown[];
      continue;
    }
    const next: unknown = node[key];
    // Absent, or a block switched off or on with defaults: make it a mapping (on) to set the key in.
    if (!isObject(next) && !Array.isArray(next)) node[key] = {};
    node = node[key] as Raw | unknown[];
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= node.length)
      throw new UserError(`sweep path ${path.join('.')}: no item ${last} in the list`);
    node[index] = value;
  } else {
    node[last] = value;
  }
}

function readRawConfig(path: string): Raw {
  let text = readFileSync(path, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const raw: unknown =
    extname(path).toLowerCase() === '.json'
      ? JSON.parse(text)
      : parseYaml(text, { uniqueKeys: true, maxAliasCount: 1000 });
  if (!isObject(raw)) throw new InvariantError('configuration validated but not a mapping');
  return raw;
}

export interface SweepPlan {
  parameters: SweepParameter[];
  /** Per combination: its values (by path) and its validated configuration. */
  combinations: { params: Record<string, SweepValue>; config: Config }[];
}

/**
 * The grid: every combination of the parameters' values (the first parameter varies slowest),
 * each applied to the raw configuration file and validated by the configuration schema, so a bad
 * value is reported, with its combination, before any backtest starts.
 */
export async function planSweep(
  configPath: string,
  sweeps: readonly string[],
  markets: readonly string[] | undefined,
): Promise<SweepPlan> {
  if (sweeps.length === 0) throw new UserError('no --sweep given');
  await loadConfig(configPath); // the file itself must be valid: its own errors, worded as usual
  const raw = readRawConfig(configPath);
  const configured = Object.keys(isObject(raw.markets) ? raw.markets : {});
  const selected = markets !== undefined && markets.length > 0 ? [...markets] : configured;
  for (const m of selected) {
    if (!configured.includes(m))
      throw new UserError(`--market ${m} is not in the configuration`, `configured markets: ${configured.join(', ')}`);
  }
  const parsed = sweeps.map((spec) => ({ spec, ...parseSweep(spec) }));
  const seen = new Set<string>();
  for (const p of parsed) {
    if (seen.has(p.parameter.path))
      throw new UserError(`--sweep ${p.parameter.path} is given twice`, 'list all its values in one --sweep');
    seen.add(p.parameter.path);
  }
  const targets = parsed.map((p) => targetsOf(p.tokens, raw, selected, p.spec));
  checkDistinctTargets(parsed, targets);
  checkSelectedTargets(parsed, targets, selected);
  const total = parsed.reduce((n, p) => n * p.parameter.values.length, 1);
  if (total > MAX_COMBINATIONS)
    throw new UserError(
      `the sweep has ${total} combinations, more than ${MAX_COMBINATIONS}`,
      'use fewer values or coarser steps',
    );

  const baseDir = dirname(resolve(configPath));
  const combinations: SweepPlan['combinations'] = [];
  const index = parsed.map(() => 0);
  for (let n = 0; n < total; n++) {
    const copy = structuredClone(raw);
    const params: Record<string, SweepValue> = {};
    parsed.forEach((p, k) => {
      const value = p.parameter.values[index[k]!]!;
      params[p.parameter.path] = value;
      for (const path of targets[k]!) setPath(copy, path, value);
    });
    let config: Config;
    try {
      config = parseConfig(copy, configPath, { baseDir });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      const where = Object.entries(params)
        .map(([path, value]) => `${path}=${String(value)}`)
        .join(', ');
      throw new UserError(
        `sweep combination ${n + 1} (${where}) is not a valid configuration:\n${error.message}`,
        'change the --sweep values',
      );
    }
    combinations.push({ params, config });
    // Odometer: the last parameter varies fastest.
    for (let k = parsed.length - 1; k >= 0; k--) {
      index[k]!++;
      if (index[k]! < parsed[k]!.parameter.values.length) break;
      index[k] = 0;
    }
  }
  return { parameters: parsed.map((p) => p.parameter), combinations };
}

// ---------------------------------------------------------------------------------------------
// Running and ranking

/** Sent to a worker: combinations to run in one pass over the ticks (`runBacktests`). */
export interface SweepTask {
  /** 0-based combination numbers, in the order of `options`. */
  indices: number[];
  options: Omit<BacktestOptions, 'onProgress'>[];
}

/**
 * Sent back by a worker: how far its pass has read (0–1), then every combination of the task, or
 * the error that stopped the pass.
 */
export type SweepReply =
  | { indices: number[]; read: number }
  | { indices: number[]; results: BacktestResult[] }
  | {
      indices: number[];
      error: { name: string; message: string; hint?: string | undefined; stack?: string | undefined };
    };

/**
 * Most combinations one worker runs in one pass over the ticks. A pass reads and decodes the ticks
 * once for all of them (for a text file that is about half of a run's time); each combination
 * keeps its own journal file open and its own engine in memory while the pass lasts.
 */
export const MAX_PASS_COMBINATIONS = 16;

/**
 * The passes of a sweep: consecutive combinations, as few passes as MAX_PASS_COMBINATIONS allows
 * but a whole number per worker, of near-equal sizes (they take near-equal times). Combinations
 * that would read different markets are never put in one pass.
 */
export function planPasses(markets: readonly string[][], jobs: number): number[][] {
  const total = markets.length;
  const count = jobs * Math.ceil(total / (jobs * MAX_PASS_COMBINATIONS));
  const size = Math.max(1, Math.ceil(total / Math.max(1, count)));
  const passes: number[][] = [];
  let current: number[] = [];
  let key = '';
  for (let index = 0; index < total; index++) {
    const own = (markets[index] as string[]).join('\n');
    if (current.length > 0 && (current.length >= size || own !== key)) {
      passes.push(current);
      current = [];
    }
    key = own;
    current.push(index);
  }
  if (current.length > 0) passes.push(current);
  return passes;
}

function workerFor(): Worker {
  return startWorker(import.meta.url, './sweep-worker.ts', 'sweep-worker');
}

const metricKey: Record<RankMetric, (r: SweepRow) => number> = {
  net: (r) => r.netAmount,
  // No losing trade: an infinite profit factor when a trade was won; no trade (or only trades
  // that made exactly 0) the bottom, whatever partial closes of a position still open realised.
  'profit-factor': (r) => r.profitFactor ?? (allWon(r) ? Infinity : -Infinity),
  expectancy: (r) => r.expectancyR ?? -Infinity,
  'max-drawdown': (r) => -r.maxDrawdown,
};

/** Trades won and none lost: a profit factor without a denominator, shown as infinite. */
function allWon(r: SweepRow): boolean {
  return r.profitFactor === undefined && r.wins > 0 && r.losses === 0;
}

/** Best first by `metric` (higher is better; for max-drawdown smaller is), then net P&L, then combination. */
export function rankRows(rows: SweepRow[], metric: RankMetric): SweepRow[] {
  const key = metricKey[metric];
  const sorted = [...rows].sort(
    (a, b) => key(b) - key(a) || b.netAmount - a.netAmount || a.combination - b.combination,
  );
  return sorted.map((row, i) => ({ ...row, rank: i + 1 }));
}

function rowOf(combination: number, params: Record<string, SweepValue>, r: BacktestResult, outDir: string): SweepRow {
  const t = r.trades;
  return {
    rank: 0,
    combination,
    params,
    outDir,
    trades: t.trades,
    wins: t.wins,
    losses: t.losses,
    winRate: t.winRate,
    netPoints: t.netPoints,
    netAmount: t.netAmount,
    profitFactor: t.profitFactor,
    expectancyR: t.expectancyR,
    maxDrawdown: t.maxDrawdown,
    openPositions: r.openPositions.length,
    unrealisedAmount: r.unrealisedAmount,
    ticks: r.ticks.ticks,
    elapsedMs: r.elapsedMs,
  };
}

/** The grid's size from the --sweep values alone; a bad spec counts as 1 (planSweep then says why). */
function countCombinations(sweeps: readonly string[]): number {
  try {
    return Math.max(
      1,
      sweeps.reduce((n, spec) => n * parseSweep(spec).parameter.values.length, 1),
    );
  } catch {
    return 1;
  }
}

function whichCombinations(indices: readonly number[]): string {
  return indices.length === 1
    ? `sweep combination ${indices[0]! + 1}`
    : `sweep combinations ${indices[0]! + 1}–${indices[indices.length - 1]! + 1} (run in one pass over the ticks)`;
}

function errorFrom(
  e: { name: string; message: string; hint?: string | undefined; stack?: string | undefined },
  indices: readonly number[],
): Error {
  const which = whichCombinations(indices);
  if (e.name === 'UserError') return new UserError(`${which}: ${e.message}`, e.hint);
  const error = new Error(`${which}: ${e.message}`);
  if (e.stack !== undefined) error.stack = e.stack;
  return error;
}

/**
 * Runs every combination of the sweep through the real backtest in worker threads, each worker on
 * its own stream of the tick files, in passes of several combinations (`planPasses`,
 * `runBacktests`); journals go to `<out>/<combination>/`, the ranked table to `<out>/sweep.csv`.
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const started = performance.now();
  if (options.jobs !== undefined && (!Number.isInteger(options.jobs) || options.jobs < 1))
    throw new UserError(`--jobs must be a whole number ≥ 1, got ${options.jobs}`);
  // No more workers than combinations (each is a V8 isolate of its own, ~7 MB and its start-up).
  const wanted = Math.min(Math.max(1, options.jobs ?? availableParallelism()), countCombinations(options.sweeps));
  // The workers load their modules while the grid is planned and validated (the serial part of a
  // sweep is what limits its scaling).
  const workers: Worker[] = Array.from({ length: wanted }, () => workerFor());
  const early: Error[] = [];
  for (const worker of workers) worker.on('error', (error) => early.push(error));
  let removeTempFiles: (() => void) | undefined;
  try {
    checkTickFiles(options.tickFiles);
    // Said once for the sweep, before any worker reads (not as combination 1's error).
    const mixed = mixedTicksError(options.tickFiles);
    if (mixed !== undefined) throw mixed;
    const plan = await planSweep(options.configPath, options.sweeps, options.markets);
    const total = plan.combinations.length;
    const jobs = Math.min(wanted, total);
    await Promise.all(workers.splice(jobs).map((worker) => worker.terminate()));
    const outDir = resolve(options.outDir);
    makeOutputDir(outDir);
    // A worker stopped mid-pass (another one failed) leaves its runs' files under their temporary
    // names: a failed sweep leaves no half-written file (docs/decisions.md 15).
    removeTempFiles = () => removeRunTempFiles(outDir, { madeOutDir: false });
    const base: Omit<BacktestOptions, 'onProgress' | 'config' | 'outDir'> = {
      configPath: options.configPath,
      tickFiles: [...options.tickFiles],
      from: options.from,
      to: options.to,
      markets: options.markets === undefined ? undefined : [...options.markets],
      format: options.format,
      strict: options.strict,
      timezone: options.timezone,
      // Each combination reads on its own worker's thread: the workers already take every core.
      readerThread: false,
      deferCommit: true,
    };

    const passes = planPasses(
      plan.combinations.map(({ config }) => selectMarkets(config, options.markets).map((m) => m.market)),
      jobs,
    );
    const rows: SweepRow[] = new Array<SweepRow>(total);
    let input: TickSummary | undefined;
    const alerts = new Map<string, { level: string; message: string; combinations: number[] }>();
    let next = 0;
    let done = 0;
    // Progress: finished combinations plus the share read by each pass under way.
    const reading = new Map<Worker, { size: number; read: number }>();
    // The pass each worker runs, to name in a failure that does not come back as a reply.
    const inFlight = new Map<Worker, number[]>();
    const running = (worker: Worker) => {
      const indices = inFlight.get(worker);
      return indices === undefined ? 'a sweep worker' : `${whichCombinations(indices)}: their worker`;
    };
    const progress = () => {
      let partial = 0;
      for (const pass of reading.values()) partial += pass.size * pass.read;
      options.onProgress?.(done + partial, total);
    };
    await new Promise<void>((resolveAll, rejectAll) => {
      let failed = false;
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        rejectAll(error);
      };
      if (early.length > 0) {
        fail(early[0]!);
        return;
      }
      const dispatch = (worker: Worker) => {
        if (next >= passes.length) return;
        const indices = passes[next++]!;
        const task: SweepTask = {
          indices,
          options: indices.map((index) => ({
            ...base,
            outDir: join(outDir, String(index + 1)),
            config: plan.combinations[index]!.config,
          })),
        };
        inFlight.set(worker, indices);
        worker.postMessage(task);
      };
      for (const worker of workers) {
        worker.on('message', (reply: SweepReply) => {
          if ('read' in reply) {
            reading.set(worker, { size: reply.indices.length, read: reply.read });
            progress();
            return;
          }
          reading.delete(worker);
          if ('error' in reply) {
            fail(errorFrom(reply.error, reply.indices));
            return;
          }
          reply.indices.forEach((index, k) => {
            const combination = index + 1;
            const result = reply.results[k]!;
            input ??= result.ticks;
            for (const a of result.alerts) {
              const key = `${a.level}\n${a.message}`;
              const seen = alerts.get(key);
              if (seen === undefined) alerts.set(key, { ...a, combinations: [combination] });
              else seen.combinations.push(combination);
            }
            rows[index] = rowOf(
              combination,
              plan.combinations[index]!.params,
              reply.results[k]!,
              join(outDir, String(combination)),
            );
            done++;
            options.onCombination?.(done, total);
          });
          progress();
          if (done === total) resolveAll();
          else dispatch(worker);
        });
        worker.on('error', (error) => {
          const wrapped = new Error(`${running(worker)} failed: ${error.message}`);
          if (error.stack !== undefined) wrapped.stack = error.stack;
          fail(wrapped);
        });
        worker.on('exit', (code) => {
          if (done < total) fail(new Error(`${running(worker)} stopped (exit code ${code}) before the sweep was done`));
        });
        dispatch(worker);
      }
    });

    const ranked = rankRows(rows, options.rank);
    const csvPath = join(outDir, 'sweep.csv');
    // Every combination has run: only now do the journals replace an earlier sweep's, then the
    // table (its own temporary file first, as a journal's).
    for (let i = 1; i <= total; i++) commitRunFiles(join(outDir, String(i)));
    const tmpCsv = sweepTableTempFile(outDir);
    writeFileSync(tmpCsv, sweepCsv(plan.parameters, ranked));
    renameSync(tmpCsv, csvPath);
    const elapsedMs = performance.now() - started;
    const ticks = ranked[0]?.ticks ?? 0;
    return {
      kind: 'sweep',
      parameters: plan.parameters,
      rank: options.rank,
      jobs,
      combinations: total,
      rows: ranked,
      csvPath,
      outDir,
      elapsedMs,
      ticks,
      ticksPerSecond: elapsedMs > 0 ? ((ticks * total) / elapsedMs) * 1000 : 0,
      input,
      alerts: [...alerts.values()]
        .map((a) => ({ ...a, combinations: a.combinations.sort((x, y) => x - y) }))
        .sort((a, b) => a.combinations[0]! - b.combinations[0]!),
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
    removeTempFiles?.();
  }
}

function sweepCsv(parameters: readonly SweepParameter[], rows: readonly SweepRow[]): string {
  const n = (x: number | undefined) => (x === undefined ? '' : Number.isFinite(x) ? formatNumber(x) : String(x));
  const header = [
    'rank',
    'combination',
    ...parameters.map((p) => p.path),
    'trades',
    'wins',
    'losses',
    'win_rate',
    'net_points',
    'net_amount',
    'profit_factor',
    'expectancy_r',
    'max_drawdown',
    'open_positions',
    'unrealised_amount',
    'journal',
  ];
  const body = rows.map((r) => [
    String(r.rank),
    String(r.combination),
    ...parameters.map((p) => String(r.params[p.path])),
    String(r.trades),
    String(r.wins),
    String(r.losses),
    n(r.winRate),
    n(r.netPoints),
    n(r.netAmount),
    allWon(r) ? 'inf' : n(r.profitFactor),
    n(r.expectancyR),
    n(r.maxDrawdown),
    String(r.openPositions),
    n(r.unrealisedAmount),
    join(r.outDir, 'trade_history.csv'),
  ]);
  return stringify([header, ...body]);
}

/** The ranked table for people (the command prints it). */
export function sweepTable(result: SweepResult): string {
  const f = (x: number | undefined, digits = 2) =>
    x === undefined ? '—' : Number.isFinite(x) ? x.toFixed(digits) : '∞';
  const header = [
    'rank',
    '#',
    ...result.parameters.map((p) => p.path),
    'trades',
    'win%',
    'net',
    'PF',
    'exp R',
    'max DD',
  ];
  const lines = result.rows.map((r) => [
    String(r.rank),
    String(r.combination),
    ...result.parameters.map((p) => String(r.params[p.path])),
    String(r.trades),
    r.winRate === undefined ? '—' : (r.winRate * 100).toFixed(1),
    f(r.netAmount),
    allWon(r) ? '∞' : f(r.profitFactor),
    f(r.expectancyR),
    f(r.maxDrawdown),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 + result.parameters.length ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    `Sweep of ${result.combinations} combinations on ${result.jobs} worker(s), ranked by ${result.rank}: ${result.ticks.toLocaleString('en-US')} ticks each`,
    '',
    fmt(header),
    ...lines.map(fmt),
    ...inputLines(result),
    ...(result.alerts.length > 0 ? [''] : []),
    ...result.alerts.map(
      (a) =>
        `  ${a.level.toUpperCase()} (${a.combinations.length === result.combinations ? 'every combination' : `combination${a.combinations.length === 1 ? '' : 's'} ${listed(a.combinations)}`}): ${a.message}`,
    ),
    '',
    `  table    ${result.csvPath}`,
    `  runs     ${join(result.outDir, '<#>')}/trade_history.csv`,
    `  ${(result.elapsedMs / 1000).toFixed(2)}s, ${Math.round(result.ticksPerSecond).toLocaleString('en-US')} ticks/s over all combinations`,
  ];
  return out.join('\n');
}

/** Combination numbers for a line of the table: the first ten, then how many in all. */
function listed(combinations: readonly number[]): string {
  return combinations.length <= 10
    ? combinations.join(', ')
    : `${combinations.slice(0, 10).join(', ')}, … (${combinations.length} in all; --json lists each)`;
}

/** The rows every combination skipped, as a single backtest reports them. */
function inputLines(result: SweepResult): string[] {
  const t = result.input;
  if (t === undefined) return [];
  const s = t.skipped;
  const skipped = s.malformed + s.crossed + s.nonPositive + s.outOfOrder;
  if (skipped === 0 && t.ignored === 0) return [];
  return [
    '',
    `  rows skipped    ${skipped} (malformed ${s.malformed}, crossed ${s.crossed}, non-positive ${s.nonPositive}, out of order ${s.outOfOrder}); ticks of other markets ignored: ${t.ignored}`,
    ...t.firstSkipped.map((row) => `    ${row.file}:${row.line}: ${row.message}`),
  ];
}
