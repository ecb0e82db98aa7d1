import type { ExitsConfig, MarketConfig, StrategyConfig } from '../../src/core/domain/config.js';
import type { AlertAction } from '../../src/core/domain/events.js';
import type { JournalRow, Tick } from '../../src/core/domain/types.js';
import type { EntryStrategy } from '../../src/core/entries/types.js';
import { SimBroker } from '../../src/core/adapters/sim/sim-broker.js';
import { EngineRunner } from '../../src/core/services/run-engine.js';
import type { Broker, BrokerAction } from '../../src/core/ports/broker.js';
import type { Journal } from '../../src/core/ports/journal.js';

export const DAX = 'IX.D.DAX.DAILY.IP';
export const EURUSD = 'CS.D.EURUSD.MINI.IP';

/** A market as the config loader would produce it, with SPEC §9 defaults. */
export function market(overrides: Partial<MarketConfig> & { exits?: ExitsConfig } = {}): MarketConfig {
  return {
    market: DAX,
    pointSize: 1,
    decimals: 1,
    valuePerPoint: 1,
    lotStep: 0.1,
    minStopDistance: 0,
    stopStep: 0,
    strategy: 'default',
    entry: { kind: 'none' },
    exits: {},
    ...overrides,
  };
}

export function eurusd(overrides: Partial<MarketConfig> = {}): MarketConfig {
  return market({ market: EURUSD, pointSize: 0.0001, decimals: 5, valuePerPoint: 10, lotStep: 0.01, ...overrides });
}

export class MemoryJournal implements Journal {
  readonly rows: JournalRow[] = [];
  append(rows: readonly JournalRow[]): void {
    this.rows.push(...rows);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An entry that opens exactly the positions a test scripts, at the given tick times. */
export function scriptedEntry(
  script: {
    at: number;
    direction: 'BUY' | 'SELL';
    size?: number | undefined;
    stopPoints?: number | undefined;
    limitPoints?: number | undefined;
    strategy?: string | undefined;
  }[],
): EntryStrategy {
  let next = 0;
  return {
    reason: 'SIGNAL',
    onTick(tick) {
      const out = [];
      while (next < script.length && (script[next]?.at ?? Infinity) <= tick.time) {
        const s = script[next++]!;
        out.push({
          kind: 'open' as const,
          direction: s.direction,
          size: s.size ?? 1,
          stopPoints: s.stopPoints,
          limitPoints: s.limitPoints,
          strategy: s.strategy,
        });
      }
      return out;
    },
  };
}

export interface Harness {
  runner: EngineRunner;
  journal: MemoryJournal;
  actions: BrokerAction[];
  alerts: AlertAction[];
  lifecycles: (string | undefined)[];
  broker: Broker;
  tick(time: number, bid: number, ask?: number, marketName?: string): void;
}

export function harness(options: {
  markets: MarketConfig[];
  entries?: Record<string, EntryStrategy>;
  strategies?: Record<string, StrategyConfig>;
  broker?: Broker;
}): Harness {
  const journal = new MemoryJournal();
  const actions: BrokerAction[] = [];
  const alerts: AlertAction[] = [];
  const lifecycles: (string | undefined)[] = [];
  const broker = options.broker ?? new SimBroker(options.markets);
  const runner = new EngineRunner({
    setup: {
      markets: options.markets,
      strategies: options.strategies ?? {},
      entries: new Map(Object.entries(options.entries ?? {})),
    },
    broker,
    journal,
    onAction: (a) => actions.push(a),
    onAlert: (a) => alerts.push(a),
    onLifecycle: (m) => lifecycles.push(m),
  });
  const defaultMarket = options.markets[0]?.market ?? DAX;
  return {
    runner,
    journal,
    actions,
    alerts,
    lifecycles,
    broker,
    tick(time, bid, ask = bid, marketName = defaultMarket) {
      const t: Tick = { time, market: marketName, bid, ask };
      runner.processTick(t);
    },
  };
}

/** Compact view of journal rows for assertions. */
export function brief(rows: readonly JournalRow[]): string[] {
  return rows.map(
    (r) =>
      `${r.action} ${r.direction} ${r.size}@${r.price} stop=${r.stopLevel ?? ''} ${r.reason}${r.pnlPoints === undefined ? '' : ` pts=${+r.pnlPoints.toFixed(8)}`}`,
  );
}
