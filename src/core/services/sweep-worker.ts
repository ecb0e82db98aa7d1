/**
 * A sweep worker thread: runs the combinations the main thread sends, a pass at a time, through the
 * real backtest (`runBacktests`: one stream of the tick files for the pass, every combination with
 * its own engine and journal), and sends back the results.
 */
import { parentPort } from 'node:worker_threads';

import { InvariantError, UserError } from '../domain/errors.js';
import { runBacktests } from './backtest.js';
import type { SweepReply, SweepTask } from './sweep.js';

const port = parentPort;
if (port === null) throw new InvariantError('sweep-worker must run in a worker thread');

port.on('message', (task: SweepTask) => {
  const { indices } = task;
  // Progress of the pass, as the share of its ticks read (the reader calls this per chunk or block).
  const onProgress = (read: number, total: number) =>
    port.postMessage({ indices, read: total > 0 ? read / total : 1 } satisfies SweepReply);
  const options = task.options.map((o, k) => (k === 0 ? { ...o, onProgress } : o));
  runBacktests(options).then(
    (results) => port.postMessage({ indices, results } satisfies SweepReply),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({
        indices,
        error: { name: e.name, message: e.message, hint: e instanceof UserError ? e.hint : undefined, stack: e.stack },
      } satisfies SweepReply);
    },
  );
});
