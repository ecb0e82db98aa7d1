/** Test helpers for the tick readers: read a whole source into plain objects, write temp files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

import { openTickSource, type TickReadOptions } from '../../../../../src/core/adapters/files/ticks/index.js';
import type { ReadStats } from '../../../../../src/core/ports/market-data.js';

export const FIXTURES = resolve(import.meta.dirname, '../../../../../fixtures/ticks');

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

export interface PlainTick {
  time: string;
  market: string;
  bid: number;
  ask: number;
}

export interface ReadResult {
  ticks: PlainTick[];
  stats: ReadStats;
  batches: number;
}

/** Reads every batch (copying it: batches are reused) and returns ticks with ISO times. */
export async function readAll(options: Partial<TickReadOptions> & Pick<TickReadOptions, 'files'>): Promise<ReadResult> {
  const source = openTickSource({ format: 'standard', strict: false, ...options });
  const ticks: PlainTick[] = [];
  let batches = 0;
  for await (const batch of source.batches()) {
    batches++;
    for (let i = 0; i < batch.length; i++) {
      ticks.push({
        time: new Date(batch.time[i]!).toISOString(),
        market: source.markets[batch.market[i]!]!,
        bid: batch.bid[i]!,
        ask: batch.ask[i]!,
      });
    }
  }
  return { ticks, stats: source.stats(), batches };
}

/** The error a read throws (the test fails if it does not throw). */
export async function readError(options: Partial<TickReadOptions> & Pick<TickReadOptions, 'files'>): Promise<Error> {
  try {
    await readAll(options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the read to fail');
}

export class TempDir {
  path = '';
  async create(): Promise<void> {
    this.path = await mkdtemp(join(tmpdir(), 'trailguard-ticks-'));
  }
  async remove(): Promise<void> {
    if (this.path !== '') await rm(this.path, { recursive: true, force: true });
  }
  async write(name: string, content: string | Buffer): Promise<string> {
    const file = join(this.path, name);
    await writeFile(file, content);
    return file;
  }
  async writeGz(name: string, content: string | Buffer): Promise<string> {
    return this.write(name, gzipSync(content));
  }
}
