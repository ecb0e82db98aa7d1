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

export interface WindowLimit {
  max: number;
  windowMs: number;
}

export interface RateLimiterOptions {
  /** Deals (POST/PUT/DELETE of positions) per account. */
  accountTrading?: WindowLimit;
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

  /** How long until one more request fits (0 = now). */
  waitMs(now: number): number {
    const { max, windowMs } = this.limit;
    while (this.#stamps.length > 0 && (this.#stamps[0] ?? 0) <= now - windowMs) this.#stamps.shift();
    if (this.#stamps.length < max) return 0;
    const oldest = this.#stamps[this.#stamps.length - max] ?? now;
    return Math.max(1, oldest + windowMs - now);
  }

  record(now: number): void {
    this.#stamps.push(now);
  }
}

export class RateLimiter {
  readonly #trading: SlidingWindow;
  readonly #accountReads: SlidingWindow;
  readonly #appReads: SlidingWindow;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #pausedUntil = 0;
  /**
   * Requests of a kind are let through one at a time, in arrival order. Deals and reads queue
   * apart: a read waiting for the read allowance (30 a minute, used up by the confirms of a fast
   * trailing stop) must not hold back a close or an amend behind it.
   */
  readonly #queues: Record<RequestKind, Promise<void>> = {
    trading: Promise.resolve(),
    nonTrading: Promise.resolve(),
  };

  constructor(options: RateLimiterOptions = {}) {
    this.#trading = new SlidingWindow(options.accountTrading ?? IG_DEFAULT_LIMITS.accountTrading);
    this.#accountReads = new SlidingWindow(options.accountNonTrading ?? IG_DEFAULT_LIMITS.accountNonTrading);
    this.#appReads = new SlidingWindow(options.appNonTrading ?? IG_DEFAULT_LIMITS.appNonTrading);
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
  }

  /** Resolves when a request of this kind may be sent, and counts it. */
  acquire(kind: RequestKind): Promise<void> {
    const turn = this.#queues[kind].then(() => this.#waitForSlot(kind));
    // a failed sleep must not jam the queue for everyone after it
    this.#queues[kind] = turn.catch(() => undefined);
    return turn;
  }

  /** After IG said an allowance is used up: let nothing through for `ms`. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + ms);
  }

  #windows(kind: RequestKind): SlidingWindow[] {
    return kind === 'trading' ? [this.#trading] : [this.#accountReads, this.#appReads];
  }

  async #waitForSlot(kind: RequestKind): Promise<void> {
    const windows = this.#windows(kind);
    for (;;) {
      const now = this.#now();
      const wait = Math.max(this.#pausedUntil - now, ...windows.map((w) => w.waitMs(now)));
      if (wait <= 0) {
        for (const w of windows) w.record(now);
        return;
      }
      await this.#sleep(wait);
    }
  }
}

/** What `StopAmendCoalescer.submit` resolves with. */
export type CoalescedOutcome<R> = { status: 'sent'; result: R } | { status: 'superseded' };

/**
 * Stop amends per dealId: at most one in flight; while it is, later amends wait, and each new one
 * replaces the one waiting (only the latest level is worth sending: an amend sets both levels,
 * and the latest is the tightest the engine wants). A replaced amend resolves `superseded`.
 */
export class StopAmendCoalescer<P, R> {
  readonly #inFlight = new Set<string>();
  readonly #pending = new Map<string, { payload: P; settle: (outcome: Promise<CoalescedOutcome<R>>) => void }>();

  constructor(private readonly send: (dealId: string, payload: P) => Promise<R>) {}

  submit(dealId: string, payload: P): Promise<CoalescedOutcome<R>> {
    if (!this.#inFlight.has(dealId)) return this.#run(dealId, payload);
    return new Promise<CoalescedOutcome<R>>((resolve) => {
      const waiting = this.#pending.get(dealId);
      if (waiting) waiting.settle(Promise.resolve({ status: 'superseded' }));
      this.#pending.set(dealId, { payload, settle: (outcome) => resolve(outcome) });
    });
  }

  /** Number of deals with an amend in flight (for drain()). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #run(dealId: string, payload: P): Promise<CoalescedOutcome<R>> {
    this.#inFlight.add(dealId);
    try {
      return { status: 'sent', result: await this.send(dealId, payload) };
    } finally {
      this.#inFlight.delete(dealId);
      const next = this.#pending.get(dealId);
      if (next) {
        this.#pending.delete(dealId);
        next.settle(this.#run(dealId, next.payload));
      }
    }
  }
}
