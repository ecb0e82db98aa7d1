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
 * The Lightstreamer client recovers dropped connections and re-subscribes by itself, but not
 * always: a server refusal (onServerError: bad tokens, session closed by the server) stops it, and
 * so does a LOOP whose rebind finds the server gone (it then ends in plain DISCONNECTED, no error).
 * Whenever it has stopped and this wrapper has not, the wrapper connects it again, logging in
 * again first when the tokens were refused (`relogin`), after a pause that doubles up to
 * `reconnectMaxDelayMs`, for as long as it runs: a live run must never stay blind. A refused
 * subscription is asked for again the same way (the client never asks twice). Only a re-login that
 * IG refuses for good (credentials, API key: a UserError) ends it, through `onFatal`.
 */
import { LightstreamerClient, Subscription, type ItemUpdate } from 'lightstreamer-client-node';
import { BrokerUnavailable, UserError } from '../../domain/errors.js';
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
  /**
   * A market without a tick for this long is reported (`onStale`), whether the stream is connected
   * or not [30 s]; again each time its silence doubles, at least every `staleRepeatMaxMs`.
   */
  staleAfterMs?: number;
  /** The longest pause between two reports of the same silence [30 min]. */
  staleRepeatMaxMs?: number;
  /** How often the stale check runs by itself [1 s]; 0 = only when `checkStale()` is called. */
  staleCheckIntervalMs?: number;
  /** First pause before connecting again (or subscribing again); doubles each time [1 s]. */
  reconnectDelayMs?: number;
  /** The longest such pause [30 s]. */
  reconnectMaxDelayMs?: number;
  clock?: Clock;
  onTick?: (tick: Tick) => void;
  onTradeEvent?: (event: IgTradeEvent) => void;
  onStatus?: (status: StreamStatus) => void;
  /** The TRADE subscription (confirms and position updates) is live (true) or not (false). */
  onTradeSubscription?: (live: boolean) => void;
  /** Markets without a tick for `staleAfterMs` or more, those whose report is due, together. */
  onStale?: (stale: StaleMarket[]) => void;
  /** A market reported stale has a tick again, after `silentMs` without one. */
  onPricesBack?: (epic: string, silentMs: number) => void;
  /** The wrapper connects the stopped client again in `delayMs` (`attempt` since the last connection). */
  onReconnect?: (attempt: number, delayMs: number) => void;
  /** Bad payloads, subscription refusals, reconnection failures. */
  onError?: (error: Error) => void;
  /**
   * The stream cannot come back: IG refused the re-login for good (a UserError: credentials, API
   * key). The wrapper has stopped; nothing more is tried.
   */
  onFatal?: (error: UserError) => void;
}

export interface StaleMarket {
  epic: string;
  /** Time since its last tick (or since it was subscribed, before any). */
  ageMs: number;
}

interface MarketFeed {
  subscription: Subscription;
  bid: number | undefined;
  ask: number | undefined;
  /** Local receive time of the last tick (clock), for staleness. */
  lastTickAt: number | undefined;
  /** When the stream started to wait for its ticks (subscribed, or connected). */
  watchedFrom: number;
  /** The silence at which it is reported next (staleAfterMs until its first report). */
  nextReportAgeMs: number;
  resubscribe: Retry;
}

