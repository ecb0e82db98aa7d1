import { createWriteStream, existsSync, statSync, type WriteStream } from 'node:fs';
import type { Tick } from '../../domain/types.js';

/** `live --record FILE`: every tick received, in the standard tick format, so it can be backtested. */
export class TickRecorder {
  private readonly out: WriteStream;

  constructor(readonly path: string) {
    const isNew = !existsSync(path) || statSync(path).size === 0;
    this.out = createWriteStream(path, { flags: 'a' });
    if (isNew) this.out.write('time,market,bid,ask\n');
  }

  record(tick: Tick): void {
    this.out.write(`${new Date(tick.time).toISOString()},${tick.market},${tick.bid},${tick.ask}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}
