import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { MarketConfig, SignalRow } from '../domain/config.js';
import { UserError } from '../domain/errors.js';
import type { Candle, Tick } from '../domain/types.js';
import { loadSignals } from '../adapters/files/signals.js';
import { breakoutEntry } from '../entries/breakout.js';
import { emaCrossEntry } from '../entries/ema-cross.js';
import { signalsEntry } from '../entries/signals.js';
import type { EntryContext, EntryIntent, EntryStrategy } from '../entries/types.js';
import { parseTimeframe } from '../config/units.js';
import { dynamicImport } from './dynamic-import.js';

/** What a user's entry module exports (SPEC §5 `module`): see fixtures/entries/ for an example. */
export interface EntryModule {
  createEntry(params: { market: string; options: Record<string, unknown> }): {
    timeframe?: string;
    onTick(tick: Tick, candle: Candle | undefined, ctx: EntryContext): readonly EntryIntent[] | undefined | void;
  };
}

export interface BuildEntriesOptions {
  /** Live: the local clock at start-up; rows dated before the session are not executed (SignalsLiveOptions). */
  signalsNotBefore?: number | undefined;
  /** Live: per market, rows up to this time were seen by an earlier run (executed or dropped). */
  signalsSeenUntil?: Readonly<Record<string, number>> | undefined;
  log?: ((level: 'info' | 'warn', message: string) => void) | undefined;
  /** Backtest's --timezone: the zone of signal times written without one (UTC by default), as for tick times. */
  timezone?: string | undefined;
}

/** Builds the entry strategy of every market (absent for `none`: such a market only manages). */
export async function buildEntries(
  markets: readonly MarketConfig[],
  options: BuildEntriesOptions = {},
): Promise<Map<string, EntryStrategy>> {
  const entries = new Map<string, EntryStrategy>();
  const signalFiles = new Map<string, SignalRow[]>();
  for (const m of markets) {
    const e = m.entry;
    switch (e.kind) {
      case 'none':
        break;
      case 'signals': {
        let rows = signalFiles.get(e.file);
        if (rows === undefined) {
          rows = await loadSignals(e.file, { timezone: options.timezone });
          signalFiles.set(e.file, rows);
          // A mistyped market in a row would drop its trade without a word.
          const traded = new Set(markets.map((x) => x.market));
          const others = [...new Set(rows.map((r) => r.market).filter((name) => !traded.has(name)))];
          if (others.length > 0)
            options.log?.(
              'warn',
              `${e.file}: ${rows.filter((r) => !traded.has(r.market)).length} signal row(s) for markets this run does not trade (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}) are not executed`,
            );
        }
        const mine = rows.filter((r) => r.market === m.market);
        const zero = mine.filter((r) => r.stopPoints === 0 || r.limitPoints === 0).length;
        if (zero > 0)
          options.log?.(
            'warn',
            `${m.market}: ${zero} signal row${zero === 1 ? '' : 's'} of ${e.file} with stopPoints or limitPoints 0: a stop or take-profit at the entry price (widened to minStopDistance when set), reached as soon as the price is back there`,
          );
        const seenUntil = options.signalsSeenUntil?.[m.market] ?? -Infinity;
        const due = mine.filter((r) => r.time > seenUntil);
        if (due.length < mine.length)
          options.log?.(
            'info',
            `${m.market}: ${mine.length - due.length} signal rows seen by an earlier run are not executed`,
          );
        const notBefore = options.signalsNotBefore;
        entries.set(
          m.market,
          notBefore === undefined
            ? signalsEntry(due)
            : signalsEntry(due, {
                notBefore,
                onDropped: (n) =>
                  options.log?.('info', `${m.market}: ${n} signal rows dated before this session are not executed`),
              }),
        );
        break;
      }
      case 'ema-cross':
        entries.set(m.market, emaCrossEntry({ ...e, pointSize: m.pointSize }));
        break;
      case 'breakout':
        entries.set(m.market, breakoutEntry({ ...e, pointSize: m.pointSize }));
        break;
      case 'module':
        entries.set(m.market, await loadEntryModule(e.path, m.market, e.options ?? {}));
        break;
      default: {
        const exhaustive: never = e;
        throw new UserError(`unknown entry kind ${JSON.stringify(exhaustive)}`);
      }
    }
  }
  return entries;
}

