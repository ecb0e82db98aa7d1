/**
 * The configuration file (SPEC §7) as a zod schema that validates, applies the defaults of SPEC §4
 * and §9 "Defaults", and produces exactly the resolved shapes of src/core/domain/config.ts.
 *
 * Messages given here are *expectations* ("a number > 0"): the loader prefixes them with the key
 * path and the offending value. Checks without a message of their own get one from
 * `expectationMap` (issues.ts), which the loader passes to every parse.
 */
import { z } from 'zod';

import type {
  AtrStopConfig,
  BrokerConfig,
  Config,
  EntryConfig,
  ExitsConfig,
  GuardConfig,
  LadderConfig,
  LadderRung,
  MarketConfig,
  ProfitLockConfig,
  StrategyConfig,
  TimeExitConfig,
  TrailingConfig,
  VirtualStopConfig,
} from '../domain/config.js';
import { isValidTimeZone, parseClockTime, parseTimeframe } from './units.js';

/** Decisions compare with this tolerance, in points (SPEC §9 "Arithmetic"). */
const EPSILON = 1e-9;

export const DEFAULT_LADDER_RUNGS: readonly LadderRung[] = Object.freeze([
  { at: 1, lock: 0 },
  { at: 1.5, lock: 0.5 },
  { at: 2, lock: 1, close: 0.5 },
  { at: 3, lock: 1.5, close: 0.25 },
  { at: 4, lock: 2, close: 0.25 },
]);

/** Every default of SPEC §4 and §9 in one place, so docs and tests quote the same numbers. */
export const DEFAULTS = {
  broker: { kind: 'ig', environment: 'demo' } satisfies BrokerConfig,
  stateDir: './state',
  journal: './trade_history.csv',
  market: { valuePerPoint: 1, lotStep: 0.01, minStopDistance: 0, stopStep: 0, strategy: 'default' },
  trailing: { activateAt: 25, distance: 10 } satisfies TrailingConfig,
  virtualStop: { distance: 4, safetyDistance: 10, cooldownMs: 1000 } satisfies VirtualStopConfig,
  atrStop: { period: 14, multiplier: 2, timeframeMs: 86_400_000, trail: false } satisfies AtrStopConfig,
  profitLock: { lockFraction: 0.3, minProfit: 0 } satisfies ProfitLockConfig,
  time: { timezone: 'UTC' } satisfies TimeExitConfig,
  guard: { minPeak: 0 } satisfies GuardConfig,
} as const;

export const SECRET_ENV_VARS = ['IG_API_KEY', 'IG_IDENTIFIER', 'IG_PASSWORD', 'IG_ACCOUNT_ID'] as const;

// ---------------------------------------------------------------------------------------------
// Building blocks

const TYPE_MESSAGE = (what: string) => `${what}: a mapping of key: value`;

/**
 * A strict object: an unknown key is an error (a typo in a stop setting must not pass silently),
 * and the message lists the keys that are allowed.
 */
function strict<T extends z.core.$ZodLooseShape>(shape: T, what: string, typeMessage = TYPE_MESSAGE(what)) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `one of the keys of ${what}: ${known}`;
      if (issue.code === 'invalid_type') return typeMessage;
      return undefined;
    },
  });
}

/**
 * The largest number a setting takes: past it a P&L (points × size × value per point) could
 * overflow to Infinity and reach the journal. No market is near it.
 */
const MAX_SETTING = 1e12;
const positive = () => z.number().gt(0).max(MAX_SETTING);
const nonNegative = () => z.number().min(0).max(MAX_SETTING);
const positiveInt = () => z.int().min(1);
const nonEmptyString = () => z.string().trim().min(1);

/** Drops keys whose value is undefined, so optional fields are absent rather than `undefined`. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const timeframe = () =>
  z.string({ error: 'a timeframe such as 30s, 1m, 15m, 1h, 4h or 1d' }).transform((text, ctx) => {
    const ms = parseTimeframe(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', input: text, message: 'a timeframe such as 30s, 1m, 15m, 1h, 4h or 1d' });
      return z.NEVER;
    }
    return ms;
  });

const clockTime = () =>
  z.string({ error: 'a time of day "HH:MM" (quote it in YAML)' }).transform((text, ctx) => {
    const minutes = parseClockTime(text);
    if (minutes === undefined) {
      ctx.addIssue({ code: 'custom', input: text, message: 'a time of day "HH:MM", 00:00 to 23:59' });
      return z.NEVER;
    }
    return minutes;
  });

const timeZone = () =>
  z.string().refine(isValidTimeZone, { error: 'an IANA time zone such as UTC, Europe/London or America/New_York' });

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' });

/**
 * An exits block is off when absent, `null`, `false` or `{enabled: false}`; `true` or `{}` turns
 * it on with its defaults (SPEC §9 "Defaults"). The block's keys are still checked when it is
 * switched off with `enabled: false`, so a typo does not wait until the day it is switched on.
 */
