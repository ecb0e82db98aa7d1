import { BrokerRejected, UserError } from '../domain/errors.js';
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
import { findCloses } from '../adapters/ig/history.js';
import type { IgBroker } from '../adapters/ig/ig-broker.js';
import type { Engine } from '../engine/engine.js';
import type { Clock } from '../ports/clock.js';
import type { StateStore } from '../ports/state-store.js';
import { stateDirTag } from '../adapters/files/state-store.js';
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
  // The client logs each login (this one, and any after an expired session) with its account.
  const session = await rest.login();
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
    let rules: Awaited<ReturnType<IgRestClient['getMarket']>>;
    try {
      rules = await rest.getMarket(m.market);
    } catch (error) {
      // IG: 404 error.service.marketdata.instrument.epic.unavailable: a mistyped epic is the
      // configuration's mistake (exit 2), not a failure at run time.
      if (error instanceof BrokerRejected && /epic|instrument/i.test(`${error.code ?? ''} ${error.message}`))
        throw new UserError(
          `market ${m.market}: IG does not know this epic (${error.code ?? error.message})`,
          'check the market ids under markets: in the configuration (IG epics, e.g. IX.D.DAX.DAILY.IP)',
        );
      throw error;
    }
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
 * How trailguard opened a deal, from the mark in its reference (ownOpenReference); undefined for a
 * deal it did not open, or that another state directory's trailguard opened (its tag differs). The
 * strategy is the one of `config` whose tag the mark bears (undefined when none does: renamed since).
 */
function ownOpenOf(
  dealReference: string | undefined,
  config: Pick<Config, 'markets' | 'strategies' | 'stateDir'>,
): BrokerPosition['own'] {
  const mark = parseOwnOpenReference(dealReference);
  if (mark === undefined) return undefined;
  if (mark.dirTag !== undefined && mark.dirTag !== stateDirTag(config.stateDir)) return undefined;
  const names = [...Object.values(config.markets).map((m) => m.strategy), ...Object.keys(config.strategies)];
  return {
    strategy: names.find((name) => strategyTag(name) === mark.strategyTag),
    virtual: mark.virtual,
    stopReason: mark.atrStop ? 'ATR_STOP' : 'STOP',
  };
}

/** IG's position in the reconciliation's words (`own`: see ownOpenOf). */
export function brokerPositionFromIg(
  p: IgOpenPosition,
  config: Pick<Config, 'markets' | 'strategies' | 'stateDir'>,
): BrokerPosition {
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
    own: ownOpenOf(p.dealReference, config),
  };
}

/**
 * The opens trailguard made since its state was last saved that IG no longer holds, from IG's
 * activity history, as they were opened: a run that stopped before reading an open's confirmation
 * saved nothing after sending it (StrategiesState.savedAt), and IG may have closed the position
 * since. Reconcile writes the rows the journal lacks. The history is read as far as the rest
 * client pages it (10,000 activities, amends included: days of a busy account).
 */
export async function ownOpensGoneSinceSave(
  rest: IgRestClient,
  config: Pick<Config, 'markets' | 'strategies' | 'stateDir'>,
  store: StateStore,
  clock: Clock,
  open: readonly BrokerPosition[],
): Promise<BrokerPosition[]> {
  const savedAt = store.readStrategies()?.savedAt;
  // Written by a version that marked no opens, or never: nothing of ours can be missing.
  if (savedAt === undefined) return [];
  const held = new Set(open.map((p) => p.dealId));
  const activities = await rest.getActivity({ from: savedAt - CLOCK_SKEW_MS, to: clock.now() + CLOCK_SKEW_MS });
  const out: BrokerPosition[] = [];
  for (const a of activities) {
    const opened = a.actions.find((x) => x.actionType === 'POSITION_OPENED');
    const own = ownOpenOf(a.dealReference, config);
    const dealId = opened?.affectedDealId ?? a.dealId;
    if (a.status !== 'ACCEPTED' || opened === undefined || own === undefined || dealId === undefined) continue;
    if (held.has(dealId) || a.market === undefined || a.direction === undefined) continue;
    if (a.size === undefined || a.level === undefined) continue;
    out.push({
      dealId,
      market: a.market,
      direction: a.direction,
      size: a.size,
      level: a.level,
      stopLevel: a.stopLevel,
      limitLevel: a.limitLevel,
      openedAt: a.time,
      own,
    });
  }
  return out;
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
export function igCloseFinder(rest: IgRestClient, clock: Clock): ReconcileDeps['findCloses'] {
  return (dealId, since, openLevel) =>
    findCloses(rest, {
      dealId,
      since,
      until: clock.now() + CLOCK_SKEW_MS,
      position: { openLevel, openedAt: since },
    });
}
