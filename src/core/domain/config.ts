/**
 * The resolved configuration the engine runs on (SPEC §7 after validation and defaults).
 * The zod schema in src/core/config produces exactly these shapes.
 */

export interface TrailingConfig {
  activateAt: number;
  distance: number;
}

export interface VirtualStopConfig {
  distance: number;
  safetyDistance: number;
  cooldownMs: number;
  scalpMaxStop?: number | undefined;
}

export interface AtrStopConfig {
  period: number;
  multiplier: number;
  /** Candle length in milliseconds (parsed from "1d", "15m"...). */
  timeframeMs: number;
  trail: boolean;
}

export interface LadderRung {
  at: number;
  lock: number;
  close?: number | undefined;
}

export interface LadderConfig {
  /** Sorted by `at`. */
  rungs: LadderRung[];
}

export interface ProfitLockConfig {
  lockFraction: number;
  minProfit: number;
}

export interface TimeExitConfig {
  /** Minutes after local midnight, or undefined when no flatAt is set. */
  flatAtMinutes?: number | undefined;
  timezone: string;
  maxHoldMinutes?: number | undefined;
}

export interface ExitsConfig {
  trailing?: TrailingConfig | undefined;
  virtualStop?: VirtualStopConfig | undefined;
  atrStop?: AtrStopConfig | undefined;
  ladder?: LadderConfig | undefined;
  profitLock?: ProfitLockConfig | undefined;
  time?: TimeExitConfig | undefined;
}

interface EntryCommon {
  size: number;
  stopPoints?: number | undefined;
  limitPoints?: number | undefined;
}

export interface SignalRow {
  time: number;
  market: string;
  direction: 'BUY' | 'SELL';
  size: number;
  stopPoints?: number | undefined;
  limitPoints?: number | undefined;
  strategy?: string | undefined;
}

export type EntryConfig =
  | ({ kind: 'none' } & Partial<EntryCommon>)
  | ({ kind: 'signals'; file: string } & EntryCommon)
  | ({ kind: 'ema-cross'; timeframeMs: number; fast: number; slow: number } & EntryCommon)
  | ({ kind: 'breakout'; timeframeMs: number; period: number } & EntryCommon)
  | ({ kind: 'module'; path: string; options?: Record<string, unknown> | undefined } & EntryCommon);

export interface MarketConfig {
  market: string;
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
  maxDrawdown?: number | undefined;
  trailFraction?: number | undefined;
  minPeak: number;
}

export interface StrategyConfig {
  guard?: GuardConfig | undefined;
}

export interface BrokerConfig {
  kind: 'ig' | 'paper';
  environment: 'demo' | 'live';
  restUrl?: string | undefined;
  streamUrl?: string | undefined;
}

export interface Config {
  broker: BrokerConfig;
  stateDir: string;
  journal: string;
  strategies: Record<string, StrategyConfig>;
  markets: Record<string, MarketConfig>;
}
