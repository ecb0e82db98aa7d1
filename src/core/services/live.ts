import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CsvJournal, prepareJournalPath } from '../adapters/files/journal-csv.js';
import { JournalIndex } from '../adapters/files/journal-index.js';
import { JsonStateStore, StateLock, stateDirTag, writeFileAtomic } from '../adapters/files/state-store.js';
import { TickRecorder } from '../adapters/files/tick-recorder.js';
import { IgBroker } from '../adapters/ig/ig-broker.js';
import type { RateLimiter } from '../adapters/ig/limiter.js';
import { IgStream, type IgStreamOptions, type StaleMarket } from '../adapters/ig/stream.js';
import { SimBroker, type SimPosition } from '../adapters/sim/sim-broker.js';
import { configWarnings } from '../config/warnings.js';
import { loadConfig, selectMarkets } from '../config/load.js';
import { BrokerRejected, UserError } from '../domain/errors.js';
import type { MarketConfig } from '../domain/config.js';
import type { JournalRow, Tick } from '../domain/types.js';
import type { Broker, BrokerAction, BrokerEventHandler } from '../ports/broker.js';
import type { Clock } from '../ports/clock.js';
import type { SkipKind } from '../ports/market-data.js';
import type { Journal } from '../ports/journal.js';
import { buildEntries } from './entries.js';
import { minStopDistanceInPoints } from '../adapters/ig/mapper.js';
import {
  applyDealingRules,
  brokerPositionFromIg,
  connectIg,
  igCloseFinder,
  ownOpensGoneSinceSave,
  trackManagedPositions,
  type Log,
} from './ig-connect.js';
import {
  reconcile,
  saveEngineState,
  unrecordedOwnOpens,
  type BrokerPosition,
  type ReconcileReport,
} from './reconcile.js';
import { EngineRunner } from './run-engine.js';
import { StreamTickCheck } from './stream-ticks.js';
import { summariseOpen, type OpenPositionSummary } from './summary.js';
import { WriteGuard } from './write-guard.js';

export interface LiveStatus {
  stream: string;
  markets: string[];
  openPositions: number;
  lastTickAgeMs: number | undefined;
  ticks: number;
}

export interface LiveOptions {
  configPath: string;
  markets?: readonly string[] | undefined;
  dryRun: boolean;
  record?: string | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Aborting it stops the loop gracefully (SIGINT/SIGTERM). */
  signal: AbortSignal;
  clock: Clock;
  /**
   * How often time passes for the engine without a tick (SPEC §2 `clock` events: time exits that
   * fall due between ticks) and the status is reported [1000 ms]. A backtest has no such events:
   * tests that compare live with it space them out.
   */
  clockEventMs?: number | undefined;
  log: Log;
  onStatus?: ((status: LiveStatus) => void) | undefined;
  /** Distinguishes this run's deal references from earlier runs' (IG answers /confirms by reference). */
  runId?: string | undefined;
  /** IG request allowances (tests against the fake lift them); IG's published ones by default. */
  limiter?: RateLimiter | undefined;
  /**
   * The stream's pauses: its reconnections and resubscriptions (1 s doubling up to 30 s), and when
   * a market without prices is reported (30 s); tests shorten them.
   */
  streamTiming?:
    | Pick<IgStreamOptions, 'reconnectDelayMs' | 'reconnectMaxDelayMs' | 'staleAfterMs' | 'staleCheckIntervalMs'>
    | undefined;
  /** Called when start-up is done and the stream is subscribed (tests, status). */
  onReady?: ((handle: LiveHandle) => void) | undefined;
}

/** What a running `live` exposes to its caller (tests wait on `idle`). */
export interface LiveHandle {
  runner: EngineRunner;
  ticks(): number;
  /** Resolves once every request in flight has been answered. */
  idle(): Promise<void>;
}

export interface LiveResult {
  markets: string[];
  broker: 'ig' | 'paper';
  dryRun: boolean;
  reconcile: ReconcileReport;
  /** Ticks received from the stream, skipped ones included. */
  ticks: number;
  /** Ticks skipped by kind (StreamTickCheck); the first few are logged. */
  skippedTicks: Record<SkipKind, number>;
  journalRows: number;
  openPositions: OpenPositionSummary[];
}

