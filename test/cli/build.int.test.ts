import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Runs the built CLI (npm test builds dist/ first) with a preload that records, at exit, every
 * CommonJS module the process loaded.
 */
function loadedModules(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stderr: string; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tg-build-'));
  const preload = join(dir, 'record.cjs');
  const record = join(dir, 'modules.json');
  writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const r = spawnSync(process.execPath, ['--require', preload, join(ROOT, 'bin/run.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { code: r.status, stderr: r.stderr, modules: JSON.parse(readFileSync(record, 'utf8')) as string[] };
}

/** A small backtest of a fixture, into a directory of its own. */
const backtest = (): string[] => [
  'backtest',
  'fixtures/ticks/IX.D.DAX.DAILY.IP-trailing.csv',
  '--config',
  'fixtures/configs/trailing.yaml',
  '--out',
  mkdtempSync(join(tmpdir(), 'tg-build-out-')),
  '--json',
];

describe('the build (scripts/bundle.mjs)', () => {
  it('bin/run.js and the command share the one bundled oclif; none comes from node_modules', () => {
    const r = loadedModules(backtest());
    expect(r.code, r.stderr).toBe(0);
    expect(r.modules).toContain(join(ROOT, 'dist/oclif.cjs'));
    expect(r.modules.filter((path) => path.includes(`node_modules/@oclif/`))).toEqual([]);
  });

  it('runs the build even with NODE_ENV=development: oclif loads no TypeScript compiler to look for sources', () => {
    const r = loadedModules(backtest(), { NODE_ENV: 'development' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.modules.filter((path) => path.includes('node_modules/typescript/'))).toEqual([]);
    expect(r.modules.filter((path) => path.startsWith(join(ROOT, 'src') + sep))).toEqual([]);
  });

  it('oclif from the bundle still reports a bad flag: exit 2, the flag named', () => {
    const r = loadedModules(['backtest', 'x.csv', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Nonexistent flag: --no-such-flag');
  });

  it('the CLI runs its bundles from the V8 code cache the build wrote, under its own flags and under none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-build-'));
    const preload = join(dir, 'stats.cjs');
    const record = join(dir, 'stats.json');
    const hook = join(ROOT, 'bin/code-cache.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(require(${JSON.stringify(hook)}).stats)));\n`,
    );
    // The preload goes in NODE_OPTIONS (after any the build ran under, whose V8 flags the cache
    // needs): on the command line it would be one of the flags the cache is kept under.
    const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim();
    const env = { ...process.env, NO_COLOR: '1', NODE_OPTIONS: nodeOptions };
    for (const command of [
      [process.execPath, join(ROOT, 'bin/run.js')],
      [join(ROOT, 'bin/run.js')], // through its first line's flags, as a trader runs it
    ]) {
      const r = spawnSync(command[0] as string, [...command.slice(1), ...backtest()], {
        cwd: ROOT,
        encoding: 'utf8',
        env,
      });
      expect(r.status, r.stderr).toBe(0);
      const stats = JSON.parse(readFileSync(record, 'utf8')) as {
        hits: number;
        misses: number;
        files: { file: string }[];
      };
      expect(stats.files.map((f) => f.file).sort()).toEqual(
        [join(ROOT, 'dist/commands/backtest.cjs'), join(ROOT, 'dist/oclif.cjs')].sort(),
      );
      expect(stats).toMatchObject({ hits: 2, misses: 0 });
    }
  });

  it('an entry module is imported from the cached bundle (Node 20 loses import() in cached scripts: it goes through bin/)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-build-'));
    writeFileSync(
      join(dir, 'entry.mjs'),
      "export function createEntry() { let n = 0; return { onTick() { return ++n === 3 ? [{ kind: 'open', direction: 'BUY' }] : undefined; } }; }\n",
    );
    const config = readFileSync(join(ROOT, 'fixtures/configs/trailing.yaml'), 'utf8');
    writeFileSync(
      join(dir, 'config.yaml'),
      config.replace(
        /entry:[^\n]*(\n {6}[^\n]*)*/,
        'entry: { kind: module, path: ./entry.mjs, size: 1, stopPoints: 20 }',
      ),
    );
    const out = join(dir, 'out');
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/run.js'),
        'backtest',
        'fixtures/ticks/IX.D.DAX.DAILY.IP-trailing.csv',
        '--config',
        join(dir, 'config.yaml'),
        '--out',
        out,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'trade_history.csv'), 'utf8')).toMatch(/,BUY,ENTRY,1,[^\n]*,MODULE,/);
  });
});

describe('the code cache (bin/code-cache.cjs)', () => {
  /** A package of one bundle, dist/x.cjs, with a copy of the hook in its bin/. */
  function pkg(source: string): { dir: string; run: (env?: Record<string, string>) => { out: string; hits: number } } {
    const dir = mkdtempSync(join(tmpdir(), 'tg-cache-'));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'dist'));
    copyFileSync(join(ROOT, 'bin/code-cache.cjs'), join(dir, 'bin/code-cache.cjs'));
    writeFileSync(join(dir, 'dist/x.cjs'), source);
    writeFileSync(
      join(dir, 'main.cjs'),
      "const cache = require('./bin/code-cache.cjs'); cache.install(); const x = require('./dist/x.cjs'); process.stdout.write(JSON.stringify({ out: x(), hits: cache.stats.hits }));\n",
    );
    const run = (env: Record<string, string> = {}) => {
      const r = spawnSync(process.execPath, [join(dir, 'main.cjs')], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { out: string; hits: number };
    };
    return { dir, run };
  }

  it('is used when the bundle is the one it was made from', () => {
    const p = pkg("module.exports = () => 'one';\n");
    expect(p.run({ TRAILGUARD_CODE_CACHE: 'write' })).toEqual({ out: 'one', hits: 0 });
    expect(readdirSync(join(p.dir, 'dist/code-cache'))).toHaveLength(1);
    expect(p.run()).toEqual({ out: 'one', hits: 1 });
  });

  it('is never used for a changed bundle, even one of the same length (V8 itself checks only the length)', () => {
    const p = pkg("module.exports = () => 'one';\n");
    p.run({ TRAILGUARD_CODE_CACHE: 'write' });
    writeFileSync(join(p.dir, 'dist/x.cjs'), "module.exports = () => 'two';\n");
    expect(p.run()).toEqual({ out: 'two', hits: 0 });
  });

  it('a damaged cache file is refused by V8 and the bundle compiles from its text', () => {
    const p = pkg("module.exports = () => 'one';\n");
    p.run({ TRAILGUARD_CODE_CACHE: 'write' });
    const [name] = readdirSync(join(p.dir, 'dist/code-cache'));
    writeFileSync(join(p.dir, 'dist/code-cache', name as string), Buffer.alloc(200, 7));
    expect(p.run()).toEqual({ out: 'one', hits: 0 });
  });
});
