/**
 * Deterministic standard-format tick files for the bench: one DAX-like market, a seeded random
 * walk with trend regimes (so EMA crosses, trailing exits and ladder rungs all happen), ticks
 * 50–450 ms apart. The same seed and count always give the same bytes.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export const BENCH_MARKET = 'IX.D.DAX.DAILY.IP';
const START = Date.parse('2024-01-02T00:00:00.000Z');

/** xorshift32 in [0, 1): fast, deterministic, good enough for a price walk. */
export function xorshift32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

/** Writes `count` ticks to `path` unless a file of the same name already exists (the cache). */
export async function ensureTickFile(
  path: string,
  count: number,
  seed = 20240102,
): Promise<{ path: string; bytes: number; generated: boolean }> {
  if (existsSync(path)) return { path, bytes: statSync(path).size, generated: false };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
  const rand = xorshift32(seed);
  let t = START;
  let mid10 = 179000; // price in tenths
  let drift = 0;
  let second = -1;
  let prefix = '';
  let chunk: string[] = ['time,market,bid,ask'];
  const flush = async (): Promise<void> => {
    const text = `${chunk.join('\n')}\n`;
    chunk = [];
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  const tenths = (n: number): string => `${Math.floor(n / 10)}.${n % 10}`;
  for (let i = 0; i < count; i++) {
    t += 50 + Math.floor(rand() * 400);
    if (rand() < 0.0005) drift = (rand() - 0.5) * 0.8;
    mid10 += Math.round(drift + (rand() - 0.5) * 6);
    if (mid10 < 50000) mid10 = 50000;
    const spread = 10 + Math.floor(rand() * 3) * 2;
    const bid = mid10 - (spread >> 1);
    const ask = bid + spread;
    const s = Math.floor(t / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 20);
    }
    const ms = t - s * 1000;
    chunk.push(`${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z,${BENCH_MARKET},${tenths(bid)},${tenths(ask)}`);
    if (chunk.length >= 20000) await flush();
  }
  await flush();
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  renameSync(tmp, path);
  return { path, bytes: statSync(path).size, generated: true };
}