/** A pending retry (reconnection or subscription) and how many came before it. */
interface Retry {
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
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
  readonly #tradeRetry: Retry = { attempts: 0, timer: undefined };
  readonly #reconnectRetry: Retry = { attempts: 0, timer: undefined };
  #status: StreamStatus = 'DISCONNECTED';
  #stopped = true;
  /** The server refused the tokens since the last connection: log in again before connecting. */
  #tokensRefused = false;
  #staleTimer: ReturnType<typeof setInterval> | undefined;

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
    const tradeItem = `TRADE:${options.accountId}`;
    this.#trade = new Subscription('DISTINCT', [tradeItem], TRADE_FIELDS);
    this.#trade.setRequestedSnapshot('no');
    this.#trade.addListener({
      onItemUpdate: (update: ItemUpdate) => this.#onTradeUpdate(update),
      onSubscription: () => {
        this.#tradeRetry.attempts = 0;
        this.#options.onTradeSubscription?.(true);
      },
      onUnsubscription: () => this.#options.onTradeSubscription?.(false),
      onSubscriptionError: (code: number, message: string) => {
        this.#options.onTradeSubscription?.(false);
        this.#refused(tradeItem, code, message, this.#tradeRetry, this.#trade, () => true);
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
    const now = this.#clock.now();
    for (const feed of this.#markets.values()) feed.watchedFrom = Math.max(feed.watchedFrom, now);
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
    this.#staleTimer = undefined;
    for (const retry of [
      this.#reconnectRetry,
      this.#tradeRetry,
      ...[...this.#markets.values()].map((f) => f.resubscribe),
    ])
      cancel(retry);
    this.#client.disconnect();
  }

  subscribeMarket(epic: string): void {
    if (this.#markets.has(epic)) return;
    const item = chartItem(epic);
    const subscription = new Subscription('DISTINCT', [item], CHART_FIELDS);
    // no snapshot: a replayed old tick would move the engine's clock backwards
    subscription.setRequestedSnapshot('no');
    const feed: MarketFeed = {
      subscription,
      bid: undefined,
      ask: undefined,
      lastTickAt: undefined,
      watchedFrom: this.#clock.now(),
      nextReportAgeMs: this.#staleAfterMs,
      resubscribe: { attempts: 0, timer: undefined },
    };
    subscription.addListener({
      onItemUpdate: (update: ItemUpdate) => this.#onChartUpdate(epic, feed, update),
      onSubscription: () => (feed.resubscribe.attempts = 0),
      onSubscriptionError: (code: number, message: string) =>
        this.#refused(item, code, message, feed.resubscribe, subscription, () => this.#markets.get(epic) === feed),
    });
    this.#markets.set(epic, feed);
    this.#subscribeOnce(subscription);
  }

  unsubscribeMarket(epic: string): void {
    const feed = this.#markets.get(epic);
    if (!feed) return;
    this.#markets.delete(epic);
    cancel(feed.resubscribe);
    if (feed.subscription.isActive()) this.#client.unsubscribe(feed.subscription);
  }

  /**
   * Reports the markets without a tick for `staleAfterMs`, connected or not (a stream that is down
   * is the silence that matters most): first at `staleAfterMs`, then each time the silence has
   * doubled, at least every `staleRepeatMaxMs`; markets due at the same check are reported
   * together. Runs on its own timer; tests call it with a fake clock.
   */
  checkStale(): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    const repeatMax = this.#options.staleRepeatMaxMs ?? 30 * 60_000;
    const due: StaleMarket[] = [];
    for (const [epic, feed] of this.#markets) {
      const ageMs = now - (feed.lastTickAt ?? feed.watchedFrom);
      if (ageMs < feed.nextReportAgeMs) continue;
      due.push({ epic, ageMs });
      while (feed.nextReportAgeMs <= ageMs) feed.nextReportAgeMs += Math.min(feed.nextReportAgeMs, repeatMax);
    }
    if (due.length > 0) this.#options.onStale?.(due);
  }

  get #staleAfterMs(): number {
    return this.#options.staleAfterMs ?? 30_000;
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
      this.#reconnectRetry.attempts = 0;
      this.#tokensRefused = false;
    }
    this.#options.onStatus?.(status);
    // Plain DISCONNECTED (not WILL-RETRY, not TRYING-RECOVERY): the client has given up by itself.
    if (status === 'DISCONNECTED' && !this.#stopped) this.#scheduleReconnect();
  }

  #onServerError(code: number, message: string): void {
    // 1: user/password check failed; <= 0: IG's metadata adapter refused the user (tokens)
    if (code === 1 || code <= 0) this.#tokensRefused = true;
    this.#error(new BrokerUnavailable(`IG stream closed by the server (${code}: ${message})`, `ls.${code}`));
    // the client reports DISCONNECTED first, which scheduled the reconnection; in case it did not:
    if (!this.#stopped) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    this.#retryLater(
      this.#reconnectRetry,
      (attempt, delay) => this.#options.onReconnect?.(attempt, delay),
      () => {
        void this.#reconnect();
      },
    );
  }

  async #reconnect(): Promise<void> {
    if (this.#stopped) return;
    if (this.#tokensRefused && this.#options.relogin) {
      try {
        this.#setTokens(await this.#options.relogin());
      } catch (err) {
        if (err instanceof UserError) {
          // IG refused the credentials themselves: no number of attempts will change that
          this.disconnect();
          if (this.#options.onFatal) this.#options.onFatal(err);
          else this.#error(err);
          return;
        }
        this.#error(err);
        // a failed login (IG down, allowance used up): try the old tokens meanwhile, and the
        // server's refusal brings the next login, after a longer pause
      }
    }
    if (!this.#stopped) this.#client.connect();
  }

  /** A subscription the server refused: asked for again after a pause, while still wanted. */
  #refused(
    item: string,
    code: number,
    message: string,
    retry: Retry,
    subscription: Subscription,
    wanted: () => boolean,
  ): void {
    this.#error(new BrokerUnavailable(`IG stream refused ${item} (${code}: ${message})`, `ls.${code}`));
    if (this.#stopped) return;
    this.#retryLater(retry, undefined, () => {
      if (this.#stopped || !wanted()) return;
      // Lightstreamer: a refused subscription is tried again by unsubscribing and subscribing it.
      if (subscription.isActive()) this.#client.unsubscribe(subscription);
      this.#client.subscribe(subscription);
    });
  }

  /** Runs `action` after the retry's pause (doubling, capped), unless one is pending already. */
  #retryLater(
    retry: Retry,
    announce: ((attempt: number, delayMs: number) => void) | undefined,
    action: () => void,
  ): void {
    if (this.#stopped || retry.timer !== undefined) return;
    const first = this.#options.reconnectDelayMs ?? 1000;
    const max = this.#options.reconnectMaxDelayMs ?? 30_000;
    const delay = Math.min(max, first * 2 ** Math.min(retry.attempts, 30));
    retry.attempts += 1;
    announce?.(retry.attempts, delay);
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      action();
    }, delay);
    retry.timer.unref?.();
  }

  #onChartUpdate(epic: string, feed: MarketFeed, update: ItemUpdate): void {
    feed.bid = toNumber(update.getValue('BID')) ?? feed.bid;
    feed.ask = toNumber(update.getValue('OFR')) ?? feed.ask;
    const utm = toNumber(update.getValue('UTM'));
    const silentMs = this.#clock.now() - (feed.lastTickAt ?? feed.watchedFrom);
    feed.lastTickAt = this.#clock.now();
    if (feed.nextReportAgeMs > this.#staleAfterMs) this.#options.onPricesBack?.(epic, silentMs);
    feed.nextReportAgeMs = this.#staleAfterMs;
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

function cancel(retry: Retry): void {
  if (retry.timer !== undefined) clearTimeout(retry.timer);
  retry.timer = undefined;
}
