import type { Log } from '../core/services/ig-connect.js';

/** Log lines go to stderr (stdout is for results and --json), with the wall-clock time. */
export function stderrLog(options: { verbose: boolean }): Log {
  return (level, message) => {
    if (level === 'debug' && !options.verbose) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
  };
}

export const systemClock = { now: () => Date.now() };