function exitBlock<T extends z.ZodType>(block: T) {
  return z
    .preprocess(
      (value) => (value === true ? {} : value === false || value === null ? undefined : value),
      block.optional(),
    )
    .optional();
}

const blockTypeMessage = (name: string) =>
  `the ${name} block: a mapping of its settings, true (on with defaults), false or null (off)`;

const enabled = () => z.boolean().optional();

// ---------------------------------------------------------------------------------------------
// Exits (SPEC §4.1–§4.5, §4.7)

const trailingSchema = exitBlock(
  strict(
    {
      enabled: enabled(),
      activateAt: nonNegative().default(DEFAULTS.trailing.activateAt),
      // SPEC sets no bound but sense: 0 (a stop at the best price) runs, with a warning.
      distance: nonNegative().default(DEFAULTS.trailing.distance),
    },
    'exits.trailing',
    blockTypeMessage('trailing'),
  ).transform(({ enabled, ...rule }): TrailingConfig | undefined => (enabled === false ? undefined : rule)),
);

const virtualStopSchema = exitBlock(
  strict(
    {
      enabled: enabled(),
      distance: positive().default(DEFAULTS.virtualStop.distance),
      safetyDistance: positive().default(DEFAULTS.virtualStop.safetyDistance),
      cooldownMs: z.int().min(0).default(DEFAULTS.virtualStop.cooldownMs),
      scalpMaxStop: positive().optional(),
    },
    'exits.virtualStop',
    blockTypeMessage('virtualStop'),
  ).transform(({ enabled, ...rule }): VirtualStopConfig | undefined => (enabled === false ? undefined : compact(rule))),
);

const atrStopSchema = exitBlock(
  strict(
    {
      enabled: enabled(),
      period: positiveInt().default(DEFAULTS.atrStop.period),
      multiplier: positive().default(DEFAULTS.atrStop.multiplier),
      timeframe: timeframe().default(DEFAULTS.atrStop.timeframeMs),
      trail: z.boolean().default(DEFAULTS.atrStop.trail),
    },
    'exits.atrStop',
    blockTypeMessage('atrStop'),
  ).transform(({ enabled, timeframe, ...rule }): AtrStopConfig | undefined =>
    enabled === false
      ? undefined
      : { period: rule.period, multiplier: rule.multiplier, timeframeMs: timeframe, trail: rule.trail },
  ),
);

const rungSchema = strict(
  {
    at: positive(),
    lock: z.number(),
    close: z.number().gt(0).max(1).optional(),
  },
  'a ladder rung',
);

const ladderSchema = exitBlock(
  strict(
    {
      enabled: enabled(),
      rungs: z
        .array(rungSchema, { error: 'a list of rungs {at, lock, close?}' })
        .min(1, { error: 'at least one rung (or switch the ladder off)' })
        .optional(),
    },
    'exits.ladder',
    blockTypeMessage('ladder'),
  ).transform(({ enabled, rungs }): LadderConfig | undefined => {
    if (enabled === false) return undefined;
    const source = rungs ?? DEFAULT_LADDER_RUNGS;
    // Array.prototype.sort is stable: rungs with the same `at` keep file order.
    return { rungs: source.map((rung) => compact({ ...rung })).sort((a, b) => a.at - b.at) };
  }),
);

const profitLockSchema = exitBlock(
  strict(
    {
      enabled: enabled(),
      lockFraction: nonNegative().default(DEFAULTS.profitLock.lockFraction),
      minProfit: nonNegative().default(DEFAULTS.profitLock.minProfit),
    },
    'exits.profitLock',
    blockTypeMessage('profitLock'),
  ).transform(({ enabled, ...rule }): ProfitLockConfig | undefined => (enabled === false ? undefined : rule)),
);

