/**
 * The engine's per-tick step as live sees it (issue 4, target 4): `EngineRunner.processTick` with
 * the simulated broker, 20 open positions across 5 markets, every exit rule on, timed tick by tick
 * with process.hrtime.bigint().
 */
import { SimBroker } from '../src/core/adapters/sim/sim-broker.js';
import { parseConfig } from '../src/core/config/load.js';
import type { Tick } from '../src/core/domain/types.js';
import type { EntryStrategy } from '../src/core/entries/types.js';
import type { Journal } from '../src/core/ports/journal.js';
import { EngineRunner } from '../src/core/services/run-engine.js';
import { xorshift32 } from './generate.js';

export interface EngineStepResult {
  ticks: number;
  markets: number;
  /** Open positions, averaged over the measured ticks (sampled). */
  meanOpenPositions: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  journalRows: number;
}

const MARKETS = [
  'IX.D.DAX.DAILY.IP',
  'IX.D.FTSE.DAILY.IP',
  'IX.D.DOW.DAILY.IP',
  'IX.D.NASDAQ.CASH.IP',
  'IX.D.SPTRD.DAILY.IP',
];
const PER_MARKET = 4;

/**
 * Keeps PER_MARKET positions open in its market: whenever one closes, the next tick opens another
 * (alternating BUY and SELL), so the rules always have 20 positions to manage.
 */
function topUpEntry(): EntryStrategy {
  let buy = true;
  return {
    reason: 'SIGNAL',
    onTick(_tick, _candle, ctx) {
      if (ctx.positions.length >= PER_MARKET) return undefined;
      buy = !buy;
      return [{ kind: 'open', direction: buy ? 'BUY' : 'SELL', size: 1, stopPoints: 40 }];
    },
  };
}

export function runEngineStepBench(options: { ticks: number; warmup: number }): EngineStepResult {
  const market = {
    pointSize: 1,
    decimals: 1,
    lotStep: 0.1,
    minStopDistance: 2,
    strategy: 'bench',
    entry: { kind: 'none', size: 1, stopPoints: 40 },
    exits: {
      trailing: { activateAt: 8, distance: 6 },
      atrStop: { period: 14, multiplier: 3, timeframe: '1m', trail: true },
      ladder: {},
      profitLock: { lockFraction: 0.3, minProfit: 5 },
    },
  };
  const config = parseConfig(
    {
      broker: { kind: 'paper' },
      strategies: { bench: { guard: { maxDrawdown: -1e12 } } },
      markets: Object.fromEntries(MARKETS.map((m) => [m, market])),
    },
    'bench/engine-step',
  );
  const markets = Object.values(config.markets);
  const entries = new Map(markets.map((m) => [m.market, topUpEntry()]));
  let rows = 0;
  const journal: Journal = {
    append(batch) {
      rows += batch.length;
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const runner = new EngineRunner({
    setup: { markets, strategies: config.strategies, entries },
    broker: new SimBroker(markets),
    journal,
  });

  // A seeded random walk per market, round-robin, 20 ms apart.
  const rand = xorshift32(12345);
  const mid = MARKETS.map(() => 10_000);
  const tick: Tick = { time: Date.parse('2024-01-02T08:00:00Z'), market: '', bid: 0, ask: 0 };
  const step = (i: number): void => {
    const k = i % MARKETS.length;
    mid[k] = Math.round((mid[k]! + (rand() - 0.5) * 4) * 10) / 10;
    tick.time += 20;
    tick.market = MARKETS[k]!;
    tick.bid = mid[k]!;
    tick.ask = Math.round((mid[k]! + 1) * 10) / 10;
  };

  for (let i = 0; i < options.warmup; i++) {
    step(i);
    runner.processTick(tick);
  }
  const durations = new Float64Array(options.ticks);
  let openSum = 0;
  let openSamples = 0;
  for (let i = 0; i < options.ticks; i++) {
    step(options.warmup + i);
    const start = process.hrtime.bigint();
    runner.processTick(tick);
    durations[i] = Number(process.hrtime.bigint() - start);
    if ((i & 1023) === 0) {
      openSum += runner.engine.openPositions().length;
      openSamples++;
    }
  }
  let total = 0;
  for (const d of durations) total += d;
  durations.sort();
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]! / 1000;
  return {
    ticks: options.ticks,
    markets: MARKETS.length,
    meanOpenPositions: openSum / Math.max(openSamples, 1),
    meanUs: total / durations.length / 1000,
    p50Us: at(0.5),
    p99Us: at(0.99),
    p999Us: at(0.999),
    maxUs: durations[durations.length - 1]! / 1000,
    journalRows: rows,
  };
}
