/**
 * The tick-reader thread of a backtest (./source.ts): reads and checks the tick files with the
 * very sources the main thread would use (text or cache), and sends their batches over.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { InvariantError, UserError } from '../../../domain/errors.js';
import { openAnyTickSource } from '../tick-cache/index.js';
import type { TickSource } from '../../../ports/market-data.js';
import { BYTES_PER_TICK, columnsOf, type BufferReturn, type ReaderInit, type ReaderMessage } from './protocol.js';

const port = parentPort;
if (port === null) throw new InvariantError('the tick reader must run in a worker thread');
const { options, capacity, pool } = workerData as ReaderInit;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const free: SharedArrayBuffer[] = [];
let allocated = 0;
let wake: (() => void) | undefined;
port.on('message', (message: BufferReturn) => {
  free.push(message.buffer);
  wake?.();
  wake = undefined;
});

async function take(): Promise<SharedArrayBuffer> {
  for (;;) {
    const buffer = free.pop();
    if (buffer !== undefined) return buffer;
    if (allocated < pool) {
      allocated++;
      return new SharedArrayBuffer(BYTES_PER_TICK * capacity);
    }
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

let source: TickSource | undefined;
let sentMarkets = 0;

function post(message: DistributiveOmit<ReaderMessage, 'markets'>): void {
  const markets = source === undefined ? [] : source.markets.slice(sentMarkets);
  sentMarkets += markets.length;
  port!.postMessage({ ...message, markets });
}

async function run(): Promise<void> {
  let bytesRead = 0;
  let totalBytes = 0;
  const opened = openAnyTickSource({
    ...options,
    onProgress: (read, total) => {
      bytesRead = read;
      totalBytes = total;
    },
  });
  source = opened;
  let buffer: SharedArrayBuffer | undefined;
  let out: ReturnType<typeof columnsOf> | undefined;
  let k = 0;
  const send = (): void => {
    post({ type: 'batch', length: k, buffer: buffer!, bytesRead, totalBytes });
    buffer = undefined;
    out = undefined;
    k = 0;
  };
  try {
    for await (const batch of opened.batches()) {
      let i = 0;
      while (i < batch.length) {
        if (buffer === undefined) {
          buffer = await take();
          out = columnsOf(buffer, capacity);
        }
        const n = Math.min(batch.length - i, capacity - k);
        out!.time.set(batch.time.subarray(i, i + n), k);
        out!.bid.set(batch.bid.subarray(i, i + n), k);
        out!.ask.set(batch.ask.subarray(i, i + n), k);
        out!.market.set(batch.market.subarray(i, i + n), k);
        k += n;
        i += n;
        if (k === capacity) send();
      }
    }
  } finally {
    // An input error reaches the consumer after every tick read before it (as in one thread).
    if (k > 0) send();
  }
  post({ type: 'end', stats: opened.stats() });
}

run().catch((error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  post({
    type: 'error',
    error: { name: e.name, message: e.message, hint: e instanceof UserError ? e.hint : undefined, stack: e.stack },
  });
});
