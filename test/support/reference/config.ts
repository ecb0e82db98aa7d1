// Reading of the configuration object (SPEC §7) with the defaults of SPEC §4 and §9 "Defaults".
// Only what a backtest needs: `markets` and `strategies`. The configuration is assumed valid (the
// project validates it); this reader only throws on what it cannot make sense of.

export type Direction = 'BUY' | 'SELL';

export interface TrailingConfig {
  activateAt: number;
  distance: number;
}
export interface VirtualStopConfig {
  distance: number;
  safetyDistance: number;
  cooldownMs: number;
  scalpMaxStop: number | undefined;
}
export interface AtrStopConfig {
  period: number;
  multiplier: number;
  timeframeMs: number;
  trail: boolean;
}
export interface Rung {
  at: number;
  lock: number | undefined;
  close: number;
}
export interface LadderConfig {
  /** In order of `at` (SPEC §9 Ladder). */
  rungs: Rung[];
}
export interface ProfitLockConfig {
  lockFraction: number;
  minProfit: number;
}
export interface TimeConfig {
  /** flatAt as minutes after local midnight. */
  flatAtMinutes: number | undefined;
  timezone: string;
  maxHoldMinutes: number | undefined;
}

export interface ExitsConfig {
  trailing: TrailingConfig | undefined;
  virtualStop: VirtualStopConfig | undefined;
  atrStop: AtrStopConfig | undefined;
  ladder: LadderConfig | undefined;
  profitLock: ProfitLockConfig | undefined;
  time: TimeConfig | undefined;
}

interface EntryCommon {
  size: number | undefined;
  stopPoints: number | undefined;
  limitPoints: number | undefined;
}
export type EntryConfig =
  | { kind: 'none' }
  | ({ kind: 'signals'; file: string } & EntryCommon)
  | ({ kind: 'ema-cross'; timeframeMs: number; fast: number; slow: number } & EntryCommon)
  | ({ kind: 'breakout'; timeframeMs: number; period: number } & EntryCommon);

export interface MarketConfig {
  name: string;
  pointSize: number;
  decimals: number;
  valuePerPoint: number;
  lotStep: number;
  minStopDistance: number;
  stopStep: number;
  strategy: string;
  entry: EntryConfig;
  exits: ExitsConfig;
}

export interface GuardConfig {
  maxDrawdown: number | undefined;
  trailFraction: number | undefined;
  minPeak: number;
}

export interface Config {
  /** In the order of the configuration file. */
  markets: Map<string, MarketConfig>;
  guards: Map<string, GuardConfig>;
}

/** SPEC §4.4 default rungs. */
const DEFAULT_RUNGS: readonly Rung[] = [
  { at: 1, lock: 0, close: 0 },
  { at: 1.5, lock: 0.5, close: 0 },
  { at: 2, lock: 1, close: 0.5 },
  { at: 3, lock: 1.5, close: 0.25 },
  { at: 4, lock: 2, close: 0.25 },
];

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function num(o: Obj, key: string, fallback: number): number;
function num(o: Obj, key: string, fallback: undefined): number | undefined;
function num(o: Obj, key: string, fallback: number | undefined): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${key}: expected a number, got ${String(v)}`);
  return v;
}

function str(o: Obj, key: string, fallback: string): string {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new Error(`${key}: expected a string, got ${String(v)}`);
  return v;
}

/** `30s`, `1m`, `5m`, `1h`, `1d` → milliseconds (SPEC §4.3, §9: buckets aligned to the Unix epoch). */
export function parseTimeframe(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (m === null) throw new Error(`bad timeframe: ${text}`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/**
 * SPEC §9 Defaults: an exits block is off when absent, `null`, `false` or `{enabled: false}`;
 * `{}` or `true` turns it on with defaults. Returns the block's own settings, or undefined when off.
 */
function block(raw: unknown): Obj | undefined {
  if (raw === undefined || raw === null || raw === false) return undefined;
  if (raw === true) return {};
  if (!isObj(raw)) throw new Error(`exits block: expected an object or boolean, got ${String(raw)}`);
  if (raw['enabled'] === false) return undefined;
  return raw;
}

function parseFlatAt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (m === null) throw new Error(`bad flatAt: ${text}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function parseExits(raw: unknown): ExitsConfig {
  const exits = isObj(raw) ? raw : {};
  const trailing = block(exits['trailing']);
  const virtualStop = block(exits['virtualStop']);
  const atrStop = block(exits['atrStop']);
  const ladder = block(exits['ladder']);
  const profitLock = block(exits['profitLock']);
  const time = block(exits['time']);
  return {
    // SPEC §4.1 defaults: activateAt 25, distance 10.
    trailing: trailing && { activateAt: num(trailing, 'activateAt', 25), distance: num(trailing, 'distance', 10) },
    // SPEC §4.2 defaults: distance 4, safetyDistance 10, cooldownMs 1000, scalpMaxStop unset.
    virtualStop: virtualStop && {
      distance: num(virtualStop, 'distance', 4),
      safetyDistance: num(virtualStop, 'safetyDistance', 10),
      cooldownMs: num(virtualStop, 'cooldownMs', 1000),
      scalpMaxStop: num(virtualStop, 'scalpMaxStop', undefined),
    },
    // SPEC §4.3 defaults: period 14, multiplier 2.0, timeframe 1d, trail false.
    atrStop: atrStop && {
      period: num(atrStop, 'period', 14),
      multiplier: num(atrStop, 'multiplier', 2),
      timeframeMs: parseTimeframe(str(atrStop, 'timeframe', '1d')),
      trail: atrStop['trail'] === true,
    },
    // SPEC §4.4: default rungs; §9 Ladder: rungs in order of `at`.
    ladder: ladder && { rungs: parseRungs(ladder['rungs']) },
    // SPEC §4.5 defaults: lockFraction 0.3, minProfit 0.
    profitLock: profitLock && {
      lockFraction: num(profitLock, 'lockFraction', 0.3),
      minProfit: num(profitLock, 'minProfit', 0),
    },
    // SPEC §4.7: flatAt "HH:MM" in timezone [UTC], maxHoldMinutes.
    time: time && {
      flatAtMinutes: parseFlatAt(
        time['flatAt'] === undefined || time['flatAt'] === null ? undefined : str(time, 'flatAt', ''),
      ),
      timezone: str(time, 'timezone', 'UTC'),
      maxHoldMinutes: num(time, 'maxHoldMinutes', undefined),
    },
  };
}

