/**
 * Client-side pacing for IG's request allowances, and coalescing of stop amends.
 *
 * IG's allowances for live (demo's are lower and "have been known to change randomly and without
 * notice": trading-ig FAQ, https://github.com/ig-python/trading-ig docs/source/faq.rst, which
 * points to https://labs.ig.com/faq for the live numbers):
 *   per account, trading requests (deals)   100 / minute
 *   per account, non-trading requests        30 / minute
 *   per application (API key), non-trading   60 / minute
 * These numbers were checked against a secondary source only (the ig-client crate's rate limiter,
 * https://deepwiki.com/joaquinbejar/ig-client/5.2-rate-limiting-system, "based on IG Markets API
 * documentation"), not IG's page itself. GET /operations/application reports a key's real values
 * (allowanceAccountTrading, allowanceAccountOverall, allowanceApplicationOverall, per minute), so
 * every limit here is an option.
 *
 * Windows slide: a request is allowed when fewer than `max` requests of its buckets were let
 * through in the last `windowMs`. The clock and the sleep are injected so tests run instantly.
 */

export type RequestKind = 'trading' | 'nonTrading';

/**
 * Trading requests go in two lanes: `deal` (opens and closes) and `amend` (stop amends). Amends
 * may fill the trading window only up to `max − tradingReserve`: the rest is kept for the deals
 * that cannot wait (a close in a fast market), which never queue behind an amend.
 */
export type TradingLane = 'deal' | 'amend';

type Lane = TradingLane | 'read';

export interface WindowLimit {
  max: number;
  windowMs: number;
}

/** What `onWait` is told when a lane's requests start waiting (once per episode). */
export interface LimiterWait {
  lane: Lane;
  /** How long the first waiting request waits (at least). */
  waitMs: number;
  /** True when IG said an allowance is used up (pause()), not only the client-side window. */
  paused: boolean;
  /** Requests of the lane's window in its last windowMs, and the most it lets through. */
  used: number;
  max: number;
  windowMs: number;
}

