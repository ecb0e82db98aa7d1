/**
 * A sweep worker thread: runs the combinations the main thread sends, one at a time, each through
 * the real `runBacktest` on its own stream of the tick files, and sends back the result.
 */
import { parentPort } from 'node:worker_threads';

import { InvariantError, UserError } from '../domain/errors.js';
import { runBacktest } from './backtest.js';
import type { SweepReply, SweepTask } from './sweep.js';

const port = parentPort;
if (port === null) throw new InvariantError('sweep-worker must run in a worker thread');

port.on('message', (task: SweepTask) => {
  runBacktest(task.options).then(
    (result) => port.postMessage({ index: task.index, result } satisfies SweepReply),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({
        index: task.index,
        error: { name: e.name, message: e.message, hint: e instanceof UserError ? e.hint : undefined, stack: e.stack },
      } satisfies SweepReply);
    },
  );
});
