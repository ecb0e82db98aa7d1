import type { JournalRow } from '../domain/types.js';

/** Append-only trade journal (SPEC §6.2). */
export interface Journal {
  append(rows: readonly JournalRow[]): void;
  /** Flushes buffered rows to disk. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
