import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RateLimiter } from '../../src/core/adapters/ig/limiter.js';
import { runLive, type LiveHandle, type LiveOptions, type LiveResult } from '../../src/core/services/live.js';
import { startFakeIg, type FakeIg, type FakeIgMarket } from './fake-ig/index.js';

export const DAX = 'IX.D.DAX.DAILY.IP';

export interface TickRow {
  time: number;
  bid: number;
  ask: number;
}

/** Reads a standard tick file of one market (fixtures are small). */
export function readTicks(path: string): TickRow[] {
  const [, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  return lines.map((line) => {
    const [time, , bid, ask] = line.split(',');
    return { time: Date.parse(time as string), bid: Number(bid), ask: Number(ask) };
  });
}

export async function fakeIgFor(first: TickRow, market: Partial<FakeIgMarket> = {}): Promise<FakeIg> {
  return startFakeIg({
    markets: [{ epic: DAX, bid: first.bid, ask: first.ask, minStopDistance: 0, decimals: 1, ...market }],
  });
}

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/run.js');

/** The built CLI's `live --verbose` as a process of its own, with the fake's credentials. */
export interface LiveProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * `trailguard live` in a process of its own. `maxFileKb` limits the size of every file it writes
 * (the shell's `ulimit -f`), a real full disk for its journal: a write that would pass the limit
 * writes what fits and then fails with EFBIG, as ENOSPC does.
 */
export function spawnLive(configPath: string, fake: FakeIg, options: { maxFileKb?: number } = {}): LiveProcess {
  let output = '';
  const argv = [process.execPath, BIN, 'live', '--config', configPath, '--verbose'];
  const [command, ...args] =
    options.maxFileKb === undefined
      ? argv
      : ['bash', '-c', `ulimit -f ${options.maxFileKb} && exec "$@"`, 'bash', ...argv];
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, ...credentialsEnv(fake) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exited };
}

/** The live processes a test starts; `killAll` (in its afterEach) kills any still running. */
export function liveProcesses(): {
  start: (configPath: string, fake: FakeIg, options?: { maxFileKb?: number }) => LiveProcess;
  killAll: () => void;
} {
  const children: ChildProcess[] = [];
  return {
    start: (configPath, fake, options) => {
      const live = spawnLive(configPath, fake, options);
      children.push(live.child);
      return live;
    },
    killAll: () => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      children.length = 0;
    },
  };
}

/** The built CLI with `args` and the fake's credentials; not spawnSync: the fake lives in this process and must keep answering. */
export function runCli(
  args: string[],
  fake: FakeIg,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...credentialsEnv(fake) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.once('exit', (status) => done({ status, stdout, stderr }));
  });
}

export function credentialsEnv(fake: FakeIg): Record<string, string> {
  return {
    IG_API_KEY: fake.apiKey,
    IG_IDENTIFIER: fake.identifier,
    IG_PASSWORD: fake.password,
    IG_ACCOUNT_ID: fake.accountId,
  };
}

/** A temp dir with a config that points the IG adapter at the fake; `marketYaml` is the market block body. */
export function liveConfig(
  fake: FakeIg,
  marketYaml: string,
  extra = '',
): { dir: string; configPath: string; journal: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tg-live-'));
  const configPath = join(dir, 'trailguard.yaml');
  writeFileSync(
    configPath,
    `broker:\n  kind: ig\n  environment: demo\n  restUrl: ${fake.restUrl}\n  streamUrl: ${fake.streamUrl}\nstateDir: ./state\njournal: ./trade_history.csv\n${extra}markets:\n  ${DAX}:\n${marketYaml
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}\n`,
  );
  return { dir, configPath, journal: join(dir, 'trade_history.csv'), stateDir: join(dir, 'state') };
}

export async function waitFor(
  condition: () => boolean,
  what: string | (() => string),
  timeoutMs = 10_000,
): Promise<void> {
  const started = Date.now();
  let spins = 0;
  while (!condition()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    // Yield to I/O first (answers usually arrive within a few event-loop turns), then back off.
    await new Promise((r) => (spins++ < 50 ? setImmediate(r) : setTimeout(r, 2)));
  }
}

/**
 * `runLive` in this process against `fake` (its credentials; not a dry run and the local clock
 * unless `options` say otherwise), once it has subscribed to `markets`; `stop()` ends it as
 * SIGINT does and gives its result. The run's promise is watched from the start: a run that fails
 * (at start-up, say) fails the wait with its own error instead of a time-out and an unhandled
 * rejection, and a run that does not get ready in time is stopped before the wait throws.
 */
export async function startLive(
  options: Omit<LiveOptions, 'onReady' | 'signal' | 'env' | 'dryRun' | 'clock'> &
    Partial<Pick<LiveOptions, 'dryRun' | 'clock'>>,
  fake: FakeIg,
  markets: readonly string[],
  what: string | (() => string) = 'live to subscribe',
): Promise<{ live: LiveHandle; stop: () => Promise<LiveResult> }> {
  const abort = new AbortController();
  let handle: LiveHandle | undefined;
  let failure: { error: unknown } | undefined;
  const done = runLive({
    dryRun: false,
    clock: { now: () => Date.now() },
    ...options,
    env: credentialsEnv(fake),
    signal: abort.signal,
    onReady: (h) => (handle = h),
  });
  done.catch((error: unknown) => (failure = { error }));
  const stop = () => {
    abort.abort();
    return done;
  };
  try {
    await waitFor(() => {
      if (failure !== undefined) throw failure.error;
      return handle !== undefined && markets.every((m) => fake.subscriptions().includes(`CHART:${m}:TICK`));
    }, what);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { live: handle!, stop };
}

/** Journal rows without the columns that differ between live and backtest (time, deal id, held). */
export function comparableRows(csv: string): string[] {
  return csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const f = line.split(',');
      return [f[1], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12]].join(',');
    });
}

/** The fake has no allowances to respect; IG's would make a parity test wait minutes. */
export function unlimited(): RateLimiter {
  return new RateLimiter({
    accountTrading: { max: 1e9, windowMs: 60_000 },
    accountNonTrading: { max: 1e9, windowMs: 60_000 },
    appNonTrading: { max: 1e9, windowMs: 60_000 },
  });
}

/** Waits until live's open positions are the fake's: broker-side fills come back on the stream. */
export async function positionsAgree(fake: FakeIg, live: LiveHandle, what: string | (() => string)): Promise<void> {
  await waitFor(() => {
    const broker = new Set(fake.positions().map((p) => p.dealId));
    const open = live.runner.engine.openPositions().map((v) => v.position.dealId);
    return open.length === broker.size && open.every((d) => broker.has(d));
  }, what);
}
