import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** trailguard's executable. */
export const BIN = join(resolve(import.meta.dirname, '..'), 'bin/run.js');

/** The Node flags of bin/run.js's first line: what every `trailguard` process runs with. */
export function binFlags(): string[] {
  const shebang = readFileSync(BIN, 'utf8').split('\n')[0] ?? '';
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}
