import type { Config, MarketConfig } from '../domain/config.js';
import { loadCredentials } from '../adapters/ig/credentials.js';
import {
  minStopDistanceInPoints,
  parseOwnOpenReference,
  strategyTag,
  type IgOpenPosition,
} from '../adapters/ig/mapper.js';
import type { RateLimiter } from '../adapters/ig/limiter.js';
import { IgRestClient, type IgLog, type IgSession } from '../adapters/ig/rest-client.js';
import { findClose } from '../adapters/ig/history.js';
import type { IgBroker } from '../adapters/ig/ig-broker.js';
import type { Engine } from '../engine/engine.js';
import type { Clock } from '../ports/clock.js';
import { CLOCK_SKEW_MS, type BrokerPosition, type ReconcileDeps } from './reconcile.js';

export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface IgConnection {
  rest: IgRestClient;
  session: IgSession;
}

/** Logs in to IG with the credentials from the environment or the settings store. */
export async function connectIg(
  config: Config,
  options: {
    env?: Readonly<Record<string, string | undefined>> | undefined;
    log: Log;
    /** IG's request allowances; tests against the fake lift them. */
    limiter?: RateLimiter | undefined;
  },
): Promise<IgConnection> {
  const credentials = loadCredentials({ env: options.env ?? process.env });
  const rest = new IgRestClient({
    credentials,
    environment: config.broker.environment,
    restUrl: config.broker.restUrl,
    log: options.log as IgLog,
    ...(options.limiter !== undefined ? { limiter: options.limiter } : {}),
  });
  const session = await rest.login();
  options.log('info', `logged in to IG ${config.broker.environment} as account ${session.accountId}`);
  return { rest, session };
}

/**
 * SPEC §3.2: the broker's dealing rules win. Each market takes the larger minimum stop distance
 * and the fewer price decimals of broker and configuration, and says so when they differ.
 */
export async function applyDealingRules(
  rest: IgRestClient,
  markets: readonly MarketConfig[],
  log: Log,
): Promise<MarketConfig[]> {
  const out: MarketConfig[] = [];
  for (const m of markets) {
    const rules = await rest.getMarket(m.market);
    const brokerMin = minStopDistanceInPoints(rules, m.pointSize);
    let { minStopDistance, decimals } = m;
    if (brokerMin !== undefined && brokerMin > minStopDistance) {
      log(
        'warn',
        `${m.market}: IG's minimum stop distance is ${brokerMin} points, stricter than the configured ${minStopDistance}: using ${brokerMin}`,
      );
      minStopDistance = brokerMin;
    }
    if (rules.decimals < decimals) {
      log(
        'warn',
        `${m.market}: IG quotes ${rules.decimals} decimals, the configuration says ${decimals}: using ${rules.decimals}`,
      );
      decimals = rules.decimals;
    }
    out.push({ ...m, minStopDistance, decimals });
  }
  return out;
}

/**
 * IG's position in the reconciliation's words. A position trailguard opened itself carries its
 * mark in the deal reference (ownOpenReference): `own` says how it was opened, its strategy the
 * one of `config` whose tag it bears (undefined when none does: renamed since).
 */
export function brokerPositionFromIg(
  p: IgOpenPosition,
  config: Pick<Config, 'markets' | 'strategies'>,
): BrokerPosition {
  const mark = parseOwnOpenReference(p.dealReference);
  let own: BrokerPosition['own'];
  if (mark !== undefined) {
    const names = [...Object.values(config.markets).map((m) => m.strategy), ...Object.keys(config.strategies)];
    own = {
      strategy: names.find((name) => strategyTag(name) === mark.strategyTag),
      virtual: mark.virtual,
      stopReason: mark.atrStop ? 'ATR_STOP' : 'STOP',
    };
  }
  return {
    dealId: p.dealId,
    market: p.market,
    direction: p.direction,
    size: p.size,
    level: p.level,
    stopLevel: p.stopLevel,
    limitLevel: p.limitLevel,
    openedAt: p.openedAt,
    bid: p.bid,
    ask: p.ask,
    own,
  };
}

/** Hands the positions the engine manages after reconciliation to the IG broker to follow. */
export function trackManagedPositions(broker: IgBroker, engine: Engine): void {
  for (const v of engine.openPositions()) {
    const p = v.position;
    broker.track({
      dealId: p.dealId,
      epic: p.market,
      direction: p.direction,
      size: p.size,
      stopLevel: p.stopLevel,
      limitLevel: p.limitLevel,
      level: p.entryPrice,
      openedAt: p.entryTime,
    });
  }
}

/** Reconciliation's history look-up on IG: activity first, then transactions (matched by opening level and time). */
export function igCloseFinder(rest: IgRestClient, clock: Clock): ReconcileDeps['findClose'] {
  return (dealId, since, openLevel) =>
    findClose(rest, {
      dealId,
      since,
      until: clock.now() + CLOCK_SKEW_MS,
      position: { openLevel, openedAt: since },
    });
}