/** Journal of `--dry-run`: rows are logged, never written. */
class LogJournal implements Journal {
  constructor(private readonly log: Log) {}
  append(rows: readonly JournalRow[]): void {
    for (const r of rows)
      this.log(
        'info',
        `[dry-run] journal: ${r.action} ${r.market} ${r.dealId} ${r.direction} ${r.size} @ ${r.price} ${r.reason}`,
      );
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** `--dry-run`: fills are simulated on live prices; what would be sent to IG is logged instead. */
class DryRunBroker implements Broker {
  constructor(
    private readonly inner: SimBroker,
    private readonly log: Log,
  ) {}
  setEventHandler(handler: BrokerEventHandler): void {
    this.inner.setEventHandler(handler);
  }
  onTick(tick: Tick): void {
    this.inner.onTick(tick);
  }
  submit(action: BrokerAction): void {
    this.log('info', `[dry-run] would send ${describeAction(action)}`);
    this.inner.submit(action);
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
}

export function describeAction(a: BrokerAction): string {
  switch (a.type) {
    case 'open':
      return `open ${a.direction} ${a.size} ${a.market} stop ${a.stopLevel ?? '-'} limit ${a.limitLevel ?? '-'} (${a.reason})`;
    case 'amendStop':
      return `amend ${a.dealId} ${a.market} stop → ${a.stopLevel} (${a.reason})`;
    case 'close':
      return `close ${a.size} of ${a.dealId} ${a.market} (${a.reason})`;
    default: {
      const exhaustive: never = a;
      return JSON.stringify(exhaustive);
    }
  }
}

const PAPER_FILE = '_paper.json';
/** How long a time exit waits for a tick of its market before a clock event takes it (clockEventTime). */
export const CLOCK_EXIT_GRACE_MS = 5000;
/**
 * How long a deal waits for its confirm on the trade stream (IG sends it within a fraction of a
 * second) before reading GET /confirms, while the stream is up.
 */
const STREAM_CONFIRM_MS = 1000;
/** Pauses between tries to compare positions with IG's list when a read fails: doubling. */
const RESYNC_FIRST_RETRY_MS = 2000;
const RESYNC_MAX_RETRY_MS = 60_000;
/** A market's dealing rules are read again at most this often after IG refuses a level as too close. */
const RULES_REREAD_MS = 60_000;

/** Skipped ticks logged one by one; the rest are counted in the result. */
const SKIPPED_TICKS_LOGGED = 10;

/** The paper broker's book (broker.kind paper), as live saved it. */
export function readPaperBook(stateDir: string): SimPosition[] {
  const path = join(stateDir, PAPER_FILE);
  if (!existsSync(path)) return [];
  let book: unknown;
  try {
    book = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(
      `the paper book ${path} is damaged: ${(error as Error).message}`,
      'trailguard state clear removes it (its simulated positions are forgotten)',
    );
  }
  const positions = (book as { positions?: unknown } | null)?.positions;
  if (!Array.isArray(positions))
    throw new UserError(`the paper book ${path} is damaged: no positions list`, 'trailguard state clear removes it');
  return positions as SimPosition[];
}

/**
 * `trailguard live` (SPEC §2, §3.2; issue: live on IG): lock, log in, apply IG's dealing rules,
 * reconcile, then run the same engine loop as backtest on the broker's stream until aborted.
 */
export async function runLive(options: LiveOptions): Promise<LiveResult> {
  const { log, clock } = options;
  const config = await loadConfig(options.configPath);
  const selected = selectMarkets(config, options.markets);
  if (options.dryRun) log('warn', 'DRY RUN: no deal or amend is sent to IG, and no journal row or state is written');
  for (const warning of configWarnings(config)) log('warn', warning);
  // --market: a guard sees only the markets this run manages (its MTM, and what a trip closes).
  const chosen = new Set(selected.map((m) => m.market));
  for (const [name, strategy] of Object.entries(config.strategies)) {
    if (strategy.guard === undefined) continue;
    const strategyMarkets = Object.values(config.markets).filter((m) => m.strategy === name);
    const left = strategyMarkets.filter((m) => !chosen.has(m.market)).map((m) => m.market);
    if (left.length > 0 && left.length < strategyMarkets.length)
      log(
        'warn',
        `strategy ${name}: its guard sees only the markets this run manages; its positions in ${left.join(', ')} count in neither its MTM nor what a trip closes`,
      );
  }
  const lock = new StateLock(config.stateDir);
  lock.acquire();
  let stream: IgStream | undefined;
  let recorder: TickRecorder | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    // Opened before anything else: a --record path that cannot be written stops live before IG.
    if (options.record !== undefined) {
      // Ticks appended to the journal or the configuration would damage them for good.
      const record = resolve(options.record);
      const taken = [
        { what: 'the journal', path: resolve(config.journal) },
        { what: 'the configuration', path: resolve(options.configPath) },
      ].find((f) => f.path === record);
      if (taken !== undefined)
        throw new UserError(`--record ${options.record} is ${taken.what}`, 'record the ticks to a file of their own');
    }
    if (options.record !== undefined)
      recorder = new TickRecorder(options.record, (error) =>
        log('error', `--record ${options.record}: ${error.message}; the recording stops, live goes on`),
      );
    const store = new JsonStateStore(config.stateDir);
    prepareJournalPath(config.journal);
    const paper = config.broker.kind === 'paper';
    const { rest, session } = await connectIg(config, { env: options.env, log, limiter: options.limiter });
    const markets: MarketConfig[] = await applyDealingRules(rest, selected, log);
    const journalIndex = await JournalIndex.read(config.journal, (message) => log('warn', message));
    let stopNow: (() => void) | undefined;
    // A stream that can never come back (IG refused the re-login for good) stops live: exit 1.
    let streamFailure: Error | undefined;
    const writes = new WriteGuard((error) => {
      log(
        'error',
        `${error.message}. live stops now, as after a crash: positions stay on IG with their broker stops, and the next start recovers what was not written`,
      );
      stopNow?.();
    });
    const journal: Journal = options.dryRun
      ? new LogJournal(log)
      : writes.journal(new CsvJournal(config.journal, { durable: true }), config.journal);
    let broker: Broker;
    let igBroker: IgBroker | undefined;
    let sim: SimBroker | undefined;
    let brokerPositions: BrokerPosition[];
    if (paper) {
      sim = new SimBroker(markets, 'PAPER');
      for (const p of readPaperBook(config.stateDir)) sim.seed(p);
      sim.dealIdsAfter(journalIndex.entries.keys());
      brokerPositions = sim.positions().map((p) => ({ ...p, level: 0, openedAt: 0 }));
      broker = options.dryRun ? new DryRunBroker(sim, log) : sim;
    } else {
      brokerPositions = (await rest.getPositions()).map((p) => brokerPositionFromIg(p, config));
      if (options.dryRun) {
        sim = new SimBroker(markets, 'DRY');
        for (const p of brokerPositions) sim.seed({ ...p, stopLevel: p.stopLevel, limitLevel: p.limitLevel });
        broker = new DryRunBroker(sim, log);
      } else {
        igBroker = new IgBroker({
          rest,
          markets,
          clock,
          runId: options.runId ?? clock.now().toString(36),
          dirTag: stateDirTag(config.stateDir),
          log,
        });
        broker = igBroker;
        for (const [dealId, time] of journalIndex.lastCloseAt) igBroker.rememberCloseAt(dealId, time);
      }
    }

    // No signal is entered twice: a market's signals count as seen up to its latest ENTRY row (a
    // run stopped between that row and saving how far its entries read), and up to any open an
    // earlier run sent but never saw confirmed (reconcile takes those positions over).
    const ownOpensGone = paper ? [] : await ownOpensGoneSinceSave(rest, config, store, clock, brokerPositions);
    const seenUntil = { ...store.readStrategies()?.entriesSeenUntil };
    const seen = (market: string, time: number) => {
      seenUntil[market] = Math.max(seenUntil[market] ?? -Infinity, time);
    };
    for (const [market, time] of journalIndex.lastEntry) seen(market, time);
    for (const p of unrecordedOwnOpens(store, journalIndex, markets, [...brokerPositions, ...ownOpensGone]))
      seen(p.market, p.openedAt);
    const entries = await buildEntries(markets, {
      signalsNotBefore: clock.now(),
      signalsSeenUntil: seenUntil,
      log: (level, message) => log(level, message),
    });

    const dirty = new Set<string | undefined>();
    let journalRows = 0;
    const persist = (): void => {
      if (options.dryRun || dirty.size === 0) return;
      writes.write(`the state in ${config.stateDir}`, () => {
        saveEngineState(
          store,
          runner,
          [...dirty].filter((m): m is string => m !== undefined),
          clock.now(),
        );
        dirty.clear();
        if (sim !== undefined && paper) {
          writeFileAtomic(
            join(config.stateDir, PAPER_FILE),
            `${JSON.stringify({ positions: sim.positions() }, null, 2)}\n`,
          );
        }
      });
    };
    // Set once the IG broker and the stream are wired (below): a deal IG refused for a gone position.
    let onPositionGone: (() => void) | undefined;
    let onLevelTooClose: ((dealId: string) => void) | undefined;
    const runner: EngineRunner = new EngineRunner({
      setup: { markets, strategies: config.strategies, entries },
      broker,
      journal,
      onJournalRow: (row) => {
        journalRows++;
        // A close journaled (reconciliation's too) is never one a later history look-up finds.
        if (row.action !== 'ENTRY') igBroker?.rememberCloseAt(row.dealId, row.time);
      },
      onAlert: (a) => {
        log(a.level === 'info' ? 'info' : a.level, a.message);
        // The engine's alert of a request the broker refused carries the deal and IG's reason.
        const refused = typeof a.data.reason === 'string' ? a.data.reason : '';
        // IG refused a deal because the position is gone: a close whose update was lost. IG's
        // list says where it went (as after a gap in the stream).
        if (/POSITION_NOT_FOUND|POSITION_NOT_AVAILABLE_TO_CLOSE/.test(refused)) onPositionGone?.();
        // IG refused a level as too close: its minimum stop distance may have grown (news).
        if (/ATTACHED_ORDER_LEVEL_ERROR/.test(refused) && typeof a.data.dealId === 'string')
          onLevelTooClose?.(a.data.dealId);
        // IG refused the new login a deal needed (credentials, API key): no deal can go out, and
        // every tick would try the refused password again. Stopped as when the stream's is refused.
        if (refused.includes('IG refused the login, nothing was executed') && streamFailure === undefined) {
          streamFailure = new BrokerRejected(
            `IG refused the new login live needed to deal (${a.message}): live cannot move stops or close positions without it and stops; open positions keep their broker stops on IG`,
            'rest.login-refused',
          );
          log('error', streamFailure.message);
          stopNow?.();
        }
      },
      onLifecycle: (market) => dirty.add(market),
      onSettled: persist,
      journalRowsBefore: journalIndex.rows,
    });

    const report = await reconcile({
      runner,
      store: options.dryRun ? readOnly(store) : store,
      journal: journalIndex,
      markets,
      brokerPositions,
      findCloses: paper ? () => Promise.resolve([]) : igCloseFinder(rest, clock),
      ownOpensGone,
      configured: Object.keys(config.markets),
      now: clock.now(),
    });
    for (const r of report.closedWhileAway)
      log(
        'warn',
        `${r.market} ${r.dealId}: ${r.partial ? `${r.size} of it was` : 'it was'} closed while trailguard was away, at ${r.level} (${r.levelFrom})`,
      );
    for (const r of report.recoveredOpens)
      log(
        'warn',
        `${r.market} ${r.dealId}: opened by an earlier run that stopped before its confirmation; taken over (${r.strategy})`,
      );
    for (const r of report.realisedFromJournal)
      log(
        'warn',
        `strategy ${r.strategy}: ${r.rows} close rows written after its guard was last saved; their P&L (${r.amount.toFixed(2)}) added to it`,
      );
    for (const r of report.unmanaged) log('warn', `${r.market} ${r.dealId} is not managed: ${r.reason}`);
    for (const r of report.unresolved) log('error', `${r.market} ${r.dealId}: ${r.reason}`);
    if (igBroker !== undefined) trackManagedPositions(igBroker, runner.engine);
    // Decided and sent by the run before, never executed by IG (it stopped before they were on
    // the wire): sent now, before any tick (docs/decisions.md 48).
    for (const c of runner.engine.resendUnsentCloses())
      log(
        'warn',
        `${c.market} ${c.dealId}: the ${c.reason} close of ${c.size} that the last run sent was never executed by IG (it stopped first); sending it again`,
      );
    runner.settle();

    let ticks = 0;
    const tickCheck = new StreamTickCheck((market, message) => log('warn', `${market}: ${message}`));
    let lastTickAt: number | undefined;
    // The feed's clock: the latest accepted tick's time, and when (by the local clock) it came.
    let feedTime: number | undefined;
    let feedTimeAt = 0;
    let streamStatus = 'CONNECTING';
    let tradeRefused = false;
    let resyncing: Promise<void> | undefined;
    const unmanagedSaid = new Set(report.unmanaged.map((u) => u.dealId));
    let resyncRetry: NodeJS.Timeout | undefined;
    let resyncDelayMs = RESYNC_FIRST_RETRY_MS;
    let stopping = false;
    // Updates sent while the stream was down are lost: the IG broker compares what it follows
    // with IG's positions and reports what changed in the gap (SPEC §3.2). Tried again, with
    // longer pauses, until IG answers: a close made in the gap must not be lost to one failed read.
    let resyncAgain = false;
    const resyncAfterGap = (broker: IgBroker): void => {
      if (stopping) return;
      // Asked for while one runs (its read may predate what prompted this one): once more after it.
      if (resyncing !== undefined) {
        resyncAgain = true;
        return;
      }
      clearTimeout(resyncRetry);
      resyncRetry = undefined;
      resyncing = (async () => {
        try {
          for (const p of broker.reconcileAfterGap(await rest.getPositions())) {
            // Said once a position: those start-up reported as not managed are known already.
            if (unmanagedSaid.has(p.dealId)) continue;
            unmanagedSaid.add(p.dealId);
            const kind = markets.find((m) => m.market === p.market)?.entry.kind;
            if (kind !== undefined)
              log(
                'warn',
                kind === 'none'
                  ? `${p.market} ${p.dealId} is on IG but not managed: opened outside trailguard while the stream was down; restart live to take it over (sync does nothing while live runs)`
                  : `${p.market} ${p.dealId} is on IG but not managed: opened outside trailguard, and the market's entry kind is ${kind} (only kind none adopts)`,
              );
          }
          resyncDelayMs = RESYNC_FIRST_RETRY_MS;
        } catch (error) {
          log(
            'error',
            `could not compare positions with IG: ${(error as Error).message}; trying again in ${seconds(resyncDelayMs)}`,
          );
          if (!stopping) {
            resyncRetry = setTimeout(() => resyncAfterGap(broker), resyncDelayMs);
            resyncDelayMs = Math.min(resyncDelayMs * 2, RESYNC_MAX_RETRY_MS);
          }
        } finally {
          resyncing = undefined;
          if (resyncAgain && !stopping) {
            resyncAgain = false;
            resyncAfterGap(broker);
          }
        }
      })();
    };
    if (igBroker !== undefined) {
      const broker = igBroker;
      onPositionGone = () => resyncAfterGap(broker);
      // SPEC §3.2 "the broker's dealing rules win": read again, at most once a minute a market.
      const rulesReadAt = new Map<string, number>();
      onLevelTooClose = (dealId) => {
        const market = runner.engine.position(dealId)?.market;
        const config = markets.find((m) => m.market === market);
        if (market === undefined || config === undefined || stopping) return;
        const last = rulesReadAt.get(market);
        if (last !== undefined && clock.now() - last < RULES_REREAD_MS) return;
        rulesReadAt.set(market, clock.now());
        void (async () => {
          try {
            const points = minStopDistanceInPoints(await rest.getMarket(market), config.pointSize);
            if (points !== undefined && runner.engine.raiseMinStopDistance(market, points))
              log(
                'warn',
                `${market}: IG's minimum stop distance is now ${points} points (it refused a level as too close): using it`,
              );
          } catch (error) {
            log('warn', `${market}: could not read IG's dealing rules again: ${(error as Error).message}`);
          }
        })();
      };
    }
    const activeStream = new IgStream({
      endpoint: config.broker.streamUrl ?? session.lightstreamerEndpoint,
      accountId: session.accountId,
      tokens: { cst: session.cst, securityToken: session.securityToken },
      relogin: async () => {
        const s = await rest.login();
        return { cst: s.cst, securityToken: s.securityToken };
      },
      forcedTransport: 'WS-STREAMING',
      clock,
      onTick: (tick) => {
        if (writes.failure !== undefined) return;
        recorder?.record(tick);
        ticks++;
        lastTickAt = clock.now();
        const skipped = tickCheck.check(tick);
        if (skipped === undefined) {
          if (!(feedTime !== undefined && feedTime >= tick.time)) {
            feedTime = tick.time;
            feedTimeAt = lastTickAt;
          }
          writes.run(() => runner.processTick(tick));
        } else if (tickCheck.skippedTotal <= SKIPPED_TICKS_LOGGED)
          log('warn', `${tick.market}: tick skipped, as a backtest skips it: ${skipped.message}`);
      },
      onTradeEvent: (event) => {
        if (writes.failure === undefined) writes.run(() => igBroker?.onTradeEvent(event));
      },
      onStatus: (status) => {
        streamStatus = status;
        log('info', `stream ${status}`);
        // Deals take their confirms from the stream only while its TRADE subscription is live
        // (onTradeSubscription); a connection lost takes it down with it.
        if (!status.startsWith('CONNECTED')) rest.streamConfirmMs = 0;
        if (!status.startsWith('CONNECTED')) return;
        // The first connection too: trade updates reach live only once it is subscribed, and IG
        // may have closed a position since start-up read the list (a stream slow to connect).
        if (igBroker !== undefined) resyncAfterGap(igBroker);
      },
      // Deals take their confirms from the stream while it delivers them, sparing IG's read allowance.
      onTradeSubscription: (live) => {
        rest.streamConfirmMs = live ? STREAM_CONFIRM_MS : 0;
        // Granted again after IG refused it on a live connection: what IG did with the positions
        // meanwhile came in no update (a reconnection compares on CONNECTED already).
        if (live && tradeRefused && igBroker !== undefined) resyncAfterGap(igBroker);
        tradeRefused = !live && streamStatus.startsWith('CONNECTED');
      },
      onStale: (stale) => log('warn', staleNote(stale, streamStatus, runner.engine.openPositions())),
      onPricesBack: (epic, silentMs) => log('info', `${epic}: prices again after ${seconds(silentMs)}`),
      onReconnect: (attempt, delayMs) =>
        log('info', `stream: connecting again in ${seconds(delayMs)} (attempt ${attempt})`),
      onError: (error) => log('error', error.message),
      onFatal: (error) => {
        streamFailure = new BrokerRejected(
          `IG refused the new login the stream needed (${error.message}): live cannot see prices or trade updates without it and stops; open positions keep their broker stops on IG${error.hint === undefined ? '' : `. ${error.hint}`}`,
          'stream.login-refused',
        );
        log('error', streamFailure.message);
        stopNow?.();
      },
      ...options.streamTiming,
    });
    stream = activeStream;
    activeStream.connect();
    for (const m of markets) activeStream.subscribeMarket(m.market);

    const status = (): LiveStatus => ({
      stream: streamStatus,
      markets: markets.map((m) => m.market),
      openPositions: runner.engine.openPositions().length,
      lastTickAgeMs: lastTickAt === undefined ? undefined : clock.now() - lastTickAt,
      ticks,
    });
    timer = setInterval(() => {
      if (writes.failure !== undefined) return;
      writes.run(() => runner.onClock(clockEventTime(clock.now(), feedTime, feedTimeAt)));
      options.onStatus?.(status());
    }, options.clockEventMs ?? 1000);
    options.onReady?.({
      runner,
      ticks: () => ticks,
      idle: async () => {
        while (resyncing !== undefined) await resyncing;
        await broker.drain();
      },
    });

    await new Promise<void>((resolve) => {
      stopNow = resolve;
      if (options.signal.aborted || writes.failure !== undefined || streamFailure !== undefined) resolve();
      else options.signal.addEventListener('abort', () => resolve(), { once: true });
    });

    // Graceful stop: no new ticks, in-flight requests answered, state persisted. Positions stay
    // protected by their broker stops. After a write failure nothing more is written (WriteGuard).
    stopping = true;
    clearTimeout(resyncRetry);
    clearInterval(timer);
    timer = undefined;
    activeStream.disconnect();
    igBroker?.withdrawWaitingAmends(clock.now());
    igBroker?.settleHitsNow();
    await resyncing;
    await broker.drain();
    igBroker?.dispose(); // no settle check may fire after this
    rest.close(); // waits an amend taken back left in the limiter end now, not a minute later
    if (writes.failure === undefined) {
      // Everything, not only what lifecycle events changed: the guards' peak and the positions' best
      // prices move on plain ticks, and a restart must not forget them (SPEC §4.6, §6.3).
      for (const m of markets) dirty.add(m.market);
      dirty.add(undefined);
      writes.run(persist);
    }
    await journal.close().catch((error: unknown) => {
      if (writes.failure === undefined) throw error;
    });
    await recorder?.close();
    recorder = undefined;
    if (writes.failure !== undefined) throw writes.failure;
    log('info', `stopped: ${ticks} ticks${skippedNote(tickCheck)}, ${openNote(runner.engine.openPositions())}`);
    if (streamFailure !== undefined) throw streamFailure;
    return {
      markets: markets.map((m) => m.market),
      broker: paper ? 'paper' : 'ig',
      dryRun: options.dryRun,
      reconcile: report,
      ticks,
      skippedTicks: { ...tickCheck.skipped },
      journalRows,
      openPositions: summariseOpen(runner.engine.openPositions()),
    };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    stream?.disconnect();
    await recorder?.close();
    lock.release();
  }
}

/**
 * A clock event's time (SPEC §2: time exits "when no tick arrives"): the feed's clock carried on by
 * the local time since its latest tick (the local clock alone before any tick), less
 * CLOCK_EXIT_GRACE_MS. So a time exit that a tick would take is left to the tick, at that tick's
 * price, as a backtest of the same ticks takes it (§2), and the clock takes it only when its market
 * has been quiet that long since it came due; and recorded ticks replayed through live (their
 * times in the past) are not all past due by the local clock.
 */
export function clockEventTime(now: number, feedTime: number | undefined, feedTimeAt: number): number {
  return (feedTime === undefined ? now : feedTime + Math.max(0, now - feedTimeAt)) - CLOCK_EXIT_GRACE_MS;
}

function skippedNote({ skipped, skippedTotal }: StreamTickCheck): string {
  if (skippedTotal === 0) return '';
  const kinds = Object.entries(skipped).filter(([, n]) => n > 0);
  return ` (${skippedTotal} skipped: ${kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')})`;
}

/** A store that reads but never writes (dry-run must change nothing on disk). */
function readOnly(store: JsonStateStore): JsonStateStore {
  return Object.assign(Object.create(store) as JsonStateStore, {
    writeMarket: () => undefined,
    writeStrategies: () => undefined,
    deleteMarket: () => undefined,
  });
}

export function removePaperBook(stateDir: string): void {
  rmSync(join(stateDir, PAPER_FILE), { force: true });
}

/**
 * The warning for markets without prices (docs/decisions.md 49): which, for how long, the stream's
 * state, and what that means for the positions open in them.
 */
export function staleNote(
  stale: readonly StaleMarket[],
  streamStatus: string,
  open: readonly { position: { market: string; dealId: string; stopLevel?: number | undefined } }[],
): string {
  const markets = stale.map((s) => `${s.epic} for ${seconds(s.ageMs)}`).join(', ');
  const epics = new Set(stale.map((s) => s.epic));
  const held = open.filter((v) => epics.has(v.position.market));
  const bare = held.filter((v) => v.position.stopLevel === undefined).map((v) => v.position.dealId);
  const stream = streamStatus.startsWith('CONNECTED')
    ? 'the stream is connected'
    : `the stream is ${streamStatus}, trying to connect again`;
  let positions: string;
  if (held.length === 0) positions = `no position is open in ${stale.length === 1 ? 'it' : 'them'}`;
  else if (bare.length === 0)
    positions = `${held.length === 1 ? 'its open position keeps its broker stop' : `their ${held.length} open positions keep their broker stops`} on IG meanwhile; trailguard moves no stop until prices come back`;
  else
    positions = `open positions keep what IG holds meanwhile (WITHOUT a broker stop: ${bare.join(', ')}); trailguard moves no stop until prices come back`;
  return `no price from ${markets} (${stream}); ${positions}`;
}

/** 0.2 s, 8.5 s, 30 s: the pauses tests shorten stay readable. */
function seconds(ms: number): string {
  return `${ms < 10_000 ? Number((ms / 1000).toFixed(ms < 1000 ? 2 : 1)) : Math.round(ms / 1000)} s`;
}

/** What a stop leaves on IG: open positions, and which of them no broker stop protects. */
function openNote(open: readonly { position: { dealId: string; stopLevel?: number | undefined } }[]): string {
  const bare = open.filter((v) => v.position.stopLevel === undefined).map((v) => v.position.dealId);
  const held = `${open.length} position${open.length === 1 ? '' : 's'} still open`;
  if (open.length === 0) return held;
  if (bare.length === 0) return `${held}, each protected by its broker stop`;
  return `${held}; WITHOUT a broker stop: ${bare.join(', ')}`;
}
