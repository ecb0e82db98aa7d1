import { InvariantError, UserError } from '../../../domain/errors.js';
import type { ReadStats, SkipKind, SkippedRow, TickBatch, TickSource } from '../../../ports/market-data.js';
import { TickCacheFile } from './reader.js';

export interface CacheSourceOptions {
  files: readonly string[];
  /** Markets in the configuration; ticks of others are counted in stats.ignored. Undefined = all. */
  knownMarkets?: ReadonlySet<string> | undefined;
  /** Epoch ms, inclusive. */
  from?: number | undefined;
  /** Epoch ms, exclusive. */
  to?: number | undefined;
  maxReported?: number | undefined;
  /**
   * `--strict`: a cache that recorded skipped rows at import fails as a strict read of its text
   * files would, at the first of them.
   */
  strict?: boolean | undefined;
  /** Ticks per batch of the merge of several files (one file yields whole blocks). */
  batchSize?: number | undefined;
  onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
}

interface Part {
  file: TickCacheFile;
  /** Dictionary id → index in the source's `markets`, or -1 (not configured). */
  marketMap: Int32Array;
}

/**
 * Tick caches as a TickSource, with the semantics of the text readers (SPEC §6.1, §9): the ticks
 * come in the order they were imported; several caches are merged by time, ties going to the
 * file given first; then the `from`/`to` window, and ticks of markets not in the configuration
 * are counted as ignored (within the window, as the text path counts them). Rows the text
 * readers skipped at import are reported from the cache's metadata.
 */
export class TickCacheSource implements TickSource {
  private readonly names: string[] = [];
  private readonly parts: Part[] = [];
  private accepted = 0;
  private ignored = 0;
  private started = false;

  /**
   * Opens nothing yet: as with the text readers, the files are opened (every one, so a bad file is
   * reported before any tick is used) when `batches()` is first iterated.
   */
  constructor(private readonly options: CacheSourceOptions) {}

