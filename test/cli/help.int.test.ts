import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs the built CLI (npm test builds dist/ first). */
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('trailguard help (built CLI)', () => {
  it('help COMMAND prints the page --help prints', () => {
    const help = cli(['help', 'backtest']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('USAGE\n  $ trailguard backtest');
    expect(help.stdout).toContain('$ trailguard backtest dax.tgt --sweep');
    expect(help.stdout).toBe(cli(['backtest', '--help']).stdout);
  });

  it('a two-word command, and the root page that lists every command', () => {
    const show = cli(['help', 'state', 'show']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('$ trailguard state show [MARKET]');
    const root = cli(['help']);
    expect(root.code, root.stderr).toBe(0);
    for (const command of ['backtest', 'live', 'positions', 'sync', 'close'])
      expect(root.stdout).toContain(`  ${command} `);
  });

  it('--json describes the commands of a topic, examples written out', () => {
    const r = cli(['help', 'ticks', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { commands } = JSON.parse(r.stdout) as {
      commands: { id: string; examples: string[]; flags: { name: string }[] }[];
    };
    expect(commands.map((c) => c.id)).toEqual(['ticks import', 'ticks info']);
    expect(commands[0]!.examples[0]).toMatch(/^trailguard ticks import /);
    expect(commands[0]!.flags.map((f) => f.name)).toContain('out');
  });

  it('an unknown command is an input error: exit 2, named', () => {
    const r = cli(['help', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no command or topic "nope"');
    // Under --json: the same exit, one short error document (no oclif internals).
    for (const args of [
      ['help', 'nope', '--json'],
      ['help', '--bogus', '--json'],
    ]) {
      const j = cli(args);
      expect(j.code, args.join(' ')).toBe(2);
      expect(j.stdout.length).toBeLessThan(2000);
      expect(JSON.parse(j.stdout).error).toMatchObject({ exitCode: 2 });
    }
  });
});
