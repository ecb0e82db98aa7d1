/**
 * By hand, not in `npm run bench` (it takes ~15 minutes): the instructions the bench's
 * 8-combination sweep executes on 1 job and on 2, counted by valgrind's callgrind over all
 * threads (the main one and the workers, which with the flag below also do V8's compiling and
 * collecting). Unlike times, instruction counts repeat from run to run on this VM, so they split
 * what a second job costs into what it adds per tick (the ticks read, checked and decoded once
 * more) and what it adds once (a second worker's start-up and V8 warm-up), whatever the machine
 * is doing. Two lengths of the bench's cache (its first ~1M ticks, and all 10M) give both parts.
 * V8 runs `--single-threaded` (its compiles and collections on the thread that asks for them,
 * the same work as on its background threads): with concurrent compiles, how many ticks a thread
 * runs before its optimised code arrives depends on how valgrind schedules the threads, and the
 * 2-job counts varied by ±0.5G from run to run; single-threaded, by ~0.1%.
 *
 *   npx tsx bench/sweep-instructions.ts      (after `npm run bench` has made .bench-cache/)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { BIN, binEnv, binFlags } from './bin-flags.js';

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, '.bench-cache', 'ticks-10m.tgt');
const GRID = ['--sweep', 'exits.trailing.distance=8..14:2', '--sweep', 'exits.trailing.activateAt=20,30'];

interface Count {
  instructions: number;
  ticks: number;
}

/** One sweep under callgrind, with trailguard's Node flags: total instructions and ticks read. */
function count(jobs: number, to: string | undefined): Promise<Count> {
  const out = join(ROOT, '.bench-cache', `out-cg-sweep-${jobs}-${to ?? 'all'}`);
  const args = [
    '--tool=callgrind',
    '--callgrind-out-file=/dev/null',
    process.execPath,
    '--single-threaded',
    ...binFlags(),
  ];
  args.push(BIN, 'backtest', CACHE, '--config', join(ROOT, 'bench/bench.yaml'));
  args.push('--out', out, ...GRID, '--jobs', String(jobs), ...(to === undefined ? [] : ['--to', to]), '--json');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('valgrind', args, { env: { ...process.env, ...binEnv() } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      const ticks = /"ticks": (\d+)/.exec(stdout);
      if (code !== 0 || !refs || !ticks) {
        reject(new Error(`callgrind of the ${jobs}-job sweep failed (${code}):\n${stderr.slice(-2000)}`));
        return;
      }
      resolvePromise({ instructions: Number(refs[1]!.replaceAll(',', '')), ticks: Number(ticks[1]) });
    });
  });
}

if (!existsSync(CACHE)) throw new Error(`${CACHE} is missing: run \`npm run bench\` first`);
const g = (n: number) => `${(n / 1e9).toFixed(2)}G`;
const rows: Record<number, Count[]> = { 1: [], 2: [] };
for (const to of ['2024-01-05', undefined]) {
  // The two job counts at once: one core each (valgrind runs a process's threads one at a time).
  const [one, two] = await Promise.all([count(1, to), count(2, to)]);
  rows[1]!.push(one);
  rows[2]!.push(two);
  console.log(`${one.ticks} ticks: 1 job ${g(one.instructions)}, 2 jobs ${g(two.instructions)} instructions`);
}
const [short1, long1] = rows[1] as [Count, Count];
const [short2, long2] = rows[2] as [Count, Count];
const perTick = (a: Count, b: Count) => (b.instructions - a.instructions) / (b.ticks - a.ticks);
const slope1 = perTick(short1, long1);
const slope2 = perTick(short2, long2);
const fixed1 = short1.instructions - slope1 * short1.ticks;
const fixed2 = short2.instructions - slope2 * short2.ticks;
console.log(
  `per tick: 1 job ${slope1.toFixed(0)}, 2 jobs ${slope2.toFixed(0)} instructions (+${(slope2 - slope1).toFixed(0)}); once: 1 job ${g(fixed1)}, 2 jobs ${g(fixed2)} (+${g(fixed2 - fixed1)})`,
);
console.log(
  `${long1.ticks} ticks: 2 jobs execute ${(long2.instructions / long1.instructions).toFixed(3)}× the instructions of 1`,
);