function parseRungs(raw: unknown): Rung[] {
  if (raw === undefined || raw === null) return DEFAULT_RUNGS.map((r) => ({ ...r }));
  if (!Array.isArray(raw)) throw new Error('ladder.rungs: expected a list');
  const rungs = raw.map((r: unknown): Rung => {
    if (!isObj(r)) throw new Error('ladder rung: expected an object');
    const at = num(r, 'at', undefined);
    if (at === undefined) throw new Error('ladder rung: `at` is required');
    return { at, lock: num(r, 'lock', undefined), close: num(r, 'close', 0) };
  });
  // SPEC §9 Ladder: "Rungs in order of `at`" (stable sort keeps the file order of equal `at`).
  return rungs.sort((a, b) => a.at - b.at);
}

function parseEntry(raw: unknown): EntryConfig {
  if (raw === undefined || raw === null) return { kind: 'none' };
  if (!isObj(raw)) throw new Error('entry: expected an object');
  const kind = str(raw, 'kind', 'none');
  const common: EntryCommon = {
    size: num(raw, 'size', undefined),
    stopPoints: num(raw, 'stopPoints', undefined),
    limitPoints: num(raw, 'limitPoints', undefined),
  };
  switch (kind) {
    case 'none':
      return { kind: 'none' };
    case 'signals':
      return { kind: 'signals', file: str(raw, 'file', ''), ...common };
    case 'ema-cross':
      return {
        kind: 'ema-cross',
        timeframeMs: parseTimeframe(str(raw, 'timeframe', '')),
        fast: num(raw, 'fast', 0),
        slow: num(raw, 'slow', 0),
        ...common,
      };
    case 'breakout':
      return {
        kind: 'breakout',
        timeframeMs: parseTimeframe(str(raw, 'timeframe', '')),
        period: num(raw, 'period', 0),
        ...common,
      };
    default:
      throw new Error(`entry kind ${kind} is not supported by the reference implementation`);
  }
}

export function parseConfig(raw: unknown): Config {
  if (!isObj(raw)) throw new Error('configuration: expected an object');
  const markets = new Map<string, MarketConfig>();
  const rawMarkets = isObj(raw['markets']) ? raw['markets'] : {};
  for (const [name, value] of Object.entries(rawMarkets)) {
    if (!isObj(value)) throw new Error(`markets.${name}: expected an object`);
    const pointSize = num(value, 'pointSize', undefined);
    const decimals = num(value, 'decimals', undefined);
    if (pointSize === undefined || decimals === undefined) {
      throw new Error(`markets.${name}: pointSize and decimals are required (SPEC §9 Defaults)`);
    }
    // SPEC §9 Defaults: valuePerPoint 1, lotStep 0.01, minStopDistance 0, stopStep 0, strategy `default`.
    markets.set(name, {
      name,
      pointSize,
      decimals,
      valuePerPoint: num(value, 'valuePerPoint', 1),
      lotStep: num(value, 'lotStep', 0.01),
      minStopDistance: num(value, 'minStopDistance', 0),
      stopStep: num(value, 'stopStep', 0),
      strategy: str(value, 'strategy', 'default'),
      entry: parseEntry(value['entry']),
      exits: parseExits(value['exits']),
    });
  }
  const guards = new Map<string, GuardConfig>();
  const rawStrategies = isObj(raw['strategies']) ? raw['strategies'] : {};
  for (const [name, value] of Object.entries(rawStrategies)) {
    if (!isObj(value)) continue;
    const guard = value['guard'];
    if (!isObj(guard)) continue;
    // SPEC §4.6 / §9 Guard: minPeak [0].
    guards.set(name, {
      maxDrawdown: num(guard, 'maxDrawdown', undefined),
      trailFraction: num(guard, 'trailFraction', undefined),
      minPeak: num(guard, 'minPeak', 0),
    });
  }
  return { markets, guards };
}
