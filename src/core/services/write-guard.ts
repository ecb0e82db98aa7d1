import { WriteFailed } from '../domain/errors.js';
import type { Journal } from '../ports/journal.js';

/**
 * Live's journal and state writes, watched. The first that fails (a full disk, a lost mount) stops
 * live at once, as a crash at that point would, instead of letting it go on with a journal or state
 * that misses what the engine did (a lost EXIT row, a stop IG holds and the state does not): from
 * then on every write fails, so no row is written out of order and no state contradicts the
 * journal. The restart recovers the rest from IG, the journal and the last state written, as after
 * a crash (SPEC §6.3; the random crash test kills live at such points).
 */
export class WriteGuard {
  failure: Error | undefined;

  constructor(private readonly onFailure: (error: Error) => void) {}

  /** Runs `write`; throws its failure (the first one, then at every later call) instead. */
  write(what: string, write: () => void): void {
    if (this.failure !== undefined) throw this.failure;
    try {
      write();
    } catch (error) {
      this.failure = new WriteFailed(
        `cannot write ${what}: ${(error as Error).message}`,
        (error as NodeJS.ErrnoException).code ?? 'WRITE_FAILED',
      );
      this.onFailure(this.failure);
      throw this.failure;
    }
  }

  /** Runs `work` (a tick, an event), which a write failure ends: the failure is being handled, anything else is thrown. */
  run(work: () => void): void {
    try {
      work();
    } catch (error) {
      if (error !== this.failure || this.failure === undefined) throw error;
    }
  }

  /** `inner`, with its appends watched. */
  journal(inner: Journal, path: string): Journal {
    return {
      append: (rows) => this.write(`the journal ${path}`, () => inner.append(rows)),
      flush: () => inner.flush(),
      close: () => inner.close(),
    };
  }
}
