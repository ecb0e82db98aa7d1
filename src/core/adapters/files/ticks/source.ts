import { stat } from 'node:fs/promises';
import { InvariantError, UserError } from '../../../domain/errors.js';
import type { ReadStats, SkippedRow, TickBatch, TickSource } from '../../../ports/market-data.js';
import { fileError, readChunks } from './chunks.js';
import type { TickFormat } from './columns.js';
import { readWithCsvParse } from './csv-reader.js';
import { readFast } from './fast-reader.js';
import { FileSink, type FileBatch, type SkipCounters } from './file-sink.js';
import type { MarketRegistry } from './markets.js';
import type { ZoneResolver } from './zone.js';

export interface SourceSettings {
  files: readonly string[];
  format: TickFormat;
  engine: 'fast' | 'csv';
  registry: MarketRegistry;
  /** Internal id of the default market, or -1. */
  defaultMarket: number;
  zone: ZoneResolver | undefined;
  strict: boolean;
  from: number;
  to: number;
  maxReported: number;
  batchSize: number;
  onProgress: ((bytesRead: number, totalBytes: number) => void) | undefined;
  chunkSize: number;
  timeOrder: 'as-read' | 'check' | 'sorted';
}

/**
 * Tick files as one time-ordered stream. Each file is read and checked on its own (order is
 * checked per file, SPEC §9) and filtered (time window, configured markets) by its FileSink; the
 * files are then merged by time, ties going to the file given first, then to the earlier line.
 * Head to head, which is that order when every file is in time order; in `check` order a file that
 * goes back in time from one market to another throws TicksNotInTimeOrder, and in `sorted` order
 * every tick is read first and then sorted (SPEC §6.1, docs/decisions.md 36).
 */
export class FileTickSource implements TickSource {
  private readonly counters: SkipCounters = {
    skipped: { malformed: 0, crossed: 0, nonPositive: 0, outOfOrder: 0 },
    ignored: 0,
  };
  private accepted = 0;
  private sinks: FileSink[] = [];
  private started = false;

  constructor(private readonly settings: SourceSettings) {}

  get markets(): readonly string[] {
    return this.settings.registry.publicNames;
  }

  stats(): ReadStats {
    const firstSkipped: SkippedRow[] = [];
    for (const sink of this.sinks) {
      for (const row of sink.reported) {
        if (firstSkipped.length >= this.settings.maxReported) break;
        firstSkipped.push({ ...row });
      }
    }
    return {
      accepted: this.accepted,
      skipped: { ...this.counters.skipped },
      ignored: this.counters.ignored,
      firstSkipped,
    };
  }

  batches(): AsyncIterable<TickBatch> {
    if (this.started) throw new InvariantError('a tick source can be read only once');
    this.started = true;
    return this.read();
  }

  private async *read(): AsyncGenerator<TickBatch, void, undefined> {
    const { settings } = this;
    const totalBytes = await this.totalBytes();
    let bytesRead = 0;
    const onBytes = (n: number): void => {
      bytesRead += n;
      settings.onProgress?.(bytesRead, totalBytes);
    };
    this.sinks = settings.files.map(
      (file) =>
        new FileSink({
          file,
          format: settings.format,
          strict: settings.strict,
          maxReported: settings.maxReported,
          capacity: settings.batchSize,
          registry: settings.registry,
          counters: this.counters,
          defaultMarket: settings.defaultMarket,
          zone: settings.zone,
          from: settings.from,
          to: settings.to,
          checkTimeOrder: settings.timeOrder === 'check',
        }),
    );
    const readers = this.sinks.map((sink) => this.readFile(sink, onBytes)[Symbol.asyncIterator]());
    try {
      if (settings.timeOrder === 'sorted') {
        yield* this.sorted(readers);
      } else if (readers.length === 1) {
        yield* this.single(readers[0]!);
      } else {
        yield* this.merge(readers);
      }
    } finally {
      await Promise.allSettled(readers.map((reader) => reader.return?.(undefined)));
    }
  }

