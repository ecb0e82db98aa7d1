import { configWarnings } from '../../../src/core/config/warnings.js';
import { describe, expect, it } from 'vitest';

import { parseConfig } from '../../../src/core/config/load.js';
import { DEFAULT_LADDER_RUNGS } from '../../../src/core/config/schema.js';
import type { Config, ExitsConfig, MarketConfig } from '../../../src/core/domain/config.js';
import { UserError } from '../../../src/core/domain/errors.js';

const DAX = 'IX.D.DAX.DAILY.IP';
const SOURCE = 'test.yaml';

/** A valid file with one DAX market; `market` is merged into the market's settings. */
function withMarket(market: Record<string, unknown>, top: Record<string, unknown> = {}): unknown {
  return { ...top, markets: { [DAX]: { pointSize: 1, decimals: 1, ...market } } };
}

function dax(config: Config): MarketConfig {
  const market = config.markets[DAX];
  if (!market) throw new Error(`the parsed configuration lost market ${DAX}`);
  return market;
}

function exitsOf(exits: unknown): ExitsConfig {
  return dax(parseConfig(withMarket({ exits }), SOURCE)).exits;
}

/** The message of the UserError that parsing `raw` must throw. */
function errorOf(raw: unknown): string {
  try {
    parseConfig(raw, SOURCE);
  } catch (error) {
    expect(error, 'configuration problems are the user’s to fix: UserError (exit 2)').toBeInstanceOf(UserError);
    return (error as UserError).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('defaults (SPEC §9 "Defaults")', () => {
  it('fills every default around the two required market keys', () => {
    const config = parseConfig(withMarket({}), SOURCE);
    expect(config).toEqual({
      broker: { kind: 'ig', environment: 'demo' },
      stateDir: './state',
      journal: './trade_history.csv',
      strategies: {},
      markets: {
        [DAX]: {
          market: DAX,
          pointSize: 1,
          decimals: 1,
          valuePerPoint: 1,
          lotStep: 0.01,
          minStopDistance: 0,
          stopStep: 0,
          strategy: 'default',
          entry: { kind: 'none' },
          exits: {},
        },
      },
    } satisfies Config);
  });

  it('names each market after its key, dots and all', () => {
    const config = parseConfig(
      { markets: { [DAX]: { pointSize: 1, decimals: 1 }, 'CS.D.EURUSD.CFD.IP': { pointSize: 0.0001, decimals: 5 } } },
      SOURCE,
    );
    expect(Object.values(config.markets).map((market) => market.market)).toEqual([DAX, 'CS.D.EURUSD.CFD.IP']);
  });

  it('leaves relative paths as written when no base directory is given (parseConfig is pure)', () => {
    const config = parseConfig(withMarket({ entry: { kind: 'signals', file: 'signals.csv', size: 1 } }), SOURCE);
    expect(config.stateDir).toBe('./state');
    expect(dax(config).entry).toEqual({ kind: 'signals', file: 'signals.csv', size: 1 });
  });

  it('resolves relative paths against baseDir and keeps absolute ones', () => {
    const raw = withMarket(
      { entry: { kind: 'module', path: './my-entry.js', size: 1, options: { lookback: 5 } } },
      { stateDir: '/var/lib/trailguard', journal: 'out/journal.csv' },
    );
    const config = parseConfig(raw, SOURCE, { baseDir: '/home/me/bot' });
    expect(config.stateDir).toBe('/var/lib/trailguard');
    expect(config.journal).toBe('/home/me/bot/out/journal.csv');
    expect(dax(config).entry).toEqual({
      kind: 'module',
      path: '/home/me/bot/my-entry.js',
      size: 1,
      options: { lookback: 5 },
    });
  });
});

const BLOCK_DEFAULTS: ExitsConfig = {
  trailing: { activateAt: 25, distance: 10 },
  virtualStop: { distance: 4, safetyDistance: 10, cooldownMs: 1000 },
  atrStop: { period: 14, multiplier: 2, timeframeMs: 86_400_000, trail: false },
  ladder: { rungs: [...DEFAULT_LADDER_RUNGS] },
  profitLock: { lockFraction: 0.3, minProfit: 0 },
  time: { timezone: 'UTC' },
};
const BLOCKS = Object.keys(BLOCK_DEFAULTS) as (keyof ExitsConfig)[];

describe('exits blocks: off and on spellings', () => {
  const offSpellings: [string, unknown, string][] = [
    ['absent', undefined, 'a block not written is off'],
    ['null', null, 'YAML `trailing:` with nothing after it'],
    ['false', false, 'switched off explicitly'],
    ['{enabled: false}', { enabled: false }, 'switched off, keeping the key'],
  ];
  /** A setting of each block, to switch a configured block off with `enabled: false`. */
  const oneSetting: Record<keyof ExitsConfig, Record<string, unknown>> = {
    trailing: { distance: 3 },
    virtualStop: { distance: 3 },
    atrStop: { period: 5 },
    ladder: { rungs: [{ at: 1, lock: 0 }] },
    profitLock: { minProfit: 5 },
    time: { flatAt: '21:55' },
  };
  const offCases = BLOCKS.flatMap((block) => [
    ...offSpellings.map(([label, value, reason]) => [block, label, value, reason] as const),
    [
      block,
      '{enabled: false, ...settings}',
      { enabled: false, ...oneSetting[block] },
      'switched off, keeping its settings',
    ] as const,
  ]);

  it.each(offCases)('%s: %s is off (%s)', (block, _label, value) => {
    const exits = exitsOf(value === undefined ? {} : { [block]: value });
    expect(exits[block], `${block} must be off`).toBeUndefined();
  });

  const onSpellings: [string, unknown, string][] = [
    ['true', true, 'on with every default'],
    ['{}', {}, 'an empty mapping is on with every default'],
    ['{enabled: true}', { enabled: true }, 'explicitly on, defaults for the rest'],
  ];
  const onCases = BLOCKS.flatMap((block) =>
    onSpellings.map(([label, value, reason]) => [block, label, value, reason] as const),
  );

  it.each(onCases)('%s: %s is on with the SPEC §4 defaults (%s)', (block, _label, value) => {
    expect(exitsOf({ [block]: value })[block]).toEqual(BLOCK_DEFAULTS[block]);
  });

  it.each([
    ['trailing', { enabled: true, distance: 15 }, { activateAt: 25, distance: 15 }, 'enabled: true beside settings'],
    ['trailing', { activateAt: 0 }, { activateAt: 0, distance: 10 }, 'activateAt 0: trail from the first tick'],
    [
      'virtualStop',
      { distance: 3, scalpMaxStop: 8 },
      { distance: 3, safetyDistance: 10, cooldownMs: 1000, scalpMaxStop: 8 },
      'scalpMaxStop is kept when set',
    ],
    [
      'atrStop',
      { timeframe: '4h', trail: true },
      { period: 14, multiplier: 2, timeframeMs: 14_400_000, trail: true },
      'timeframe parsed',
    ],
    ['profitLock', { minProfit: 12 }, { lockFraction: 0.3, minProfit: 12 }, 'partial override'],
    [
      'time',
      { flatAt: '21:55', timezone: 'Europe/London', maxHoldMinutes: 240 },
      { flatAtMinutes: 1315, timezone: 'Europe/London', maxHoldMinutes: 240 },
      'flatAt becomes minutes after local midnight',
    ],
    ['time', { maxHoldMinutes: 30 }, { timezone: 'UTC', maxHoldMinutes: 30 }, 'maxHold alone, flatAt unset'],
  ] as const)('%s %j → %j (%s)', (block, value, expected, _reason) => {
    expect(exitsOf({ [block]: value })[block]).toEqual(expected);
  });

  it('sorts ladder rungs by `at` and keeps `close` only where written', () => {
    const rungs = [
      { at: 3, lock: 1.5, close: 0.25 },
      { at: 1, lock: 0 },
      { at: 2, lock: 1, close: 0.5 },
    ];
    expect(exitsOf({ ladder: { rungs } }).ladder?.rungs).toEqual([
      { at: 1, lock: 0 },
      { at: 2, lock: 1, close: 0.5 },
      { at: 3, lock: 1.5, close: 0.25 },
    ]);
  });

  it('treats `exits: null` as no exits at all', () => {
    expect(exitsOf(null)).toEqual({});
  });
});

describe('entries (SPEC §5)', () => {
  it.each([
    [{ kind: 'none' }, { kind: 'none' }, 'none needs no size'],
    [
      { kind: 'signals', file: 'signals.csv', size: 1, stopPoints: 40 },
      { kind: 'signals', file: 'signals.csv', size: 1, stopPoints: 40 },
      'signals with a default stop',
    ],
    [
      { kind: 'ema-cross', timeframe: '1m', fast: 9, slow: 21, size: 1, stopPoints: 100, limitPoints: 40 },
      { kind: 'ema-cross', timeframeMs: 60_000, fast: 9, slow: 21, size: 1, stopPoints: 100, limitPoints: 40 },
      'the SPEC §7 example',
    ],
    [
      { kind: 'breakout', timeframe: '15m', period: 20, size: 2 },
      { kind: 'breakout', timeframeMs: 900_000, period: 20, size: 2 },
      'breakout over 20 candles',
    ],
    [
      { kind: 'module', path: '/abs/entry.js', size: 1, options: { threshold: 3, mode: 'fast' } },
      { kind: 'module', path: '/abs/entry.js', size: 1, options: { threshold: 3, mode: 'fast' } },
      'module options are passed through untouched',
    ],
  ])('%j (%s)', (entry, expected, _reason) => {
    expect(dax(parseConfig(withMarket({ entry }), SOURCE)).entry).toEqual(expected);
  });
});

describe('strategies (SPEC §4.6)', () => {
  it.each([
    [{ scalper: { guard: { maxDrawdown: -5000, trailFraction: 0.3, minPeak: 0 } } }, 'the SPEC §7 example'],
    [{ scalper: { guard: { maxDrawdown: -100 } } }, 'drawdown only; minPeak defaults to 0'],
    [{ scalper: { guard: { trailFraction: 0.5, minPeak: 200 } } }, 'trail only'],
    [{ scalper: {} }, 'a strategy without a guard'],
    [{ scalper: { guard: null } }, 'a guard written empty in YAML is no guard'],
  ])('%j is accepted (%s)', (strategies, _reason) => {
    const config = parseConfig(withMarket({ strategy: 'scalper' }, { strategies }), SOURCE);
    const guard = config.strategies['scalper']?.guard;
    if (guard) expect(guard.minPeak, 'minPeak defaults to 0').toBeGreaterThanOrEqual(0);
    expect(config.strategies['scalper']).toBeDefined();
  });

  it('applies minPeak 0 when not written', () => {
    const config = parseConfig(withMarket({}, { strategies: { s: { guard: { maxDrawdown: -50 } } } }), SOURCE);
    expect(config.strategies).toEqual({ s: { guard: { maxDrawdown: -50, minPeak: 0 } } });
  });
});

describe('configuration errors name the key path, the value and the expectation', () => {
  const m = `markets["${DAX}"]`;
  it.each([
    [
      withMarket({ exits: { trailing: { distance: -3 } } }),
      `${m}.exits.trailing.distance`,
      'got -3',
      'a number ≥ 0',
      'negative distance',
    ],
    [
      withMarket({ exits: { trailing: { distance: '10' } } }),
      `${m}.exits.trailing.distance`,
      'got "10"',
      'a number',
      'quoted number',
    ],
    [withMarket({ pointSize: undefined }), `${m}.pointSize`, 'missing', 'a number', 'pointSize is required'],
    [
      { markets: { [DAX]: { pointSize: 1 } } },
      `${m}.decimals`,
      'missing',
      'a whole number of price decimals',
      'decimals is required',
    ],
    [
      withMarket({ decimals: 1.5 }),
      `${m}.decimals`,
      'got 1.5',
      'a whole number of price decimals',
      'decimals must be whole',
    ],
    [withMarket({ decimals: 12 }), `${m}.decimals`, 'got 12', '0 to 10', 'decimals capped at 10'],
    [withMarket({ lotStep: 0 }), `${m}.lotStep`, 'got 0', 'a number > 0', 'zero lot step'],
    [
      withMarket({ valuePerPoint: 1e308 }),
      `${m}.valuePerPoint`,
      'got 1e+308',
      'a number ≤ 1000000000000',
      'a value that would overflow a P&L',
    ],
    [withMarket({ minStopDistance: -1 }), `${m}.minStopDistance`, 'got -1', '≥ 0', 'negative minimum distance'],
    [
      withMarket({ pointSize: 0.0001, decimals: 3 }),
      `${m}.pointSize`,
      'got 0.0001',
      'a multiple of 0.001',
      'point finer than the decimals',
    ],
    [
      withMarket({ exits: { trailing: 'yes' } }),
      `${m}.exits.trailing`,
      'got "yes"',
      'true (on with defaults)',
      'a block is a mapping or a switch',
    ],
    [
      withMarket({ exits: { trailing: { enabled: 'no' } } }),
      `${m}.exits.trailing.enabled`,
      'got "no"',
      'true or false',
      'enabled is a boolean',
    ],
    [
      withMarket({ exits: { atrStop: { timeframe: '2y' } } }),
      `${m}.exits.atrStop.timeframe`,
      'got "2y"',
      '1m, 15m',
      'bad timeframe',
    ],
    [
      withMarket({ exits: { atrStop: { period: 0 } } }),
      `${m}.exits.atrStop.period`,
      'got 0',
      '≥ 1',
      'ATR over zero candles',
    ],
    [
      withMarket({ exits: { virtualStop: { cooldownMs: 1.5 } } }),
      `${m}.exits.virtualStop.cooldownMs`,
      'got 1.5',
      'a whole number',
      'milliseconds are whole',
    ],
    [
      withMarket({ exits: { time: { flatAt: '25:00' } } }),
      `${m}.exits.time.flatAt`,
      'got "25:00"',
      'HH:MM',
      'hour out of range',
    ],
    [
      withMarket({ exits: { time: { flatAt: 1315 } } }),
      `${m}.exits.time.flatAt`,
      'got 1315',
      'HH:MM',
      'a YAML 1.1 sexagesimal number',
    ],
    [
      withMarket({ exits: { time: { timezone: 'Europe/Londres' } } }),
      `${m}.exits.time.timezone`,
      'got "Europe/Londres"',
      'IANA time zone',
      'unknown zone',
    ],
    [
      withMarket({ exits: { ladder: { rungs: [] } } }),
      `${m}.exits.ladder.rungs`,
      'got a list of 0',
      'at least one rung',
      'empty ladder',
    ],
    [
      withMarket({ exits: { ladder: { rungs: [{ at: 2, lock: 1, close: 1.5 }] } } }),
      `${m}.exits.ladder.rungs[0].close`,
      'got 1.5',
      '≤ 1',
      'cannot close more than the position',
    ],
    [
      withMarket({ entry: { kind: 'grid', size: 1 } }),
      `${m}.entry.kind`,
      'got "grid"',
      'none | signals | ema-cross | breakout | module',
      'unknown entry kind',
    ],
    [withMarket({ entry: { size: 1 } }), `${m}.entry.kind`, 'missing', 'none | signals', 'an entry block needs a kind'],
    [
      withMarket({ entry: { kind: 'breakout', timeframe: '1h', period: 20 } }),
      `${m}.entry.size`,
      'missing',
      'a number',
      'size required',
    ],
    [
      withMarket({ entry: { kind: 'signals', file: 'x.csv', size: -1 } }),
      `${m}.entry.size`,
      'got -1',
      'a number > 0',
      'negative size',
    ],
    [
      withMarket({ entry: { kind: 'signals', file: '', size: 1 } }),
      `${m}.entry.file`,
      'got ""',
      'non-empty',
      'empty file name',
    ],
    [
      withMarket({ entry: { kind: 'ema-cross', timeframe: '1m', fast: 21, slow: 9, size: 1 } }),
      `${m}.entry.fast`,
      'got 21',
      'less than slow (9)',
      'fast must be faster than slow',
    ],
    [
      withMarket({ entry: { kind: 'module', path: 'm.js', size: 1, options: 3 } }),
      `${m}.entry.options`,
      'got 3',
      'a mapping',
      'options is a mapping',
    ],
    [{ markets: {} }, 'markets', 'got {}', 'at least one market', 'nothing to protect'],
    [{}, 'markets', 'missing', 'a mapping of market id', 'markets is required'],
    [null, '(top level)', 'got null', 'markets:', 'an empty file'],
    [withMarket({}, { broker: { kind: 'saxo' } }), 'broker.kind', 'got "saxo"', '"ig" | "paper"', 'unknown broker'],
    [
      withMarket({}, { broker: { restUrl: 'ftp://x' } }),
      'broker.restUrl',
      'got "ftp://x"',
      'https:// URL',
      'REST over http(s) only',
    ],
    [withMarket({}, { stateDir: '' }), 'stateDir', 'got ""', 'non-empty', 'empty state directory'],
    [
      withMarket({}, { strategies: { s: { guard: { minPeak: 0 } } } }),
      'strategies.s.guard',
      'got {"minPeak":0}',
      'maxDrawdown, trailFraction or both',
      'a guard that can never trip',
    ],
  ])('%#: %s (%s)', (raw, path, got, expected) => {
    const message = errorOf(raw);
    expect(message).toContain(SOURCE);
    expect(message).toContain(`${path}: ${got}`);
    expect(message).toContain(expected);
  });

  it.each([
    [5000, 'a profit is not a drawdown'],
    [0, 'zero trips the moment the strategy starts'],
  ])('rejects maxDrawdown %d (%s)', (maxDrawdown) => {
    const message = errorOf(withMarket({}, { strategies: { scalper: { guard: { maxDrawdown } } } }));
    expect(message).toContain(`strategies.scalper.guard.maxDrawdown: got ${maxDrawdown}`);
    expect(message).toContain('a negative amount of account currency');
  });

  it.each([
    [{ minStopDistance: 12, exits: { virtualStop: { safetyDistance: 10 } } }, 'got 10;', 'written below the minimum'],
    [
      { minStopDistance: 12, exits: { virtualStop: true } },
      'got 10 (the default)',
      'the default 10 below a minimum of 12',
    ],
  ])('rejects a safetyDistance below minStopDistance: %j (%s)', (market, got, _reason) => {
    const message = errorOf(withMarket(market));
    expect(message).toContain(`markets["${DAX}"].exits.virtualStop.safetyDistance: ${got}`);
    expect(message).toContain("at least the market's minStopDistance (12)");
  });

  it('accepts a safetyDistance equal to minStopDistance', () => {
    const market = dax(parseConfig(withMarket({ minStopDistance: 10, exits: { virtualStop: {} } }), SOURCE));
    expect(market.exits.virtualStop?.safetyDistance).toBe(10);
  });

  it.each([
    [{ stateDirectory: './s' }, withMarket({}), 'stateDirectory', 'the configuration file', 'top-level typo'],
    [{}, withMarket({ pointsize: 1 }), `markets["${DAX}"].pointsize`, 'pointSize', 'market key in the wrong case'],
    [
      {},
      withMarket({ exits: { trailing: { distnace: 10 } } }),
      `markets["${DAX}"].exits.trailing.distnace`,
      'activateAt, distance',
      'a typo in a stop setting',
    ],
    [
      {},
      withMarket({ exits: { trailing: { enabled: false, distnace: 10 } } }),
      `markets["${DAX}"].exits.trailing.distnace`,
      'distance',
      'checked even when off',
    ],
    [
      {},
      withMarket({ exits: { trailingStop: {} } }),
      `markets["${DAX}"].exits.trailingStop`,
      'trailing, virtualStop',
      'unknown block',
    ],
    [
      {},
      withMarket({ entry: { kind: 'none', fast: 9 } }),
      `markets["${DAX}"].entry.fast`,
      'entry (kind: none)',
      'a key of another entry kind',
    ],
    [
      {},
      withMarket({ exits: { ladder: { rungs: [{ at: 1, lock: 0, size: 1 }] } } }),
      `markets["${DAX}"].exits.ladder.rungs[0].size`,
      'at, lock, close',
      'unknown rung key',
    ],
    [{ broker: { kind: 'ig', env: 'demo' } }, withMarket({}), 'broker.env', 'environment', 'unknown broker key'],
    [
      { strategies: { s: { guard: { maxDD: -1 } } } },
      withMarket({}),
      'strategies.s.guard.maxDD',
      'maxDrawdown',
      'unknown guard key',
    ],
  ])('rejects unknown key %#: %s (%s)', (top, base, path, known, _reason) => {
    const message = errorOf({ ...(base as object), ...top });
    expect(message).toContain(`${path}: unknown key; expected one of the keys of`);
    expect(message).toContain(known);
  });

  it.each([
    [{ pointSize: 1, decimals: -2 }, 'decimals'],
    [{ pointSize: 0, decimals: 1 }, 'pointSize'],
    [{ minStopDistance: -5, exits: { virtualStop: { safetyDistance: -10 } } }, 'minStopDistance'],
  ])('one message per mistake: %j is not also blamed on a valid key', (market, key) => {
    const message = errorOf(withMarket(market));
    expect(message).toContain(`].${key}`);
    expect(message.match(/^ {2}- /gm)?.length ?? 0, message).toBe(
      key === 'minStopDistance' ? 2 : 1, // and virtualStop.safetyDistance, invalid itself
    );
  });

  it('lists every problem in one error', () => {
    const message = errorOf(
      withMarket(
        { lotStep: -1, exits: { trailing: { distance: -3 }, time: { timezone: 'Nowhere/City' } } },
        { broker: { environment: 'prod' }, strategies: { s: { guard: { maxDrawdown: 10 } } } },
      ),
    );
    expect(message).toContain('(5 problems)');
    for (const path of [
      'broker.environment',
      'strategies.s.guard.maxDrawdown',
      `markets["${DAX}"].lotStep`,
      'exits.trailing.distance',
      'exits.time.timezone',
    ]) {
      expect(message, `the error must list ${path}`).toContain(path);
    }
  });
});

describe('secrets never live in the configuration (SPEC §7)', () => {
  it.each([
    [{ apiKey: 'k-123' }, 'broker.apiKey', 'the API key'],
    [{ password: 'hunter2' }, 'broker.password', 'the password'],
    [{ identifier: 'me' }, 'broker.identifier', 'the IG user name'],
    [{ accountId: 'ABC12' }, 'broker.accountId', 'the account'],
    [{ API_KEY: 'k-123' }, 'broker.API_KEY', 'any spelling of the key'],
    [{ demo: { password: 'hunter2' } }, 'broker.demo.password', 'nested below broker'],
  ])('rejects %j (%s)', (secret, path, _reason) => {
    const message = errorOf(withMarket({}, { broker: { kind: 'ig', ...secret } }));
    expect(message).toContain(`${path}: secrets never live in the configuration file`);
    for (const name of ['IG_API_KEY', 'IG_IDENTIFIER', 'IG_PASSWORD', 'IG_ACCOUNT_ID']) expect(message).toContain(name);
    expect(message, 'the secret itself is never echoed back').not.toMatch(/k-123|hunter2|ABC12|"me"/);
    expect(message, 'a secret is reported once, not also as an unknown key').not.toContain('unknown key');
  });

  it('leaves a module’s own options alone: they belong to the module', () => {
    const entry = { kind: 'module', path: '/m.js', size: 1, options: { identifier: 'breakout-v2' } };
    expect(dax(parseConfig(withMarket({ entry }), SOURCE)).entry).toEqual(entry);
  });

  it('refuses a secret misplaced outside broker too, without echoing it', () => {
    const message = errorOf(withMarket({}, { password: 'hunter2' }));
    expect(message).toContain('password: secrets never live in the configuration file');
    expect(message).not.toContain('hunter2');
  });
});

describe('configuration warnings: allowed by SPEC §7, almost certainly not meant', () => {
  const warningsOf = (market: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    configWarnings(parseConfig(withMarket(market, top), SOURCE));

  it('a strategy name that strategies: does not hold (a typo runs without the kill switch)', () => {
    const top = { strategies: { scalper: { guard: { maxDrawdown: -50 } } } };
    expect(warningsOf({ strategy: 'scalpr' }, top)).toEqual([
      `${DAX}: strategy scalpr is not under strategies: (scalper), so no guard watches it`,
    ]);
    expect(warningsOf({ strategy: 'scalper' }, top)).toEqual([]);
    expect(warningsOf({}, top), 'no strategy named: the default, unguarded on purpose').toEqual([]);
    expect(warningsOf({ strategy: 'swing' }), 'no strategies: at all').toEqual([]);
  });

  it('a virtual stop at or beyond its safety stop, which could never fire', () => {
    expect(warningsOf({ exits: { virtualStop: { distance: 20, safetyDistance: 10 } } })).toEqual([
      `${DAX}: exits.virtualStop.distance 20 is not inside safetyDistance 10: the broker's safety stop closes the position first, the virtual stop never fires`,
    ]);
    expect(warningsOf({ exits: { virtualStop: { distance: 4, safetyDistance: 10 } } })).toEqual([]);
  });

  it('an entry size that is not a whole number of lots', () => {
    const entry = (size: number) => ({ kind: 'ema-cross', timeframe: '1m', fast: 3, slow: 5, size });
    for (const size of [0.05, 0.25])
      expect(warningsOf({ lotStep: 0.1, entry: entry(size) })).toEqual([
        `${DAX}: entry.size ${size} is not a whole number of lots (lotStep 0.1): IG would refuse such a deal`,
      ]);
    expect(warningsOf({ lotStep: 0.1, entry: entry(0.3) })).toEqual([]);
  });

  it('values SPEC allows that close at once or never: accepted as SPEC has them, with a warning each', () => {
    const config = parseConfig(
      withMarket(
        {
          exits: {
            trailing: { distance: 0 },
            profitLock: { lockFraction: 1 },
            ladder: { rungs: [{ at: 1, lock: 1 }] },
          },
          entry: { kind: 'none', stopPoints: 0, limitPoints: 0 },
        },
        { strategies: { s: { guard: { trailFraction: 1.2 } } } },
      ),
      SOURCE,
    );
    expect(dax(config).exits).toMatchObject({
      trailing: { distance: 0 },
      profitLock: { lockFraction: 1 },
      ladder: { rungs: [{ at: 1, lock: 1 }] },
    });
    expect(dax(config).entry).toMatchObject({ stopPoints: 0, limitPoints: 0 });
    expect(configWarnings(config)).toEqual([
      `${DAX}: exits.trailing.distance 0 closes a position as soon as the rule is active`,
      `${DAX}: the ladder rung at 1 locks 1, at or beyond the price that fires it: it closes the position at once`,
      `${DAX}: exits.profitLock.lockFraction 1 locks all of the peak profit or more: it closes the position at once`,
      `${DAX}: entry.stopPoints 0 sets the initial stop at the entry price: the spread alone can stop a position on its next tick`,
      `${DAX}: entry.limitPoints 0 sets the take-profit at the entry price: a position closes as soon as the price is back at its entry`,
      'strategy s: guard.trailFraction 1.2 stops it only once its MTM is at or below 0',
    ]);
  });
});
