import { describe, expect, it } from 'vitest';
import type { JournalRow } from '../../../src/core/domain/types.js';
import { WriteFailed } from '../../../src/core/domain/errors.js';
import { WriteGuard } from '../../../src/core/services/write-guard.js';

const diskFull = () => {
  throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
};

describe('WriteGuard: the first failed write stops every later one (live, a full disk)', () => {
  it('reports the first failure once, naming what was written, and fails every later write without running it', () => {
    const reported: string[] = [];
    const guard = new WriteGuard((error) => reported.push(error.message));
    let writes = 0;
    guard.write('the journal j.csv', () => writes++);
    expect(() => guard.write('the journal j.csv', diskFull)).toThrow(
      'cannot write the journal j.csv: ENOSPC: no space left on device, write',
    );
    expect(() => guard.write('the state in s/', () => writes++)).toThrow(guard.failure);
    expect(writes, 'the write after the failure never ran').toBe(1);
    expect(reported).toEqual(['cannot write the journal j.csv: ENOSPC: no space left on device, write']);
    // What the command's error document says (exit 1, the system's code), as for every other failure.
    expect(guard.failure).toBeInstanceOf(WriteFailed);
    expect(guard.failure).toMatchObject({ code: 'ENOSPC', exitCode: 1 });
  });

  it('run() ends a tick or event on the write failure, which is being handled; any other error goes on', () => {
    const guard = new WriteGuard(() => undefined);
    expect(() => guard.run(() => guard.write('the journal', diskFull))).not.toThrow();
    expect(() =>
      guard.run(() => {
        throw new RangeError('a bug');
      }),
    ).toThrow('a bug');
  });

  it('journal(): appends go through the guard; flush and close are the journal’s own', async () => {
    const appended: (readonly JournalRow[])[] = [];
    let closed = false;
    const guard = new WriteGuard(() => undefined);
    const journal = guard.journal(
      {
        append: (rows) => appended.push(rows),
        flush: () => Promise.resolve(),
        close: () => {
          closed = true;
          return Promise.resolve();
        },
      },
      'j.csv',
    );
    journal.append([]);
    guard.failure = new Error('earlier');
    expect(() => journal.append([])).toThrow('earlier');
    await journal.close();
    expect(appended).toHaveLength(1);
    expect(closed).toBe(true);
  });
});
