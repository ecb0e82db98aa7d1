import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig, selectMarkets } from '../../../src/core/config/load.js';
import { UserError } from '../../../src/core/domain/errors.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/configs');
const DAX = 'IX.D.DAX.DAILY.IP';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailguard-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** The message of the UserError that loading `path` must throw. */
async function loadError(path: string): Promise<string> {
  const error: unknown = await loadConfig(path).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, 'a bad configuration file is a UserError (exit 2)').toBeInstanceOf(UserError);
  return (error as UserError).message;
}

describe('loadConfig', () => {
  it('loads the full SPEC §7 example with every value as written', async () => {
    const config = await loadConfig(join(FIXTURES, 'full.yaml'));
    expect(config.broker).toEqual({
      kind: 'ig',
      environment: 'demo',
      restUrl: 'https://demo-api.ig.com/gateway/deal',
      streamUrl: 'https://demo-apd.marketdatasystems.com',
    });
    expect(config.strategies).toEqual({ scalper: { guard: { maxDrawdown: -5000, trailFraction: 0.3, minPeak: 0 } } });
    expect(config.markets[DAX]).toEqual({
      market: DAX,
      pointSize: 1,
      decimals: 1,
      valuePerPoint: 1,
      lotStep: 0.1,
      minStopDistance: 6,
      stopStep: 1,
      strategy: 'scalper',
      entry: { kind: 'ema-cross', timeframeMs: 60_000, fast: 9, slow: 21, size: 1, stopPoints: 100, limitPoints: 40 },
      exits: {
        trailing: { activateAt: 25, distance: 10 },
        virtualStop: { distance: 4, safetyDistance: 10, cooldownMs: 1000, scalpMaxStop: 8 },
        atrStop: { period: 14, multiplier: 2, timeframeMs: 86_400_000, trail: false },
        ladder: {
          rungs: [
            { at: 1, lock: 0 },
            { at: 1.5, lock: 0.5 },
            { at: 2, lock: 1, close: 0.5 },
            { at: 3, lock: 1.5, close: 0.25 },
            { at: 4, lock: 2, close: 0.25 },
          ],
        },
        profitLock: { lockFraction: 0.3, minProfit: 0 },
        time: { flatAtMinutes: 21 * 60 + 55, timezone: 'Europe/London', maxHoldMinutes: 240 },
      },
    });
  });

  it('resolves relative stateDir, journal and entry.file against the config file’s directory', async () => {
    const config = await loadConfig(join(FIXTURES, 'full.yaml'));
    expect(config.stateDir).toBe(join(FIXTURES, 'state'));
    expect(config.journal).toBe(join(FIXTURES, 'trade_history.csv'));

    const json = await loadConfig(join(FIXTURES, 'minimal.json'));
    expect(json.markets['CS.D.EURUSD.CFD.IP']?.entry).toEqual({
      kind: 'signals',
      file: resolve(FIXTURES, '../signals/dax-signals.csv'),
      size: 1,
      stopPoints: 20,
    });
  });

  it('resolves entry.path of a module and leaves absolute paths alone', async () => {
    const path = await write(
      'module.yaml',
      [
        'stateDir: /var/lib/trailguard',
        'markets:',
        `  ${DAX}:`,
        '    pointSize: 1',
        '    decimals: 1',
        '    entry: { kind: module, path: ./strategies/mine.js, size: 1 }',
      ].join('\n'),
    );
    const config = await loadConfig(path);
    expect(config.stateDir).toBe('/var/lib/trailguard');
    expect(config.markets[DAX]?.entry).toEqual({ kind: 'module', path: join(dir, 'strategies/mine.js'), size: 1 });
  });

  it('accepts a JSON configuration', async () => {
    const config = await loadConfig(join(FIXTURES, 'minimal.json'));
    expect(config.markets['CS.D.EURUSD.CFD.IP']?.exits).toEqual({
      trailing: { activateAt: 25, distance: 10 },
      profitLock: { lockFraction: 0.3, minProfit: 0 },
    });
  });

  it.each([
    ['config.yml', 'the short YAML extension'],
    ['trailguard.conf', 'any other extension is read as YAML'],
  ])('reads %s (%s)', async (name) => {
    const path = await write(name, `markets:\n  ${DAX}: { pointSize: 1, decimals: 1 }\n`);
    expect(Object.keys((await loadConfig(path)).markets)).toEqual([DAX]);
  });

  it('says how to point at the file when it does not exist', async () => {
    const path = join(dir, 'nope.yaml');
    expect(await loadError(path)).toBe(`config file not found: ${path} (pass --config)`);
  });

  it.each([
    [
      'invalid-syntax.yaml',
      ['invalid-syntax.yaml:6:12', 'Nested mappings are not allowed'],
      'a YAML syntax error names file, line and column',
    ],
    [
      'invalid-unknown-key.yaml',
      [`invalid-unknown-key.yaml:7:`, `markets["${DAX}"].exits.trailing.distnace: unknown key`],
      'a typo in a stop setting is refused, with its line',
    ],
    [
      'invalid-positive-drawdown.yaml',
      ['invalid-positive-drawdown.yaml:4:', 'strategies.scalper.guard.maxDrawdown: got 5000', 'a negative amount'],
      'a positive maxDrawdown is a configuration error',
    ],
    [
      'invalid-safety-distance.yaml',
      ['invalid-safety-distance.yaml:8:', 'exits.virtualStop.safetyDistance: got 10', 'minStopDistance (12)'],
      'the safety stop must respect the broker minimum',
    ],
    [
      'invalid-secrets.yaml',
      [
        'broker.identifier: secrets never live',
        'broker.password: secrets never live',
        'IG_API_KEY, IG_IDENTIFIER, IG_PASSWORD, IG_ACCOUNT_ID',
      ],
      'credentials belong in the environment',
    ],
    [
      'invalid-many.yaml',
      [
        '(7 problems)',
        'invalid-many.yaml:2:',
        'broker.environment: got "production"',
        `markets["${DAX}"].pointSize: got 0; expected a number > 0`,
        `markets["${DAX}"].lotStep: got -0.1`,
        `markets["${DAX}"].entry.size: missing`,
        `markets["${DAX}"].exits.trailing.distance: got -3; expected a number ≥ 0`,
        'exits.atrStop.timeframe: got "2y"',
        'exits.time.timezone: got "Europe/Londres"',
      ],
      'one error lists every problem of the file',
    ],
  ])('rejects %s', async (name, fragments) => {
    const message = await loadError(join(FIXTURES, name));
    for (const fragment of fragments) expect(message).toContain(fragment);
  });

  it('never echoes a secret back', async () => {
    expect(await loadError(join(FIXTURES, 'invalid-secrets.yaml'))).not.toContain('hunter2');
  });

  it('points at the line of the offending value', async () => {
    const path = await write(
      'line.yaml',
      [
        'markets:',
        `  ${DAX}:`,
        '    pointSize: 1',
        '    decimals: 1',
        '    exits:',
        '      trailing:',
        '        distance: -3',
      ].join('\n'),
    );
    expect(await loadError(path)).toContain(`${path}:7:19: markets["${DAX}"].exits.trailing.distance: got -3`);
  });

  it.each([
    ['{"markets": {"X": {"pointSize": 1,, "decimals": 1}}}', 'broken.json', 'a stray comma'],
    ['{"markets": {\n  "X": {"pointSize": 1\n', 'truncated.json', 'a truncated file'],
  ])('reports a JSON syntax error with its file (%s)', async (text, name) => {
    const path = await write(name, text);
    const message = await loadError(path);
    expect(message).toContain(`cannot parse JSON in ${path}`);
    expect(message).toMatch(new RegExp(`${name}:\\d+:\\d+`));
  });

  it('locates a validation problem of a JSON file too', async () => {
    const path = await write(
      'bad.json',
      `{\n  "markets": {\n    "${DAX}": {\n      "pointSize": -1,\n      "decimals": 1\n    }\n  }\n}\n`,
    );
    expect(await loadError(path)).toContain(`${path}:4:20: markets["${DAX}"].pointSize: got -1`);
  });

  it('refuses duplicate keys instead of keeping the last one', async () => {
    const path = await write('dup.yaml', `markets:\n  ${DAX}:\n    pointSize: 1\n    pointSize: 2\n    decimals: 1\n`);
    expect(await loadError(path)).toMatch(/dup\.yaml:4:\d+: Map keys must be unique/);
  });

  it('refuses duplicate keys in a JSON file too (JSON.parse would keep the last one)', async () => {
    const path = await write(
      'dup.json',
      `{"markets": {"${DAX}": {"pointSize": 1, "decimals": 1,\n  "exits": {"trailing": {"distance": 5}, "trailing": false}}}}`,
    );
    expect(await loadError(path)).toMatch(/dup\.json:2:\d+: a key written twice/);
  });

  it.each([
    ['an alias without its anchor', 'exits: *common', /bad-alias\.yaml:6:\d+: Unresolved alias .*common/s],
    ['an alias inside its own anchor', 'exits: &e\n      trailing: *e', /contains itself/],
  ])('refuses %s, naming the file (not a crash)', async (_why, exits, message) => {
    const path = await write(
      'bad-alias.yaml',
      `markets:\n  ${DAX}:\n    pointSize: 1\n    decimals: 1\n    lotStep: 0.1\n    ${exits}\n`,
    );
    const text = await loadError(path);
    expect(text).toContain(path);
    expect(text).toMatch(message);
  });

  it.each([
    ['file:state', /stateDir: file:state is not a usable file URL/],
    ['file://host/state', /stateDir: file:\/\/host\/state is not a usable file URL/],
  ])('refuses %s as a path: Node would read it as the root’s /state, or fail', async (stateDir, message) => {
    const path = await write(
      'url.yaml',
      `stateDir: '${stateDir}'\nmarkets:\n  ${DAX}: { pointSize: 1, decimals: 1 }\n`,
    );
    expect(await loadError(path)).toMatch(message);
  });

  it('takes a file:// URL', async () => {
    const path = await write(
      'url-ok.yaml',
      `stateDir: 'file:///tmp/tg-state'\nmarkets:\n  ${DAX}: { pointSize: 1, decimals: 1 }\n`,
    );
    expect((await loadConfig(path)).stateDir).toBe('/tmp/tg-state');
  });

  it('refuses an empty file with a hint about markets', async () => {
    const path = await write('empty.yaml', '# nothing yet\n');
    expect(await loadError(path)).toContain('(top level): got null; expected a mapping with at least `markets:`');
  });
});

describe('selectMarkets (--market)', () => {
  it('a market named twice is one market', async () => {
    const config = await loadConfig(join(FIXTURES, 'full.yaml'));
    const name = Object.keys(config.markets)[0]!;
    expect(selectMarkets(config, [name, name]).map((m) => m.market)).toEqual([name]);
  });
});