export interface RateLimiterOptions {
  /** Deals (POST/PUT/DELETE of positions) per account. */
  accountTrading?: WindowLimit;
  /** Trading requests of the window amends may not use: kept for opens and closes [20% of max]. */
  tradingReserve?: number;
  /** Reads per account. */
  accountNonTrading?: WindowLimit;
  /** Reads per API key (shared by every account of the key). */
  appNonTrading?: WindowLimit;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const IG_DEFAULT_LIMITS = {
  accountTrading: { max: 100, windowMs: 60_000 },
  accountNonTrading: { max: 30, windowMs: 60_000 },
  appNonTrading: { max: 60, windowMs: 60_000 },
} as const satisfies Record<string, WindowLimit>;

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class SlidingWindow {
  readonly #stamps: number[] = [];
  constructor(readonly limit: WindowLimit) {}

  /** How long until one more request fits under `max` (0 = now). */
  waitMs(now: number, max = this.limit.max): number {
    const { windowMs } = this.limit;
    while (this.#stamps.length > 0 && (this.#stamps[0] ?? 0) <= now - windowMs) this.#stamps.shift();
    if (max <= 0) return windowMs;
    if (this.#stamps.length < max) return 0;
    const oldest = this.#stamps[this.#stamps.length - max] ?? now;
    return Math.max(1, oldest + windowMs - now);
  }

  used(now: number): number {
    this.waitMs(now);
    return this.#stamps.length;
  }

  record(now: number): void {
    this.#stamps.push(now);
  }
}

export class RateLimiter {
  readonly #trading: SlidingWindow;
  readonly #amendMax: number;
  readonly #accountReads: SlidingWindow;
  readonly #appReads: SlidingWindow;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Until when IG said an allowance is used up: trading requests, and all requests. */
  readonly #pausedUntil = { trading: 0, all: 0 };
  /**
   * Requests of a lane are let through one at a time, in arrival order. Lanes queue apart: a read
   * waiting for the read allowance (30 a minute, used up by the confirms of a fast trailing stop)
   * must not hold back a close or an amend behind it, nor may a paced amend hold back a close.
   */
  readonly #queues: Record<Lane, Promise<void>> = {
    deal: Promise.resolve(),
    amend: Promise.resolve(),
    read: Promise.resolve(),
  };
  /** Lanes whose requests wait (an episode: reported once, over when one passes at once). */
  readonly #waiting = new Set<Lane>();
  #onWait: ((wait: LimiterWait) => void) | undefined;

  constructor(options: RateLimiterOptions = {}) {
    const trading = options.accountTrading ?? IG_DEFAULT_LIMITS.accountTrading;
    this.#trading = new SlidingWindow(trading);
    const reserve = options.tradingReserve ?? Math.floor(trading.max / 5);
    this.#amendMax = Math.max(1, trading.max - Math.max(0, reserve));
    this.#accountReads = new SlidingWindow(options.accountNonTrading ?? IG_DEFAULT_LIMITS.accountNonTrading);
    this.#appReads = new SlidingWindow(options.appNonTrading ?? IG_DEFAULT_LIMITS.appNonTrading);
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => this.#cancellableSleep(ms));
  }

  /** Waits cut short by close(). */
  readonly #sleeping = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  #closed = false;

  #cancellableSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => (this.#sleeping.delete(entry), resolve()), ms), resolve };
      this.#sleeping.add(entry);
    });
  }

  /**
   * Nothing more goes through: requests still waiting for a slot fail (live has stopped: an amend
   * taken back left its wait behind, whose timer would keep the process up for up to a minute).
   */
  close(): void {
    this.#closed = true;
    for (const entry of this.#sleeping) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.#sleeping.clear();
  }

  /** Told when a lane's requests start waiting; once per episode (the client logs it). */
  set onWait(listener: ((wait: LimiterWait) => void) | undefined) {
    this.#onWait = listener;
  }

  /** Resolves when a request of this kind may be sent, and counts it. A trading request is a deal unless `lane` says amend. */
  acquire(kind: RequestKind, lane: TradingLane = 'deal'): Promise<void> {
    const key: Lane = kind === 'trading' ? lane : 'read';
    const turn = this.#queues[key].then(() => this.#waitForSlot(key));
    // a failed sleep must not jam the queue for everyone after it
    this.#queues[key] = turn.catch(() => undefined);
    return turn;
  }

  /**
   * After IG said an allowance is used up: let nothing through for `ms` (`trading`: no deal nor
   * amend; reads go on, IG counts them apart).
   */
  pause(ms: number, scope: 'trading' | 'all' = 'all'): void {
    this.#pausedUntil[scope] = Math.max(this.#pausedUntil[scope], this.#now() + ms);
  }

  #pausedMs(lane: Lane, now: number): number {
    const until = lane === 'read' ? this.#pausedUntil.all : Math.max(this.#pausedUntil.all, this.#pausedUntil.trading);
    return until - now;
  }

  #windowWait(lane: Lane, now: number): number {
    if (lane === 'read') return Math.max(this.#accountReads.waitMs(now), this.#appReads.waitMs(now));
    return this.#trading.waitMs(now, lane === 'amend' ? this.#amendMax : undefined);
  }

  async #waitForSlot(lane: Lane): Promise<void> {
    for (let first = true; ; first = false) {
      if (this.#closed) throw new Error('the IG client was closed: the request was not sent');
      const now = this.#now();
      const paused = this.#pausedMs(lane, now);
      const wait = Math.max(paused, this.#windowWait(lane, now));
      if (wait <= 0) {
        if (lane === 'read') {
          this.#accountReads.record(now);
          this.#appReads.record(now);
        } else this.#trading.record(now);
        if (first) this.#waiting.delete(lane);
        return;
      }
      if (!this.#waiting.has(lane)) {
        this.#waiting.add(lane);
        const window = lane === 'read' ? this.#accountReads : this.#trading;
        this.#onWait?.({
          lane,
          waitMs: wait,
          paused: paused > 0,
          used: window.used(now),
          max: lane === 'amend' ? this.#amendMax : window.limit.max,
          windowMs: window.limit.windowMs,
        });
      }
      await this.#sleep(wait);
    }
  }
}

