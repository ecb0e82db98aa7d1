import { existsSync } from 'node:fs';

import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { createProgress } from '../cli/progress.js';
import { renderBacktest } from '../cli/render.js';
import { parseTimeWindow } from '../cli/time-flag.js';
import { removeRunTempFiles, runBacktest, type BacktestResult } from '../core/services/backtest.js';
import { RANK_METRICS, runSweep, sweepTable, type RankMetric, type SweepResult } from '../core/services/sweep.js';

export default class Backtest extends BaseCommand {
  static override summary = 'Replay recorded ticks through the engine and write trade_history.csv and summary.json.';
  static override description = `Runs the same engine as \`live\` on tick files, with a simulated broker that fills stops, limits and closes as SPEC.md §3 says. Several files are merged by time. Rows that are malformed, crossed, non-positive or out of order are skipped and counted (--strict stops at the first). The journal is written only when the run succeeds.`;
  static override examples = [
    '<%= config.bin %> backtest fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv --config fixtures/configs/demo.yaml --out out/demo',
    '<%= config.bin %> backtest ticks/*.csv.gz --from 2024-03-01 --to 2024-04-01 --market IX.D.DAX.DAILY.IP',
    '<%= config.bin %> backtest EURUSD-2024-01.csv --format histdata --market CS.D.EURUSD.MINI.IP --json',
    '<%= config.bin %> backtest dax.tgt --sweep exits.trailing.distance=5..20:5 --sweep entry.fast=5,9,12 --rank profit-factor --out sweeps/dax',
    "<%= config.bin %> backtest dax.tgt --sweep 'markets[IX.D.DAX.DAILY.IP].exits.trailing.activateAt=15,25' --jobs 2",
  ];
  static override strict = false;
  static override args = {
    ticks: Args.string({
      description: 'tick files (CSV, .gz, or tick caches made by `ticks import`); several are merged by time',
      required: true,
    }),
  };
  static override flags = {
    out: Flags.string({
      char: 'o',
      description: 'directory for trade_history.csv and summary.json',
      default: './backtest-out',
    }),
    from: Flags.string({ description: 'first tick time, inclusive (ISO-8601 or epoch ms)' }),
    to: Flags.string({ description: 'last tick time, exclusive (ISO-8601 or epoch ms)' }),
    market: Flags.string({
      char: 'm',
      description: 'only these markets (repeatable); names the market of files without a market column',
      multiple: true,
    }),
    format: Flags.string({
      description: 'tick file format',
      options: ['standard', 'histdata', 'dukascopy'],
      default: 'standard',
    }),
    strict: Flags.boolean({
      description: 'stop at the first bad tick row (exit 2) instead of skipping it',
      default: false,
    }),
    timezone: Flags.string({ description: 'IANA zone of ISO times written without a zone (default UTC)' }),
    sweep: Flags.string({
      description: `run a parameter grid, PATH=VALUES (repeatable; every combination is a backtest in --out/<#>/, ranked in --out/sweep.csv).
PATH relative to every market: exits.trailing.distance, entry.fast, stopStep; one market: markets[IX.D.DAX.DAILY.IP].entry.fast (or markets.IX.D.DAX.DAILY.IP.entry.fast); a strategy: strategies[NAME].guard.maxDrawdown. Setting a key of an absent block switches the block on.
VALUES: a range FROM..TO[:STEP] (5..20:5 = 5,10,15,20) or a list 5,9,12 (numbers, true, false, null or text such as 1m).`,
      multiple: true,
    }),
    jobs: Flags.integer({
      description:
        'worker threads for --sweep (default: one per core); each reads the ticks once for up to 16 combinations at a time',
      min: 1,
    }),
    'reader-thread': Flags.boolean({
      description:
        'read the ticks on a thread of their own, in parallel with the engine (default: with two cores or more, for text files over 16 MB); --no-reader-thread saves about 10 MB of memory',
      allowNo: true,
    }),
    rank: Flags.string({
      description: 'how --sweep ranks the combinations (max-drawdown: smallest first)',
      options: [...RANK_METRICS],
      default: 'net',
    }),
  };

  async run(): Promise<BacktestResult | SweepResult> {
    const { argv, flags } = await this.parse(Backtest);
    // Ctrl-C or a kill: what the run was writing goes, an earlier run's files stay (decisions 15).
    const madeOutDir = !existsSync(flags.out);
    const interrupted = (signal: 'SIGINT' | 'SIGTERM') => {
      removeRunTempFiles(flags.out, { madeOutDir });
      process.stderr.write(`\ninterrupted (${signal}): the files this run was writing are removed\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    const run = {
      configPath: flags.config,
      tickFiles: argv as string[],
      outDir: flags.out,
      ...parseTimeWindow(flags.from, flags.to, flags.timezone),
      markets: flags.market,
      format: flags.format as 'standard' | 'histdata' | 'dukascopy',
      strict: flags.strict,
      timezone: flags.timezone,
    };
    if (flags.sweep !== undefined && flags.sweep.length > 0) {
      const progress = createProgress(!this.jsonEnabled(), 'combinations');
      try {
        const result = await runSweep({
          ...run,
          sweeps: flags.sweep,
          jobs: flags.jobs,
          rank: flags.rank as RankMetric,
          onProgress: progress.update,
        });
        progress.stop();
        if (!this.jsonEnabled()) this.log(sweepTable(result));
        return result;
      } finally {
        progress.stop();
      }
    }
    if (flags.jobs !== undefined || flags.rank !== 'net')
      this.warn('--jobs and --rank apply to --sweep only: this is a single backtest');
    const progress = createProgress(!this.jsonEnabled());
    try {
      const result = await runBacktest({ ...run, readerThread: flags['reader-thread'], onProgress: progress.update });
      progress.stop();
      if (!this.jsonEnabled()) this.log(renderBacktest(result));
      return result;
    } finally {
      progress.stop();
    }
  }
}