async function importModule(path: string): Promise<unknown> {
  const full = resolve(path);
  const ext = extname(full);
  try {
    if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
      // Node 20 cannot import TypeScript: tsx compiles it on the fly.
      const { tsImport } = (await dynamicImport('tsx/esm/api')) as typeof import('tsx/esm/api');
      return await tsImport(pathToFileURL(full).href, import.meta.url);
    }
    return await dynamicImport(pathToFileURL(full).href);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(full)) {
      throw new UserError(`entry module not found: ${full}`, 'check markets.<market>.entry.path in the config');
    }
    throw new UserError(`entry module ${full} failed to load: ${(error as Error).message}`);
  }
}

export async function loadEntryModule(
  path: string,
  market: string,
  options: Record<string, unknown>,
): Promise<EntryStrategy> {
  const mod = (await importModule(path)) as Partial<EntryModule> & { default?: Partial<EntryModule> };
  const create = mod.createEntry ?? mod.default?.createEntry;
  if (typeof create !== 'function') {
    throw new UserError(`entry module ${path} must export a function createEntry({ market, options })`);
  }
  let instance: ReturnType<EntryModule['createEntry']>;
  try {
    instance = create({ market, options });
  } catch (error) {
    throw new UserError(`createEntry() of entry module ${path} failed: ${(error as Error).message}`);
  }
  if (instance === null || typeof instance !== 'object' || typeof instance.onTick !== 'function') {
    throw new UserError(`createEntry() of ${path} must return an object with onTick(tick, candle, ctx)`);
  }
  let timeframeMs: number | undefined;
  if (instance.timeframe !== undefined) {
    timeframeMs = parseTimeframe(instance.timeframe);
    if (timeframeMs === undefined)
      throw new UserError(`entry module ${path}: timeframe "${instance.timeframe}" is not like 1m, 15m, 1h, 1d`);
  }
  return {
    reason: 'MODULE',
    timeframeMs,
    onTick: (tick, candle, ctx) => {
      let result: unknown;
      try {
        // The module must not keep or change the engine's reused tick object.
        result = instance.onTick({ ...tick }, candle, ctx);
      } catch (error) {
        throw new UserError(
          `entry module ${path}: onTick failed on the tick of ${new Date(tick.time).toISOString()}: ${(error as Error).message}`,
        );
      }
      if (result === undefined || result === null) return undefined;
      if (!Array.isArray(result))
        throw new UserError(`entry module ${path}: onTick must return an array of intents or nothing`);
      for (const intent of result) {
        const checked = intentSchema.safeParse(intent);
        if (!checked.success) {
          const issue = checked.error.issues[0];
          throw new UserError(
            `entry module ${path}: onTick returned ${JSON.stringify(intent)}: ${issue?.path.join('.') || 'the intent'}: ${issue?.message ?? 'invalid'}`,
            "an intent is {kind: 'open', direction: 'BUY' | 'SELL', size?, stopPoints?, limitPoints?, strategy?} or {kind: 'exit', dealId}",
          );
        }
      }
      return result as readonly EntryIntent[];
    },
  };
}

/**
 * A module's intents, checked as the configuration is: a direction that is not BUY or SELL, or a
 * misspelt key, would otherwise reach the journal (or be silently ignored).
 */
const positiveNumber = z.number().positive().finite();
// Points of 0 as in the configuration and signal rows (SPEC sets no bound): a level at the entry.
const points = z.number().nonnegative().finite();
const intentSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('open'),
    direction: z.enum(['BUY', 'SELL']),
    size: positiveNumber.optional(),
    stopPoints: points.optional(),
    limitPoints: points.optional(),
    strategy: z.string().min(1).optional(),
  }),
  z.strictObject({ kind: z.literal('exit'), dealId: z.string().min(1) }),
]);
