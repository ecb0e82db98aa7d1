import cliProgress from 'cli-progress';

export interface Progress {
  update: ((done: number, total: number) => void) | undefined;
  stop(): void;
}

/**
 * A progress bar on stderr, only when stderr is a terminal and output is for people. `bytes`:
 * updates count bytes, shown in MB; `combinations`: a sweep's finished combinations (fractional).
 */
export function createProgress(enabled: boolean, unit: 'bytes' | 'combinations' = 'bytes'): Progress {
  if (!enabled || !process.stderr.isTTY) return { update: undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: ` {bar} {percentage}% | {value}/{total} ${unit === 'bytes' ? 'MB' : 'combinations'} | eta {eta}s`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  return {
    update(done, total) {
      const show = unit === 'bytes' ? (n: number) => Math.round(n / 1e5) / 10 : (n: number) => Math.floor(n * 10) / 10;
      if (!started) {
        bar.start(show(total), 0);
        started = true;
      }
      bar.update(show(done));
    },
    stop() {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}