/** What `StopAmendCoalescer.submit` resolves with. */
export type CoalescedOutcome<R> = { status: 'sent'; result: R } | { status: 'superseded' } | { status: 'withdrawn' };

interface Waiting<P, R> {
  payload: P;
  settle: (outcome: Promise<CoalescedOutcome<R>>) => void;
  /** Called the moment the amend leaves the process (it got its trading slot). */
  onSent: (() => void) | undefined;
}

interface DealAmends<P, R> {
  /** The amend not yet sent: waiting for the gate, or behind the one in flight. */
  next: Waiting<P, R> | undefined;
}

/**
 * Stop amends per dealId: at most one on the wire; until an amend is sent (it waits for its
 * trading slot, `gate`, or behind the one on the wire), each new one replaces it (only the latest
 * level is worth sending: an amend sets both levels, and the latest is the tightest the engine
 * wants). A replaced amend resolves `superseded`; one taken back by `withdraw` resolves `withdrawn`.
 */
export class StopAmendCoalescer<P, R> {
  readonly #deals = new Map<string, DealAmends<P, R>>();

  /**
   * @param gate resolves when an amend may go out (the limiter's amend lane); without one an
   *   amend with nothing in flight for its deal is sent at once.
   */
  constructor(
    private readonly send: (dealId: string, payload: P) => Promise<R>,
    private readonly gate?: () => Promise<void>,
  ) {}

  submit(dealId: string, payload: P, onSent?: () => void): Promise<CoalescedOutcome<R>> {
    return new Promise<CoalescedOutcome<R>>((resolve) => {
      const waiting: Waiting<P, R> = { payload, settle: (outcome) => resolve(outcome), onSent };
      const deal = this.#deals.get(dealId);
      if (deal === undefined) {
        const fresh: DealAmends<P, R> = { next: waiting };
        this.#deals.set(dealId, fresh);
        void this.#run(dealId, fresh);
        return;
      }
      deal.next?.settle(Promise.resolve({ status: 'superseded' }));
      deal.next = waiting;
    });
  }

  /**
   * Takes back the deal's amend that has not been sent yet (it resolves `withdrawn`); false when
   * there is none. The one on the wire, if any, goes on.
   */
  withdraw(dealId: string): boolean {
    const deal = this.#deals.get(dealId);
    const waiting = deal?.next;
    if (deal === undefined || waiting === undefined) return false;
    deal.next = undefined;
    waiting.settle(Promise.resolve({ status: 'withdrawn' }));
    return true;
  }

  /** Number of deals with an amend waiting or in flight (for drain()). */
  get inFlight(): number {
    return this.#deals.size;
  }

  async #run(dealId: string, deal: DealAmends<P, R>): Promise<void> {
    try {
      for (;;) {
        if (this.gate !== undefined) {
          try {
            await this.gate();
          } catch (err) {
            deal.next?.settle(Promise.reject(err));
            deal.next = undefined;
          }
        }
        const waiting = deal.next;
        // withdrawn while it waited: the slot goes unused
        if (waiting === undefined) return;
        deal.next = undefined;
        waiting.onSent?.();
        const sent = this.send(dealId, waiting.payload).then((result) => ({ status: 'sent' as const, result }));
        waiting.settle(sent);
        await sent.catch(() => undefined);
        if (deal.next === undefined) return;
      }
    } finally {
      this.#deals.delete(dealId);
    }
  }
}
