import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** trailguard's executable. */
export const BIN = join(resolve(import.meta.dirname, '..'), 'bin/run.js');

/** The words of bin/run.js's first line: `#!/usr/bin/env -S NAME=value … node --flag …`. */
function shebangWords(): string[] {
  const shebang = readFileSync(BIN, 'utf8').split('\n')[0] ?? '';
  return shebang.split(/\s+/);
}

/** The Node flags of bin/run.js's first line: what every `trailguard` process runs with. */
export function binFlags(): string[] {
  return shebangWords().filter((word) => word.startsWith('--'));
}

/**
 * The environment bin/run.js's first line sets before Node starts (`env -S NAME=value`), for a
 * process that runs Node on bin/run.js (or on a bench script) directly, as trailguard would run.
 */
export function binEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of shebangWords()) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}