const timeExitSchema = exitBlock(
  strict(
    {
      enabled: enabled(),
      flatAt: clockTime().optional(),
      timezone: timeZone().default(DEFAULTS.time.timezone),
      maxHoldMinutes: positive().optional(),
    },
    'exits.time',
    blockTypeMessage('time'),
  ).transform(({ enabled, flatAt, timezone, maxHoldMinutes }): TimeExitConfig | undefined =>
    enabled === false ? undefined : compact({ flatAtMinutes: flatAt, timezone, maxHoldMinutes }),
  ),
);

const exitsSchema = z
  .preprocess(
    (value) => (value === null ? {} : value),
    strict(
      {
        trailing: trailingSchema,
        virtualStop: virtualStopSchema,
        atrStop: atrStopSchema,
        ladder: ladderSchema,
        profitLock: profitLockSchema,
        time: timeExitSchema,
      },
      'exits',
    ),
  )
  .transform((exits): ExitsConfig => compact(exits));

// ---------------------------------------------------------------------------------------------
// Entries (SPEC §5)

const ENTRY_KINDS = ['none', 'signals', 'ema-cross', 'breakout', 'module'] as const;

const entryCommon = {
  size: positive(),
  // 0 is allowed, as SPEC allows it: a stop (or limit) at the entry price, widened to minStopDistance.
  stopPoints: nonNegative().optional(),
  limitPoints: nonNegative().optional(),
};

const entrySchema = z
  .discriminatedUnion(
    'kind',
    [
      strict({ kind: z.literal('none'), ...entryCommon, size: positive().optional() }, 'entry (kind: none)'),
      strict({ kind: z.literal('signals'), file: nonEmptyString(), ...entryCommon }, 'entry (kind: signals)'),
      strict(
        {
          kind: z.literal('ema-cross'),
          timeframe: timeframe(),
          fast: positiveInt(),
          slow: positiveInt(),
          ...entryCommon,
        },
        'entry (kind: ema-cross)',
      ).superRefine((entry, ctx) => {
        if (entry.fast >= entry.slow) {
          ctx.addIssue({
            code: 'custom',
            path: ['fast'],
            input: entry.fast,
            message: `less than slow (${entry.slow})`,
          });
        }
      }),
      strict(
        { kind: z.literal('breakout'), timeframe: timeframe(), period: positiveInt(), ...entryCommon },
        'entry (kind: breakout)',
      ),
      strict(
        {
          kind: z.literal('module'),
          path: nonEmptyString(),
          options: z.record(z.string(), z.unknown(), { error: 'a mapping of options for the module' }).optional(),
          ...entryCommon,
        },
        'entry (kind: module)',
      ),
    ],
    {
      error: (issue) =>
        issue.code === 'invalid_union'
          ? `one of ${ENTRY_KINDS.join(' | ')}`
          : issue.code === 'invalid_type'
            ? `an entry block: a mapping with kind: ${ENTRY_KINDS.join(' | ')}`
            : undefined,
    },
  )
  .transform((entry): EntryConfig => {
    const common = compact({ stopPoints: entry.stopPoints, limitPoints: entry.limitPoints });
    switch (entry.kind) {
      case 'none':
        return entry.size === undefined ? { kind: 'none', ...common } : { kind: 'none', size: entry.size, ...common };
      case 'signals':
        return { kind: 'signals', file: entry.file, size: entry.size, ...common };
      case 'ema-cross':
        return {
          kind: 'ema-cross',
          timeframeMs: entry.timeframe,
          fast: entry.fast,
          slow: entry.slow,
          size: entry.size,
          ...common,
        };
      case 'breakout':
        return { kind: 'breakout', timeframeMs: entry.timeframe, period: entry.period, size: entry.size, ...common };
      case 'module':
        return entry.options === undefined
          ? { kind: 'module', path: entry.path, size: entry.size, ...common }
          : { kind: 'module', path: entry.path, options: entry.options, size: entry.size, ...common };
      default: {
        const _exhaustive: never = entry;
        return _exhaustive;
      }
    }
  });

// ---------------------------------------------------------------------------------------------
// Markets

