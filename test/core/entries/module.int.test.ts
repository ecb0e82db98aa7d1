import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/core/domain/errors.js';
import { loadEntryModule } from '../../../src/core/services/entries.js';
import { brief, DAX, harness, market } from '../../support/engine-harness.js';

const MIN = 60_000;

describe('user entry modules (SPEC §5 module)', () => {
  it.each([
    ['JavaScript', 'fixtures/entries/momentum.mjs'],
    ['TypeScript through tsx', 'fixtures/entries/momentum.ts'],
  ])('%s: the example module enters on a large candle body, reason MODULE', async (_kind, path) => {
    const entry = await loadEntryModule(path, DAX, { minBody: 8 });
    const h = harness({
      markets: [market({ entry: { kind: 'module', path, size: 1, stopPoints: 20 } })],
      entries: { [DAX]: entry },
    });
    h.tick(0, 100);
    h.tick(30_000, 110); // candle 0: 100 → 110, body 10
    h.tick(MIN, 111); // closes it: BUY at 111
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@111 stop=91 MODULE']);
  });

  it.each([
    ['a missing file', 'nope.mjs', /not found/],
    ['no createEntry export', 'export const x = 1;', /must export a function createEntry/],
    ['createEntry without onTick', 'export function createEntry() { return {}; }', /onTick/],
    ['a bad timeframe', "export function createEntry() { return { timeframe: '1w', onTick() {} }; }", /timeframe "1w"/],
  ])('%s is a clear input error', async (_why, source, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-mod-'));
    const path = join(dir, 'entry.mjs');
    if (source !== 'nope.mjs') writeFileSync(path, source);
    await expect(loadEntryModule(source === 'nope.mjs' ? join(dir, 'nope.mjs') : path, DAX, {})).rejects.toThrow(
      message,
    );
  });

  it('createEntry() that throws is an input error naming the module', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-mod-'));
    const path = join(dir, 'entry.mjs');
    writeFileSync(path, "export function createEntry() { throw new Error('boom'); }");
    const error = await loadEntryModule(path, DAX, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(`createEntry() of entry module ${path} failed: boom`);
  });

  it.each([
    ['a direction that is not BUY or SELL', "{ kind: 'open', direction: 'UP' }", /direction/],
    ['an unknown kind', "{ kind: 'flip' }", /kind/],
    ['a misspelt key', "{ kind: 'open', direction: 'BUY', stopPoint: 20 }", /stopPoint/],
    ['a size of 0', "{ kind: 'open', direction: 'SELL', size: 0 }", /size/],
    ['a negative stop', "{ kind: 'open', direction: 'SELL', stopPoints: -5 }", /stopPoints/],
    ['an exit without its deal', "{ kind: 'exit' }", /dealId/],
    ['a throw', 'undefined.x', /onTick failed on the tick of 1970-01-01T00:00:00.000Z/],
  ])(
    'an intent with %s stops the run with an input error naming the module, before any row',
    async (_why, intent, message) => {
      const dir = mkdtempSync(join(tmpdir(), 'tg-mod-'));
      const path = join(dir, 'entry.mjs');
      writeFileSync(path, `export function createEntry() { return { onTick() { return [${intent}]; } }; }`);
      const entry = await loadEntryModule(path, DAX, {});
      const h = harness({
        markets: [market({ entry: { kind: 'module', path, size: 1, stopPoints: 20 } })],
        entries: { [DAX]: entry },
      });
      let error: unknown;
      try {
        h.tick(0, 100);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toContain(`entry module ${path}`);
      expect((error as Error).message).toMatch(message);
      expect(h.journal.rows).toEqual([]);
    },
  );

  it('a valid intent of every shape passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-mod-'));
    const path = join(dir, 'entry.mjs');
    writeFileSync(
      path,
      "export function createEntry() { return { onTick() { return [{ kind: 'open', direction: 'SELL', size: 2, stopPoints: 10, limitPoints: 30, strategy: 's' }]; } }; }",
    );
    const entry = await loadEntryModule(path, DAX, {});
    const h = harness({
      markets: [market({ entry: { kind: 'module', path, size: 1, stopPoints: 20 } })],
      entries: { [DAX]: entry },
    });
    h.tick(0, 100);
    expect(brief(h.journal.rows)).toEqual(['ENTRY SELL 2@100 stop=110 MODULE']);
  });

  it('points of 0 pass, as in the configuration: the stop at the entry price', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-mod-'));
    const path = join(dir, 'entry.mjs');
    writeFileSync(
      path,
      "export function createEntry() { return { onTick() { return [{ kind: 'open', direction: 'BUY', stopPoints: 0 }]; } }; }",
    );
    const entry = await loadEntryModule(path, DAX, {});
    const h = harness({
      markets: [market({ entry: { kind: 'module', path, size: 1, stopPoints: 20 } })],
      entries: { [DAX]: entry },
    });
    h.tick(0, 100);
    expect(brief(h.journal.rows)).toEqual(['ENTRY BUY 1@100 stop=100 MODULE']);
  });
});
