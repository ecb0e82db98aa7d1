// The build's last step: fills dist/code-cache/ (bin/code-cache.cjs) by running the CLI on the
// bundled fixtures with TRAILGUARD_CODE_CACHE=write. Each run adds to the cache of every file it
// loaded what it compiled, so the commands a trader runs start from code V8 has already compiled.
// V8 accepts a cache only under the flags it was made with: every step runs twice, under the
// flags of bin/run.js's first line (a trader's `trailguard …`) and under none (`node bin/run.js …`).
//
// Usage: node scripts/code-cache.mjs. (With --load FILE…, the internal step that only loads files.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const hook = require('../bin/code-cache.cjs');

if (process.argv[2] === '--load') {
  // Commands the fixtures cannot run (live, close…: a broker): their files are only loaded.
  hook.install();
  for (const file of process.argv.slice(3)) require(file);
  process.exit(0);
}

const bin = join(root, 'bin/run.js');
const shebang = readFileSync(bin, 'utf8').split('\n')[0] ?? '';
const binFlags = shebang.split(/\s+/).filter((word) => word.startsWith('--'));
const work = mkdtempSync(join(tmpdir(), 'trailguard-code-cache-'));
const demoTicks = join(root, 'fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv');
// The demo's configuration with its state and journal moved into the scratch directory.
const demoConfig = join(work, 'demo.yaml');
writeFileSync(
  demoConfig,
  readFileSync(join(root, 'fixtures/configs/demo.yaml'), 'utf8').replaceAll('../../out/', './'),
);
const tgt = join(work, 'demo.tgt');
const env = { ...process.env, TRAILGUARD_CODE_CACHE: 'write', NO_COLOR: '1' };

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith('.cjs') ? [join(dir, entry.name)] : [],
  );
const files = [join(root, 'dist/oclif.cjs'), ...walk(join(root, 'dist/commands'))];
// Worker threads: theirs are written when they are started (src/core/adapters/threads/start-worker.ts).

const runs = [
  ['ticks', 'import', demoTicks, '--out', tgt, '--json'],
  ['ticks', 'info', tgt, '--json'],
  ['backtest', demoTicks, '--config', demoConfig, '--out', join(work, 'text'), '--json'],
  ['backtest', demoTicks, '--config', demoConfig, '--out', join(work, 'thread'), '--reader-thread'],
  ['backtest', tgt, '--config', demoConfig, '--out', join(work, 'tgt')],
  ['state', 'show', '--config', demoConfig, '--json'],
  [
    'backtest',
    tgt,
    '--config',
    demoConfig,
    '--out',
    join(work, 'sweep'),
    '--sweep',
    'exits.trailing.distance=5,10',
    '--jobs',
    '2',
  ],
  ['backtest', '--help'],
];

rmSync(hook.CACHE_DIR, { recursive: true, force: true });
try {
  for (const flags of [binFlags, []]) {
    const step = (args) => {
      const r = spawnSync(process.execPath, [...flags, ...args], { cwd: root, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`code cache: ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
    };
    step([new URL(import.meta.url).pathname, '--load', ...files]);
    for (const args of runs) step([bin, ...args]);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const written = readdirSync(hook.CACHE_DIR);
console.log(`code cache: ${written.length} files in ${relative(root, hook.CACHE_DIR)}/`);
