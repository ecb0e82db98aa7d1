import { CsvJournal, prepareJournalPath } from '../adapters/files/journal-csv.js';
import { JournalIndex } from '../adapters/files/journal-index.js';
import { JsonStateStore, StateInUse, StateLock, stateDirTag } from '../adapters/files/state-store.js';
import { IgBroker } from '../adapters/ig/ig-broker.js';
import type { IgRestClient } from '../adapters/ig/rest-client.js';
import { loadConfig, selectMarkets } from '../config/load.js';
import type { Config, MarketConfig } from '../domain/config.js';
import { UserError } from '../domain/errors.js';
import type { Direction, JournalRow } from '../domain/types.js';
import type { Broker } from '../ports/broker.js';
import type { Clock } from '../ports/clock.js';
import {
  applyDealingRules,
  brokerPositionFromIg,
  connectIg,
  igCloseFinder,
  ownOpensGoneSinceSave,
  trackManagedPositions,
  type Log,
} from './ig-connect.js';
import { emptyReport, reconcile, saveEngineState, reconcileInSync, type ReconcileReport } from './reconcile.js';
import { round8, wholeSteps } from '../engine/numeric.js';
import { EngineRunner } from './run-engine.js';

export interface ManageOptions {
  configPath: string;
  env?: Readonly<Record<string, string | undefined>> | undefined;
  clock: Clock;
  log: Log;
}

/** A broker that must never be asked to deal (sync only records what happened). */
const NO_DEALS: Broker = {
  setEventHandler: () => undefined,
  onTick: () => undefined,
  submit: (action) => {
    throw new UserError(`sync does not deal, but the engine asked to ${action.type}`);
  },
  drain: () => Promise.resolve(),
};

interface Session {
  config: Config;
  markets: MarketConfig[];
  rest: IgRestClient;
  store: JsonStateStore;
  journal: CsvJournal;
  rows: JournalRow[];
  runner: EngineRunner;
  report: ReconcileReport;
  igBroker: IgBroker | undefined;
  lock: StateLock;
  clock: Clock;
  account: IgAccount;
  /** Per deal, why the broker refused a request of this session (the engine's alert says it). */
  refused: Map<string, string>;
}

/** The IG account a session acts on, for the confirmation of a close. */
export interface IgAccount {
  environment: 'demo' | 'live';
  accountId: string;
}