const marketSchema = strict(
  {
    pointSize: positive(),
    decimals: z.int({ error: 'a whole number of price decimals, 0 to 10' }).min(0).max(10),
    valuePerPoint: positive().default(DEFAULTS.market.valuePerPoint),
    lotStep: positive().default(DEFAULTS.market.lotStep),
    minStopDistance: nonNegative().default(DEFAULTS.market.minStopDistance),
    stopStep: nonNegative().default(DEFAULTS.market.stopStep),
    strategy: nonEmptyString().default(DEFAULTS.market.strategy),
    entry: entrySchema.default({ kind: 'none' }),
    exits: exitsSchema.default({}),
  },
  'a market',
).superRefine((market, ctx) => {
  // Each check reads only values that are valid themselves (zod runs this even when a field
  // failed): one message per mistake, never one that blames a valid key for an invalid one.
  const valid = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  // Levels are rounded to `decimals`; a point finer than that would be rounded away.
  const pointsPerUnit = market.pointSize * 10 ** market.decimals;
  const decimalsValid = Number.isInteger(market.decimals) && market.decimals >= 0 && market.decimals <= 10;
  if (
    decimalsValid &&
    valid(market.pointSize) &&
    market.pointSize > 0 &&
    (Math.abs(pointsPerUnit - Math.round(pointsPerUnit)) > EPSILON * Math.max(1, pointsPerUnit) ||
      pointsPerUnit < 1 - EPSILON)
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['pointSize'],
      input: market.pointSize,
      message: `a multiple of ${10 ** -market.decimals} (decimals is ${market.decimals}: computed levels are rounded to it)`,
    });
  }
  const virtualStop = market.exits.virtualStop;
  if (
    virtualStop &&
    valid(market.minStopDistance) &&
    valid(virtualStop.safetyDistance) &&
    virtualStop.safetyDistance < market.minStopDistance - EPSILON
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['exits', 'virtualStop', 'safetyDistance'],
      input: virtualStop.safetyDistance,
      message: `at least the market's minStopDistance (${market.minStopDistance}): the broker refuses a closer safety stop`,
    });
  }
});

const marketsSchema = z
  .record(nonEmptyString(), marketSchema, { error: 'a mapping of market id (epic) to its settings' })
  .refine((markets) => Object.keys(markets).length > 0, {
    error: 'at least one market, e.g. IX.D.DAX.DAILY.IP: {pointSize: 1, decimals: 1}',
  })
  .transform((markets): Record<string, MarketConfig> =>
    Object.fromEntries(Object.entries(markets).map(([market, settings]) => [market, { market, ...settings }])),
  );

// ---------------------------------------------------------------------------------------------
// Strategies (SPEC §4.6)

const guardSchema = strict(
  {
    maxDrawdown: z
      .number()
      .lt(0, {
        error: 'a negative amount of account currency, e.g. -5000 (the strategy stops when its P&L falls to it)',
      })
      .optional(),
    trailFraction: nonNegative().optional(),
    minPeak: nonNegative().default(DEFAULTS.guard.minPeak),
  },
  'a strategy guard',
)
  .superRefine((guard, ctx) => {
    if (guard.maxDrawdown === undefined && guard.trailFraction === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'maxDrawdown, trailFraction or both (a guard without them never trips)',
      });
    }
  })
  .transform((guard): GuardConfig => compact(guard));

const strategySchema = strict({ guard: guardSchema.nullable().optional() }, 'a strategy').transform(
  ({ guard }): StrategyConfig => (guard == null ? {} : { guard }),
);

const strategiesSchema = z
  .preprocess(
    (value) => (value === null ? {} : value),
    z.record(nonEmptyString(), strategySchema, { error: 'a mapping of strategy name to {guard: {...}}' }),
  )
  .default({});

// ---------------------------------------------------------------------------------------------
// The file

const brokerSchema = strict(
  {
    kind: z.enum(['ig', 'paper']).default(DEFAULTS.broker.kind),
    environment: z.enum(['demo', 'live']).default(DEFAULTS.broker.environment),
    restUrl: httpUrl().optional(),
    streamUrl: httpUrl().optional(),
  },
  'broker',
).transform((broker): BrokerConfig => compact(broker));

export const configSchema = strict(
  {
    broker: brokerSchema.default({ ...DEFAULTS.broker }),
    stateDir: nonEmptyString().default(DEFAULTS.stateDir),
    journal: nonEmptyString().default(DEFAULTS.journal),
    strategies: strategiesSchema,
    markets: marketsSchema,
  },
  'the configuration file',
  'a mapping with at least `markets:` at the top level',
).transform((config): Config => config);