  private readFile(sink: FileSink, onBytes: (n: number) => void): AsyncGenerator<FileBatch, void, undefined> {
    const reader = this.fileReader(sink, onBytes);
    return this.settings.strict ? strictInReplayOrder(reader, sink) : reader;
  }

  private fileReader(sink: FileSink, onBytes: (n: number) => void): AsyncGenerator<FileBatch, void, undefined> {
    const { settings } = this;
    const chunks = readChunks(sink.file, onBytes, settings.chunkSize);
    const hasDefaultMarket = settings.defaultMarket >= 0;
    if (settings.format === 'standard' && settings.engine === 'fast') {
      return readFast({ file: sink.file, sink, chunks, hasDefaultMarket });
    }
    return readWithCsvParse({
      file: sink.file,
      format: settings.format,
      sink,
      chunks,
      hasDefaultMarket,
      lineOffset: 0,
      headerDone: false,
      atFileStart: true,
    });
  }

  private async totalBytes(): Promise<number> {
    let total = 0;
    for (const file of this.settings.files) {
      try {
        const info = await stat(file);
        if (info.isDirectory()) throw new UserError(`${file} is a directory, not a tick file`);
        total += info.size;
      } catch (error) {
        throw fileError(file, error);
      }
    }
    return total;
  }

  /** One file: its batches are delivered as they are (already filtered), without a copy. */
  private async *single(reader: AsyncIterator<FileBatch>): AsyncGenerator<TickBatch, void, undefined> {
    for (;;) {
      const next = await reader.next();
      if (next.done === true) return;
      this.accepted += next.value.length;
      yield next.value;
    }
  }

  /**
   * Every tick of every file, the files in order and each in line order, then sorted by time with
   * ties in that order: (time, file, line), SPEC §6.1 and §9 (docs/decisions.md 36). All of it is
   * held in memory, so only a read that found a file out of time order comes here.
   */
  private async *sorted(readers: AsyncIterator<FileBatch>[]): AsyncGenerator<TickBatch, void, undefined> {
    let n = 0;
    let all = newColumns(4096);
    for (const reader of readers) {
      for (;;) {
        const next = await reader.next();
        if (next.done === true) break;
        const b = next.value;
        if (n + b.length > all.time.length) {
          const grown = newColumns(Math.max(2 * all.time.length, n + b.length));
          copyColumns(all, 0, grown, 0, n);
          all = grown;
        }
        copyColumns(b, 0, all, n, b.length); // the reader reuses its batch
        n += b.length;
      }
    }
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const time = all.time;
    order.sort((a, b) => time[a]! - time[b]! || a - b);
    const { batchSize } = this.settings;
    const out: TickBatch = { length: 0, ...newColumns(batchSize) };
    for (let start = 0; start < n; start += batchSize) {
      const k = Math.min(batchSize, n - start);
      for (let j = 0; j < k; j++) {
        const i = order[start + j]!;
        out.time[j] = all.time[i]!;
        out.bid[j] = all.bid[i]!;
        out.ask[j] = all.ask[i]!;
        out.market[j] = all.market[i]!;
      }
      out.length = k;
      this.accepted += k;
      yield out;
    }
    out.length = 0;
  }

