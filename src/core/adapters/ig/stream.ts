/**
 * IG's Lightstreamer stream: prices (CHART:{epic}:TICK) and account trade events (TRADE:{accountId}).
 *
 * IG facts (https://labs.ig.com/streaming-api-guide, https://labs.ig.com/streaming-api-reference):
 * - server: `lightstreamerEndpoint` from POST /session; user: the account id; password:
 *   `CST-{cst}|XST-{xst}`; IG's own samples connect with the default adapter set (ig-python's
 *   trading-ig passes an empty one, which the server reads as DEFAULT);
 * - CHART:{epic}:TICK is a DISTINCT subscription, fields BID, OFR, LTP, LTV, TTV, UTM... (UTM =
 *   epoch ms of the tick; trading-ig streamer/ticker.py subscribes exactly this way);
 * - TRADE:{accountId} is DISTINCT with fields CONFIRMS, OPU, WOU, each a JSON string;
 * - at most 40 subscriptions per connection, and one connection per app (IG's terms).
 *
 * The Lightstreamer client recovers dropped connections and re-subscribes by itself; only a
 * server refusal (onServerError: bad tokens, session closed by the server) stops it, and then
 * this wrapper logs in again when it may (`relogin`) and reconnects, a bounded number of times.
 */
import { LightstreamerClient, Subscription, type ItemUpdate } from 'lightstreamer-client-node';
import { BrokerUnavailable } from '../../domain/errors.js';
import type { Tick } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import { confirmFromIg, positionUpdateFromOpu, type DealConfirmation, type PositionUpdate } from './mapper.js';
import { opuSchema, parseIgJson, streamConfirmSchema } from './schemas.js';

export interface StreamTokens {
  cst: string;
  securityToken: string;
}

export type IgTradeEvent =
  { kind: 'confirm'; confirm: DealConfirmation } | { kind: 'position'; update: PositionUpdate };

/** Lightstreamer's status strings: CONNECTING, CONNECTED:WS-STREAMING, STALLED, DISCONNECTED:WILL-RETRY... */
export type StreamStatus = string;

export interface IgStreamOptions {
  /** `lightstreamerEndpoint` from /session, or the configuration's `streamUrl`. */
  endpoint: string;
  accountId: string;
  tokens: StreamTokens;
  /** Logs in again and returns fresh tokens; called when the server refuses the tokens. */
  relogin?: () => Promise<StreamTokens>;
  /** IG's adapter set [DEFAULT]. */
  adapterSet?: string;
  /** e.g. 'WS-STREAMING' to skip Lightstreamer's transport sensing. */
  forcedTransport?: string;
  /** A market whose last tick is older than this, while connected, is reported stale [30 s]. */
  staleAfterMs?: number;
  /** How often the stale check runs by itself [1 s]; 0 = only when `checkStale()` is called. */
  staleCheckIntervalMs?: number;
  /** Reconnections after server refusals before giving up [5]. */
  maxReconnects?: number;
  /** First pause before such a reconnection; doubles each time [1 s]. */
  reconnectDelayMs?: number;
  clock?: Clock;
  onTick?: (tick: Tick) => void;
  onTradeEvent?: (event: IgTradeEvent) => void;
  onStatus?: (status: StreamStatus) => void;
  /** The TRADE subscription (confirms and position updates) is live (true) or not (false). */
  onTradeSubscription?: (live: boolean) => void;
  onStale?: (epic: string, ageMs: number) => void;
  /** Bad payloads, subscription refusals, reconnection failures. */
  onError?: (error: Error) => void;
}

interface MarketFeed {
  subscription: Subscription;
  bid: number | undefined;
  ask: number | undefined;
  /** Local receive time of the last tick (clock), for staleness. */
  lastTickAt: number | undefined;
  staleReported: boolean;
}

const CHART_FIELDS = ['BID', 'OFR', 'UTM'];
const TRADE_FIELDS = ['CONFIRMS', 'OPU', 'WOU'];