/** Lock, log in, reconcile: the start of `sync` and `close` (and of `live`, which has its own loop). */
async function openSession(options: ManageOptions, withBroker: boolean): Promise<Session> {
  const config = await loadConfig(options.configPath);
  if (config.broker.kind === 'paper')
    throw new UserError('broker.kind is paper: there is no IG account to reconcile with or close on');
  const lock = new StateLock(config.stateDir);
  lock.acquire();
  try {
    const store = new JsonStateStore(config.stateDir);
    prepareJournalPath(config.journal);
    const { rest, session } = await connectIg(config, { env: options.env, log: options.log });
    const markets = await applyDealingRules(rest, selectMarkets(config, undefined), options.log);
    const index = await JournalIndex.read(config.journal, (message) => options.log('warn', message));
    const journal = new CsvJournal(config.journal, { durable: true });
    const rows: JournalRow[] = [];
    const refused = new Map<string, string>();
    const igBroker = withBroker
      ? new IgBroker({
          rest,
          markets,
          clock: options.clock,
          runId: options.clock.now().toString(36),
          dirTag: stateDirTag(config.stateDir),
          log: options.log,
        })
      : undefined;
    const runner = new EngineRunner({
      setup: { markets, strategies: config.strategies, entries: new Map() },
      broker: igBroker ?? NO_DEALS,
      journal,
      onJournalRow: (row) => rows.push(row),
      journalRowsBefore: index.rows,
      onAlert: (a) => {
        options.log(a.level === 'info' ? 'info' : a.level, a.message);
        // The engine's alert of a refused close ("close of … rejected by the broker: …").
        if (a.message.startsWith('close of ') && typeof a.data.dealId === 'string' && typeof a.data.reason === 'string')
          refused.set(a.data.dealId, a.data.reason);
      },
      onLifecycle: () => undefined,
    });
    const brokerPositions = (await rest.getPositions()).map((p) => brokerPositionFromIg(p, config));
    const report = await reconcile({
      runner,
      store,
      journal: index,
      markets,
      brokerPositions,
      findCloses: igCloseFinder(rest, options.clock),
      // sync only: `close` goes on to close the position, which would end its rows without it.
      deferUnknownPartials: !withBroker,
      ownOpensGone: await ownOpensGoneSinceSave(rest, config, store, options.clock, brokerPositions),
      configured: Object.keys(config.markets),
      now: options.clock.now(),
    });
    if (igBroker !== undefined) trackManagedPositions(igBroker, runner.engine);
    const account = { environment: config.broker.environment, accountId: session.accountId };
    return {
      config,
      markets,
      rest,
      store,
      journal,
      rows,
      runner,
      report,
      igBroker,
      lock,
      clock: options.clock,
      account,
      refused,
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

function persistAll(s: Session): void {
  saveEngineState(
    s.store,
    s.runner,
    s.markets.map((m) => m.market),
    s.clock.now(),
  );
}

export interface SyncResult {
  inSync: boolean;
  report: ReconcileReport;
  journalRows: JournalRow[];
  /**
   * Why nothing was done: `live` (or another command) holds the state directory. A running `live`
   * records what happens on IG as it goes, so for the cron job this is not a failure.
   */
  skipped?: string | undefined;
}

/** `trailguard sync`: live's start-up reconciliation as a one-shot (cron). */
export async function runSync(options: ManageOptions): Promise<SyncResult> {
  // The paper book is live's own: there is no account to compare it with (the cron job of the
  // README, left on while trading on paper, is no failure).
  if ((await loadConfig(options.configPath)).broker.kind === 'paper')
    return {
      inSync: false,
      report: emptyReport(),
      journalRows: [],
      skipped: 'broker.kind is paper: there is no IG account to reconcile with (live keeps the paper book itself)',
    };
  let s: Session;
  try {
    s = await openSession(options, false);
  } catch (error) {
    if (!(error instanceof StateInUse)) throw error;
    const skipped = `state directory ${error.dir} is in use by process ${error.pid}: nothing done (a running live records what happens on IG itself)`;
    // Not compared, so not said to agree: the exit code (0) is what tells cron it is no failure.
    return { inSync: false, report: emptyReport(), journalRows: [], skipped };
  }
  try {
    await s.journal.close();
    return { inSync: reconcileInSync(s.report), report: s.report, journalRows: s.rows.map(shownRow) };
  } finally {
    s.lock.release();
  }
}

export interface CloseTarget {
  dealId: string;
  market: string;
  direction: Direction;
  size: number;
  closeSize: number;
}

export interface CloseRequest {
  dealId?: string | undefined;
  market?: string | undefined;
  all?: boolean | undefined;
  size?: number | undefined;
  percent?: number | undefined;
}

export interface CloseResult {
  closed: JournalRow[];
  failed: { dealId: string; reason: string }[];
  targets: CloseTarget[];
}

/**
 * `trailguard close`: manual closes through the same engine and broker code as live, so the
 * journal gets MANUAL rows and the state follows. `confirm` is asked with the targets before
 * anything is sent; returning false sends nothing.
 */
export async function runClose(
  options: ManageOptions & {
    request: CloseRequest;
    confirm: (targets: CloseTarget[], account: IgAccount) => Promise<boolean>;
  },
): Promise<CloseResult> {
  const { request } = options;
  const s = await openSession(options, true);
  try {
    const open = s.runner.engine.openPositions().map((v) => v.position);
    const chosen = open.filter((p) =>
      request.dealId !== undefined
        ? p.dealId === request.dealId
        : request.market !== undefined
          ? p.market === request.market
          : request.all === true,
    );
    if (chosen.length === 0) {
      // Flat already: what --all asks for (an end-of-day cron job), not an input error.
      if (request.all === true) {
        await s.journal.close();
        return { closed: [], failed: [], targets: [] };
      }
      const what = request.dealId ?? request.market;
      throw new UserError(`no open position managed by trailguard for ${what}`, 'see `trailguard positions`');
    }
    const targets: CloseTarget[] = chosen.map((p) => {
      const market = s.markets.find((m) => m.market === p.market) as MarketConfig;
      let closeSize = p.size;
      if (request.size !== undefined) closeSize = checkedSize(request.size, p, market);
      // 100% is all of it, even a size that is no whole number of lots (adopted at IG's own size).
      if (request.percent !== undefined && request.percent < 100) {
        closeSize = Math.floor((p.size * request.percent) / 100 / market.lotStep + 1e-9) * market.lotStep;
        closeSize = Number(closeSize.toFixed(8));
      }
      return { dealId: p.dealId, market: p.market, direction: p.direction, size: p.size, closeSize };
    });
    const zero = targets.filter((t) => !(t.closeSize > 0));
    if (zero.length > 0)
      throw new UserError(`the size to close of ${zero.map((t) => t.dealId).join(', ')} rounds to 0 lots`);
    if (!(await options.confirm(targets, s.account))) {
      await s.journal.close();
      return { closed: [], failed: [], targets };
    }
    const failed: { dealId: string; reason: string }[] = [];
    const before = s.rows.length;
    for (const t of targets) {
      s.runner.engine.requestClose(t.dealId, t.closeSize >= t.size ? undefined : t.closeSize, 'MANUAL');
    }
    s.runner.settle();
    await s.igBroker?.drain();
    const closedIds = new Set(s.rows.slice(before).map((r) => r.dealId));
    for (const t of targets)
      if (!closedIds.has(t.dealId))
        failed.push({
          dealId: t.dealId,
          reason: failedCloseReason(s.refused.get(t.dealId)),
        });
    persistAll(s);
    await s.journal.close();
    return { closed: s.rows.slice(before).map(shownRow), failed, targets };
  } finally {
    s.lock.release();
  }
}

/**
 * `--size` as asked, or an input error: a size IG would refuse or mis-size (not a whole number of
 * the market's lots), or one larger than the position, where a typo would otherwise close all of
 * it (leaving out `--size` closes all). A size equal to the position closes it.
 */
function checkedSize(size: number, p: { dealId: string; size: number }, market: MarketConfig): number {
  if (!wholeSteps(size, market.lotStep))
    throw new UserError(`--size ${size}: not a multiple of ${market.market}'s lot step ${market.lotStep}`);
  if (size > p.size + market.lotStep * 1e-9)
    throw new UserError(
      `--size ${size} is more than ${p.dealId}'s size ${p.size}`,
      'leave out --size to close the whole position',
    );
  return Math.min(size, p.size);
}

/** Why a close failed, as the result says it: refused by IG, or of unknown outcome (IG may have made it). */
function failedCloseReason(reason: string | undefined): string {
  if (reason === undefined) return 'the broker did not confirm the close (see the log)';
  if (reason.startsWith('OUTCOME_UNKNOWN'))
    return `the outcome of the close is unknown (IG may have made it; trailguard positions or sync will tell): ${reason}`;
  return `IG refused the close: ${reason}`;
}

/** A journal row as printed (--json, the close's lines): its P&L without binary noise (`round8`, as the journal writes them). */
function shownRow(row: JournalRow): JournalRow {
  const t = (x: number | undefined) => (x === undefined ? undefined : round8(x));
  return { ...row, pnlPoints: t(row.pnlPoints), pnlAmount: t(row.pnlAmount), rMultiple: t(row.rMultiple) };
}
