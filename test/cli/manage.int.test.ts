import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeIg } from '../support/fake-ig/index.js';
import { credentialsEnv, DAX, fakeIgFor, liveConfig } from '../support/live-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/run.js');

let fake: FakeIg | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Runs the built CLI without blocking this process (the fake IG lives here). */
function cli(f: FakeIg, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...credentialsEnv(f) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('positions, sync, close, state (built CLI against the fake IG)', () => {
  it('adopts a platform position, shows it, refuses to clear it while held, closes it in two steps with MANUAL rows', async () => {
    fake = await fakeIgFor({ time: Date.now(), bid: 100, ask: 101 });
    const f = fake;
    const { configPath, journal } = liveConfig(
      f,
      `pointSize: 1\ndecimals: 1\nlotStep: 0.1\nexits:\n  trailing: { activateAt: 10, distance: 5 }`,
    );
    const dealId = f.openExternally({ epic: DAX, direction: 'BUY', size: 2, stopLevel: 80 });

    const sync = await cli(f, ['sync', '--config', configPath, '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout).report.adopted).toEqual([{ dealId, market: DAX }]);

    f.pushTick({ epic: DAX, bid: 110, ask: 111, time: Date.now() });
    const positions = await cli(f, ['positions', '--config', configPath, '--json']);
    expect(positions.code, positions.stderr).toBe(0);
    expect(JSON.parse(positions.stdout).positions).toMatchObject([
      {
        dealId,
        market: DAX,
        direction: 'BUY',
        size: 2,
        entryPrice: 101,
        price: 110,
        stopLevel: 80,
        pnlPoints: 9,
        pnlAmount: 18,
        managed: 'managed',
      },
    ]);

    const show = await cli(f, ['state', 'show', '--config', configPath, '--json']);
    expect(JSON.parse(show.stdout).markets[0].positions[0]).toMatchObject({ dealId, entryReason: 'ADOPTED', risk: 21 });

    const clear = await cli(f, ['state', 'clear', DAX, '--config', configPath]);
    expect(clear.code, 'IG still holds it').toBe(2);
    expect(clear.stderr).toContain('--force');

    const noTerminal = await cli(f, ['close', dealId, '--config', configPath]);
    expect(noTerminal.code, 'no terminal and no --yes: refused').toBe(2);
    expect(f.positions()).toHaveLength(1);

    const half = await cli(f, ['close', dealId, '--percent', '50', '--yes', '--config', configPath, '--json']);
    expect(half.code, half.stderr).toBe(0);
    expect(JSON.parse(half.stdout).closed).toMatchObject([
      { action: 'PARTIAL', size: 1, price: 110, reason: 'MANUAL' },
    ]);
    expect(f.positions()[0]?.size).toBe(1);

    const rest = await cli(f, ['close', '--all', '--yes', '--config', configPath, '--json']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(f.positions()).toEqual([]);
    const rows = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((r) => r.split(',').slice(5, 13).join(','));
    expect(rows).toEqual([
      'ENTRY,2,101,80,,,,ADOPTED',
      'PARTIAL,1,110,80,9,9,0.42857143,MANUAL',
      'EXIT,1,110,80,9,9,0.42857143,MANUAL',
    ]);

    const cleared = await cli(f, ['state', 'clear', '--config', configPath, '--json']);
    expect(cleared.code, cleared.stderr).toBe(0);
  }, 60_000);
});