  /** k-way merge on (time, file index); runs from one file are copied without re-heaping per tick. */
  private async *merge(readers: AsyncIterator<FileBatch>[]): AsyncGenerator<TickBatch, void, undefined> {
    const { batchSize } = this.settings;
    const out: TickBatch = {
      length: 0,
      time: new Float64Array(batchSize),
      bid: new Float64Array(batchSize),
      ask: new Float64Array(batchSize),
      market: new Int32Array(batchSize),
    };
    const current: (FileBatch | undefined)[] = [];
    const pos: number[] = [];
    const heap: number[] = [];
    const head = (i: number): number => current[i]!.time[pos[i]!]!;
    const before = (a: number, b: number): boolean => {
      const ta = head(a);
      const tb = head(b);
      return ta < tb || (ta === tb && a < b);
    };
    const siftDown = (start: number): void => {
      let i = start;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < heap.length && before(heap[l]!, heap[best]!)) best = l;
        if (r < heap.length && before(heap[r]!, heap[best]!)) best = r;
        if (best === i) return;
        const tmp = heap[i]!;
        heap[i] = heap[best]!;
        heap[best] = tmp;
        i = best;
      }
    };
    const siftUp = (start: number): void => {
      let i = start;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!before(heap[i]!, heap[parent]!)) return;
        const tmp = heap[i]!;
        heap[i] = heap[parent]!;
        heap[parent] = tmp;
        i = parent;
      }
    };

    for (let i = 0; i < readers.length; i++) {
      const next = await readers[i]!.next();
      current.push(next.done === true ? undefined : next.value);
      pos.push(0);
      if (next.done !== true && next.value.length > 0) {
        heap.push(i);
        siftUp(heap.length - 1);
      }
    }

    let k = 0;
    while (heap.length > 0) {
      const i = heap[0]!;
      const b = current[i]!;
      // The run from file i may go on while it stays ahead of the best other file's head.
      let limitTime = Infinity;
      let limitFile = Infinity;
      for (const c of [1, 2]) {
        if (c < heap.length) {
          const j = heap[c]!;
          const t = head(j);
          if (t < limitTime || (t === limitTime && j < limitFile)) {
            limitTime = t;
            limitFile = j;
          }
        }
      }
      let p = pos[i]!;
      const n = b.length;
      while (p < n && k < batchSize) {
        const t = b.time[p]!;
        if (t > limitTime || (t === limitTime && i > limitFile)) break;
        out.time[k] = t;
        out.bid[k] = b.bid[p]!;
        out.ask[k] = b.ask[p]!;
        out.market[k] = b.market[p]!;
        k++;
        p++;
      }
      pos[i] = p;
      if (p >= n) {
        const next = await readers[i]!.next();
        if (next.done === true || next.value.length === 0) {
          current[i] = undefined;
          const last = heap.pop()!;
          if (heap.length > 0) {
            heap[0] = last;
            siftDown(0);
          }
        } else {
          current[i] = next.value;
          pos[i] = 0;
          siftDown(0);
        }
      } else {
        siftDown(0);
      }
      if (k >= batchSize) {
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
  }
}

/** A batch's columns without its length. */
type Columns = Omit<TickBatch, 'length'>;

function newColumns(capacity: number): Columns {
  return {
    time: new Float64Array(capacity),
    bid: new Float64Array(capacity),
    ask: new Float64Array(capacity),
    market: new Int32Array(capacity),
  };
}

function copyColumns(from: Columns, at: number, to: Columns, toAt: number, length: number): void {
  to.time.set(from.time.subarray(at, at + length), toAt);
  to.bid.set(from.bid.subarray(at, at + length), toAt);
  to.ask.set(from.ask.subarray(at, at + length), toAt);
  to.market.set(from.market.subarray(at, at + length), toAt);
}

/**
 * `--strict` over several files: a file's reader meets a bad row while the merge reads ahead (a
 * batch of every file first). Its error waits until the merge has taken the good rows before it
 * and asks the file for more, so the run stops at the first bad row in replay order (time, then
 * file), as a cache of the same files does, not at whichever file's read-ahead met one first.
 */
async function* strictInReplayOrder(
  reader: AsyncGenerator<FileBatch, void, undefined>,
  sink: FileBatch,
): AsyncGenerator<FileBatch, void, undefined> {
  try {
    yield* reader;
  } catch (error) {
    // The rows the reader took before the bad one are still in its sink.
    if (error instanceof UserError && sink.length > 0) yield sink;
    throw error;
  }
}
