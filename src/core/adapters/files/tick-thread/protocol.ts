import type { ReadStats } from '../../../ports/market-data.js';
import type { TickReadOptions } from '../ticks/index.js';

/**
 * Messages between the backtest's main thread and its tick-reader thread (./source.ts).
 *
 * A batch travels in a SharedArrayBuffer of `capacity` ticks, the columns one after the other:
 * time (float64), bid (float64), ask (float64), market (int32). The main thread hands each buffer
 * back once the engine is done with it; the reader allocates at most `pool` of them, so memory
 * stays flat whatever the file size and whichever side is faster. The message port's queue orders
 * the reader's writes to a buffer before the engine's reads of it, and those before the reader's
 * next writes.
 *
 * Shared, not transferred: transferring an ArrayBuffer detaches it, and the first detach in a
 * process turns off V8's assumption that no typed array is ever detached, after which every typed
 * array access in both threads checks for it (the reader's parser, the engine's run loop). A
 * typed-array loop measured ~1.8 → ~2.9 ns per element after one detach anywhere in the process,
 * and a 1M-tick text backtest with this thread 5.59 → 5.30 billion instructions (callgrind); its
 * wall time on the bench's VM is the same within noise.
 */
export interface ReaderInit {
  options: Omit<TickReadOptions, 'onProgress'>;
  capacity: number;
  pool: number;
}

export const BYTES_PER_TICK = 8 + 8 + 8 + 4;

/** Every message carries the market names the source added since the previous one, in index order. */
export type ReaderMessage = { markets: string[] } & (
  | { type: 'batch'; length: number; buffer: SharedArrayBuffer; bytesRead: number; totalBytes: number }
  | { type: 'end'; stats: ReadStats }
  | { type: 'error'; error: { name: string; message: string; hint?: string | undefined; stack?: string | undefined } }
);

/** Main thread → reader: a buffer the engine is done with. */
export interface BufferReturn {
  buffer: SharedArrayBuffer;
}

/** The columns of a batch buffer (views, no copy). */
export function columnsOf(buffer: SharedArrayBuffer, capacity: number) {
  return {
    time: new Float64Array(buffer, 0, capacity),
    bid: new Float64Array(buffer, 8 * capacity, capacity),
    ask: new Float64Array(buffer, 16 * capacity, capacity),
    market: new Int32Array(buffer, 24 * capacity, capacity),
  };
}
