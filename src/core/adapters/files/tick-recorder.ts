import { createWriteStream, fstatSync, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../../domain/errors.js';
import type { Tick } from '../../domain/types.js';

/**
 * `live --record FILE`: every tick received, in the standard tick format, so it can be backtested.
 * The file is opened at once, so a path that cannot be written is bad input before live starts;
 * a write that fails later (a full disk) ends the recording, reported once through `onError`,
 * and never the live session: the positions matter more than the recording.
 */
export class TickRecorder {
  private readonly out: WriteStream;
  private failed = false;

  constructor(
    readonly path: string,
    onError: (error: Error) => void,
  ) {
    let fd: number;
    try {
      // Its folder is made if missing, as the journal's is (`--record ticks/$(date +%F).csv`).
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(path, 'a', 0o644);
    } catch (error) {
      throw new UserError(
        `cannot write the --record file ${path}: ${(error as Error).message}`,
        'check that the directory exists and is writable',
      );
    }
    const isNew = fstatSync(fd).size === 0;
    this.out = createWriteStream(path, { fd });
    this.out.on('error', (error) => {
      if (this.failed) return;
      this.failed = true;
      onError(error);
    });
    if (isNew) this.out.write('time,market,bid,ask\n');
  }

  record(tick: Tick): void {
    if (!this.failed) this.out.write(`${new Date(tick.time).toISOString()},${tick.market},${tick.bid},${tick.ask}\n`);
  }

  /** Flushes and closes the file; a recording that failed is only let go (its error was reported). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.failed || this.out.destroyed) {
        this.out.destroy();
        resolve();
      } else this.out.end(() => resolve());
    });
  }
}
