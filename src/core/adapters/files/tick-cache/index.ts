/**
 * The binary tick cache (`.tgt`): `trailguard ticks import` writes it, `backtest` and `ticks info`
 * read it. See format.ts for the layout and the reasons behind it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { UserError } from '../../../domain/errors.js';
import type { TickSource } from '../../../ports/market-data.js';
import { openTickSource, type TickReadOptions } from '../ticks/index.js';
import { EXTENSION, hasMagic, MAGIC } from './format.js';
import { TickCacheSource } from './source.js';

export { EXTENSION as TICK_CACHE_EXTENSION } from './format.js';
export type { CacheMetadata, FileHeader, MarketSummary } from './format.js';
export { TickCacheFile, type DecodedBlock } from './reader.js';
export { TickCacheSource } from './source.js';
export { TickCacheWriter, type WrittenCache } from './writer.js';

/** True when `path` is a tick cache: named `.tgt`, or starting with the cache's magic bytes. */
export function isTickCacheFile(path: string): boolean {
  if (extname(path).toLowerCase() === EXTENSION) return true;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = new Uint8Array(MAGIC.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === head.length && hasMagic(head);
  } catch {
    // Unreadable or missing: not a cache; the text reader reports the problem with the file.
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The error of a run given both tick caches and text files, or undefined when they are of one kind. */
export function mixedTicksError(files: readonly string[]): UserError | undefined {
  const caches = files.filter((file) => isTickCacheFile(file));
  if (caches.length === 0 || caches.length === files.length) return undefined;
  const text = files.filter((file) => !caches.includes(file));
  return new UserError(
    `cannot mix tick caches (${caches.join(', ')}) with text tick files (${text.join(', ')}) in one run`,
    'import the text files into a cache too (trailguard ticks import), or pass only text files',
  );
}

/**
 * Opens tick files of any kind: tick caches (by extension or magic) through the cache reader,
 * everything else through the text readers (`openTickSource`). `format`, `timezone` and
 * `defaultMarket` concern text files only: a cache holds validated ticks with their markets.
 * With `strict`, a cache whose import skipped rows fails at the first of them.
 */
export function openAnyTickSource(options: TickReadOptions): TickSource {
  const caches = options.files.filter((file) => isTickCacheFile(file));
  if (caches.length === 0) return openTickSource(options);
  if (caches.length !== options.files.length) {
    const error = mixedTicksError(options.files) as UserError;
    // Reported when the ticks are read, as every other input error of a source is.
    return {
      markets: [],
      stats: () => ({
        accepted: 0,
        skipped: { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 },
        ignored: 0,
        firstSkipped: [],
      }),
      batches: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
      }),
    };
  }
  return new TickCacheSource({
    files: options.files,
    knownMarkets: options.knownMarkets,
    from: options.from,
    to: options.to,
    maxReported: options.maxReported,
    strict: options.strict,
    batchSize: options.batchSize,
    onProgress: options.onProgress,
  });
}
