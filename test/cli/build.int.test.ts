import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
});