  private open(): void {
    const { options } = this;
    const index = new Map<string, number>();
    try {
      for (const path of options.files) {
        const file = TickCacheFile.open(path);
        const marketMap = new Int32Array(file.meta.markets.length);
        file.meta.markets.forEach((name, id) => {
          if (options.knownMarkets !== undefined && !options.knownMarkets.has(name)) {
            marketMap[id] = -1;
            return;
          }
          let k = index.get(name);
          if (k === undefined) {
            k = this.names.length;
            index.set(name, k);
            this.names.push(name);
          }
          marketMap[id] = k;
        });
        this.parts.push({ file, marketMap });
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Filled in place when the files are opened (callers may hold on to the array). */
  get markets(): readonly string[] {
    return this.names;
  }

  stats(): ReadStats {
    const skipped: Record<SkipKind, number> = { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 };
    const firstSkipped: SkippedRow[] = [];
    const max = this.options.maxReported ?? 10;
    for (const { file } of this.parts) {
      for (const kind of Object.keys(skipped) as SkipKind[]) skipped[kind] += file.meta.skipped[kind] ?? 0;
      for (const row of file.meta.firstSkipped) if (firstSkipped.length < max) firstSkipped.push({ ...row });
    }
    return { accepted: this.accepted, skipped, ignored: this.ignored, firstSkipped };
  }

  batches(): AsyncIterable<TickBatch> {
    if (this.started) throw new InvariantError('a tick source can be read only once');
    this.started = true;
    return this.read();
  }

  private async *read(): AsyncGenerator<TickBatch, void, undefined> {
    this.open();
    if (this.options.strict === true) {
      for (const { file } of this.parts) {
        const row = file.meta.firstSkipped[0];
        if (row === undefined) continue;
        this.close();
        throw new UserError(
          `${row.file}, line ${row.line}: ${row.message} (a row skipped when ${file.path} was imported)`,
          'fix or delete that row and import the file again, or run without --strict to skip bad rows and count them',
        );
      }
    }
    if (this.parts.length === 1) yield* this.single(this.parts[0]!);
    else yield* this.merge();
  }

  close(): void {
    for (const part of this.parts) part.file.close();
  }

  /** Total bytes of all parts, for progress. */
  private get totalBytes(): number {
    return this.parts.reduce((sum, p) => sum + p.file.size, 0);
  }

  /** One cache: each block, filtered in place, is the batch. */
  private async *single(part: Part): AsyncGenerator<TickBatch, void, undefined> {
    const from = this.options.from ?? -Infinity;
    const to = this.options.to ?? Infinity;
    const onProgress = this.options.onProgress;
    const batch: TickBatch = {
      length: 0,
      time: new Float64Array(0),
      bid: new Float64Array(0),
      ask: new Float64Array(0),
      market: new Int32Array(0),
    };
    try {
      // When the dictionary holds only configured markets (the usual cache), every tick's market is
      // known and the per-tick scan below is skipped: it was ~15 instructions a tick (callgrind).
      const everyMarketKnown = !part.marketMap.includes(-1);
      for (const block of part.file.blocks({ from, to, marketMap: part.marketMap, onBytes: onProgress })) {
        const { time, bid, ask, market } = block;
        let n = block.count;
        const whole = block.minTime >= from && block.maxTime < to;
        let allKnown = true;
        if (!everyMarketKnown) {
          for (let i = 0; i < n; i++) {
            if (market[i]! < 0) {
              allKnown = false;
              break;
            }
          }
        }
        if (!whole || !allKnown) {
          // Compact in place: the kept ticks move down, in order.
          let k = 0;
          let ignored = 0;
          for (let i = 0; i < n; i++) {
            const t = time[i]!;
            if (t < from || t >= to) continue;
            const m = market[i]!;
            if (m < 0) {
              ignored++;
              continue;
            }
            time[k] = t;
            bid[k] = bid[i]!;
            ask[k] = ask[i]!;
            market[k] = m;
            k++;
          }
          this.ignored += ignored;
          n = k;
        }
        if (n === 0) continue;
        batch.time = time;
        batch.bid = bid;
        batch.ask = ask;
        batch.market = market;
        batch.length = n;
        this.accepted += n;
        yield batch;
        batch.length = 0;
      }
    } finally {
      part.file.close();
    }
  }

  /** Several caches: a k-way merge on (time, file order), copying runs of one file at a time. */
  private async *merge(): AsyncGenerator<TickBatch, void, undefined> {
    const from = this.options.from ?? -Infinity;
    const to = this.options.to ?? Infinity;
    const size = this.options.batchSize ?? 4096;
    const total = this.totalBytes;
    const done = this.parts.map(() => 0);
    const out: TickBatch = {
      length: 0,
      time: new Float64Array(size),
      bid: new Float64Array(size),
      ask: new Float64Array(size),
      market: new Int32Array(size),
    };
    const readers = this.parts.map((part, i) =>
      part.file.blocks({
        from,
        to,
        marketMap: part.marketMap,
        onBytes: (bytes) => {
          done[i] = bytes;
          this.options.onProgress?.(
            done.reduce((a, b) => a + b, 0),
            total,
          );
        },
      }),
    );
    const heads = readers.map((r) => {
      const next = r.next();
      return next.done === true ? undefined : next.value;
    });
    const pos = heads.map(() => 0);
    try {
      let k = 0;
      for (;;) {
        // The file whose next tick comes first (ties: the file given first).
        let best = -1;
        let bestTime = Infinity;
        for (let f = 0; f < heads.length; f++) {
          const b = heads[f];
          if (b === undefined) continue;
          const t = b.time[pos[f]!]!;
          if (best < 0 || t < bestTime) {
            best = f;
            bestTime = t;
          }
        }
        if (best < 0) break;
        // Its run goes on while it stays ahead of every other file's head.
        let limit = Infinity;
        let limitFile = Infinity;
        for (let f = 0; f < heads.length; f++) {
          const b = heads[f];
          if (f === best || b === undefined) continue;
          const t = b.time[pos[f]!]!;
          if (t < limit || (t === limit && f < limitFile)) {
            limit = t;
            limitFile = f;
          }
        }
        const b = heads[best]!;
        let p = pos[best]!;
        while (p < b.count && k < size) {
          const t = b.time[p]!;
          if (t > limit || (t === limit && best > limitFile)) break;
          if (t >= from && t < to) {
            const m = b.market[p]!;
            if (m < 0) {
              this.ignored++;
            } else {
              out.time[k] = t;
              out.bid[k] = b.bid[p]!;
              out.ask[k] = b.ask[p]!;
              out.market[k] = m;
              k++;
            }
          }
          p++;
        }
        pos[best] = p;
        if (p >= b.count) {
          // Copy nothing more out of this block: the reader reuses its columns for the next one.
          const next = readers[best]!.next();
          heads[best] = next.done === true ? undefined : next.value;
          pos[best] = 0;
        }
        if (k >= size) {
          out.length = k;
          this.accepted += k;
          yield out;
          out.length = 0;
          k = 0;
        }
      }
      if (k > 0) {
        out.length = k;
        this.accepted += k;
        yield out;
        out.length = 0;
      }
    } finally {
      for (const r of readers) r.return(undefined);
      this.close();
    }
  }
}
