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
  runBacktests(task.options).then(
    (results) => port.postMessage({ indices: task.indices, results } satisfies SweepReply),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({
        indices: task.indices,
        error: { name: e.name, message: e.message, hint: e instanceof UserError ? e.hint : undefined, stack: e.stack },
      } satisfies SweepReply);
    },
  );
});