function toNumber(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function chartItem(epic: string): string {
  return `CHART:${epic}:TICK`;
}

export function epicOfChartItem(item: string): string | undefined {
  const m = /^CHART:(.+):TICK$/.exec(item);
  return m?.[1];
}

export class IgStream {
  readonly #options: IgStreamOptions;
  readonly #clock: Clock;
  readonly #client: LightstreamerClient;
  readonly #markets = new Map<string, MarketFeed>();
  readonly #trade: Subscription;
  #status: StreamStatus = 'DISCONNECTED';
  #connectedAt: number | undefined;
  #stopped = true;
  #reconnects = 0;
  #staleTimer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: IgStreamOptions) {
    this.#options = options;
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#client = new LightstreamerClient(options.endpoint, options.adapterSet ?? 'DEFAULT');
    this.#client.connectionDetails.setUser(options.accountId);
    this.#setTokens(options.tokens);
    if (options.forcedTransport !== undefined)
      this.#client.connectionOptions.setForcedTransport(options.forcedTransport);
    this.#client.addListener({
      onStatusChange: (status: string) => this.#onStatus(status),
      onServerError: (code: number, message: string) => this.#onServerError(code, message),
    });
    this.#trade = new Subscription('DISTINCT', [`TRADE:${options.accountId}`], TRADE_FIELDS);
    this.#trade.setRequestedSnapshot('no');
    this.#trade.addListener({
      onItemUpdate: (update: ItemUpdate) => this.#onTradeUpdate(update),
      onSubscription: () => this.#options.onTradeSubscription?.(true),
      onUnsubscription: () => this.#options.onTradeSubscription?.(false),
      onSubscriptionError: (code: number, message: string) => {
        this.#options.onTradeSubscription?.(false);
        this.#error(
          new BrokerUnavailable(`IG stream refused TRADE:${options.accountId} (${code}: ${message})`, `ls.${code}`),
        );
      },
    });
  }

  get status(): StreamStatus {
    return this.#status;
  }

  get connected(): boolean {
    return this.#status.startsWith('CONNECTED:') && this.#status !== 'CONNECTED:STREAM-SENSING';
  }

  /** Markets subscribed. */
  get markets(): string[] {
    return [...this.#markets.keys()];
  }

  connect(): void {
    this.#stopped = false;
    this.#subscribeOnce(this.#trade);
    const every = this.#options.staleCheckIntervalMs ?? 1000;
    if (every > 0 && this.#staleTimer === undefined) {
      this.#staleTimer = setInterval(() => this.checkStale(), every);
      this.#staleTimer.unref?.();
    }
    this.#client.connect();
  }

  disconnect(): void {
    this.#stopped = true;
    if (this.#staleTimer !== undefined) clearInterval(this.#staleTimer);
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#staleTimer = undefined;
    this.#reconnectTimer = undefined;
    this.#client.disconnect();
  }

  subscribeMarket(epic: string): void {
    if (this.#markets.has(epic)) return;
    const subscription = new Subscription('DISTINCT', [chartItem(epic)], CHART_FIELDS);
    // no snapshot: a replayed old tick would move the engine's clock backwards
    subscription.setRequestedSnapshot('no');
    const feed: MarketFeed = {
      subscription,
      bid: undefined,
      ask: undefined,
      lastTickAt: undefined,
      staleReported: false,
    };
    subscription.addListener({
      onItemUpdate: (update: ItemUpdate) => this.#onChartUpdate(epic, feed, update),
      onSubscriptionError: (code: number, message: string) =>
        this.#error(new BrokerUnavailable(`IG stream refused ${chartItem(epic)} (${code}: ${message})`, `ls.${code}`)),
    });
    this.#markets.set(epic, feed);
    this.#subscribeOnce(subscription);
  }

  unsubscribeMarket(epic: string): void {
    const feed = this.#markets.get(epic);
    if (!feed) return;
    this.#markets.delete(epic);
    if (feed.subscription.isActive()) this.#client.unsubscribe(feed.subscription);
  }

  /**
   * Reports markets without a tick for `staleAfterMs` while connected, once per silence. Runs on
   * its own timer; tests call it with a fake clock.
   */
  checkStale(): void {
    if (!this.connected || this.#connectedAt === undefined) return;
    const now = this.#clock.now();
    const limit = this.#options.staleAfterMs ?? 30_000;
    for (const [epic, feed] of this.#markets) {
      const since = Math.max(feed.lastTickAt ?? this.#connectedAt, this.#connectedAt);
      const age = now - since;
      if (age >= limit && !feed.staleReported) {
        feed.staleReported = true;
        this.#options.onStale?.(epic, age);
      }
    }
  }

  #subscribeOnce(subscription: Subscription): void {
    if (!subscription.isActive()) this.#client.subscribe(subscription);
  }

  #setTokens(tokens: StreamTokens): void {
    this.#client.connectionDetails.setPassword(`CST-${tokens.cst}|XST-${tokens.securityToken}`);
  }

  #onStatus(status: string): void {
    const was = this.connected;
    this.#status = status;
    if (this.connected && !was) {
      this.#connectedAt = this.#clock.now();
      this.#reconnects = 0;
      for (const feed of this.#markets.values()) feed.staleReported = false;
    }
    this.#options.onStatus?.(status);
  }

  #onServerError(code: number, message: string): void {
    // 1: user/password check failed; <= 0: IG's metadata adapter refused the user (tokens)
    const authRefused = code === 1 || code <= 0;
    this.#error(new BrokerUnavailable(`IG stream closed by the server (${code}: ${message})`, `ls.${code}`));
    if (this.#stopped) return;
    const max = this.#options.maxReconnects ?? 5;
    if (this.#reconnects >= max) {
      this.#error(new BrokerUnavailable(`IG stream: giving up after ${max} reconnections`, 'ls.gave-up'));
      return;
    }
    const delay = (this.#options.reconnectDelayMs ?? 1000) * 2 ** this.#reconnects;
    this.#reconnects += 1;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#reconnect(authRefused);
    }, delay);
    this.#reconnectTimer.unref?.();
  }

  async #reconnect(withNewTokens: boolean): Promise<void> {
    if (this.#stopped) return;
    if (withNewTokens && this.#options.relogin) {
      try {
        this.#setTokens(await this.#options.relogin());
      } catch (err) {
        this.#error(err instanceof Error ? err : new BrokerUnavailable(String(err)));
        // the next server refusal (or none) decides; try the old tokens meanwhile
      }
    }
    if (!this.#stopped) this.#client.connect();
  }

  #onChartUpdate(epic: string, feed: MarketFeed, update: ItemUpdate): void {
    feed.bid = toNumber(update.getValue('BID')) ?? feed.bid;
    feed.ask = toNumber(update.getValue('OFR')) ?? feed.ask;
    const utm = toNumber(update.getValue('UTM'));
    feed.lastTickAt = this.#clock.now();
    feed.staleReported = false;
    if (feed.bid === undefined || feed.ask === undefined) return;
    // UTM is IG's tick time (epoch ms); an update without one is stamped on arrival
    const tick: Tick = { time: utm ?? feed.lastTickAt, market: epic, bid: feed.bid, ask: feed.ask };
    this.#options.onTick?.(tick);
  }

  #onTradeUpdate(update: ItemUpdate): void {
    // Lightstreamer hands back the previous value of a field this update did not carry: only
    // fields that changed in this update are news.
    const fresh = (field: string): string | undefined => {
      const value = update.getValue(field);
      return value && update.isValueChanged(field) ? value : undefined;
    };
    const confirms = fresh('CONFIRMS');
    const opu = fresh('OPU');
    try {
      if (confirms) {
        const confirm = confirmFromIg(parseIgJson(streamConfirmSchema, confirms, 'TRADE stream CONFIRMS'));
        this.#options.onTradeEvent?.({ kind: 'confirm', confirm });
      }
    } catch (err) {
      this.#error(err);
    }
    try {
      if (opu) {
        const positionUpdate = positionUpdateFromOpu(parseIgJson(opuSchema, opu, 'TRADE stream OPU'));
        this.#options.onTradeEvent?.({ kind: 'position', update: positionUpdate });
      }
    } catch (err) {
      this.#error(err);
    }
  }

  #error(err: unknown): void {
    const error = err instanceof Error ? err : new BrokerUnavailable(String(err));
    if (this.#options.onError) this.#options.onError(error);
  }
}
