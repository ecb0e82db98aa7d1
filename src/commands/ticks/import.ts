import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

import { Args, Flags } from '@oclif/core';
import { tickFilesMarket } from '../../cli/default-market.js';
import { BaseCommand } from '../../cli/base-command.js';
import { checkTimezone } from '../../cli/time-flag.js';
import { createProgress } from '../../cli/progress.js';
import { cacheTempPath } from '../../core/adapters/files/tick-cache/writer.js';
import { importTicks, type TicksImportResult } from '../../core/services/ticks-import.js';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export default class TicksImport extends BaseCommand {
  static override summary = 'Convert tick files into a binary tick cache (.tgt) that backtest reads at full speed.';
  static override description = `Reads the tick files through the same readers as \`backtest\` (any --format, .gz included): rows are validated, skipped and counted exactly as a backtest of the files would, and several files are merged by time. The ticks are written in columnar blocks with checksums; the skipped-row counts are kept in the cache, so \`backtest CACHE.tgt\` reports them too. \`backtest\` recognises a cache by its .tgt name or its first bytes.`;
  static override examples = [
    '<%= config.bin %> ticks import fixtures/ticks/IX.D.DAX.DAILY.IP-demo.csv --out dax.tgt',
    '<%= config.bin %> ticks import EURUSD-2024-*.csv --format histdata --market CS.D.EURUSD.MINI.IP --out eurusd-2024.tgt',
    '<%= config.bin %> backtest dax.tgt --config trailguard.yaml --out results',
  ];
  static override strict = false;
  static override args = {
    files: Args.string({ description: 'tick files (CSV, .gz, or tick caches to merge)', required: true }),
  };
  static override flags = {
    out: Flags.string({ char: 'o', description: 'the tick cache to write (by convention FILE.tgt)', required: true }),
    format: Flags.string({
      description: 'tick file format',
      options: ['standard', 'histdata', 'dukascopy'],
      default: 'standard',
    }),
    market: Flags.string({
      char: 'm',
      description: 'market of files without a market column (default: the only market of --config, when given)',
    }),
    timezone: Flags.string({ description: 'IANA zone of ISO times written without a zone (default UTC)' }),
    strict: Flags.boolean({
      description: 'stop at the first bad tick row (exit 2) instead of skipping it',
      default: false,
    }),
  };

  async run(): Promise<TicksImportResult> {
    const { argv, flags } = await this.parse(TicksImport);
    checkTimezone(flags.timezone);
    // Ctrl-C or a kill: the cache being written goes; one already at --out stays as it was.
    const interrupted = (signal: 'SIGINT' | 'SIGTERM') => {
      rmSync(cacheTempPath(resolve(flags.out)), { force: true });
      process.stderr.write(`\ninterrupted (${signal}): the cache it was writing is removed\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    const progress = createProgress(!this.jsonEnabled());
    try {
      const result = await importTicks({
        files: argv as string[],
        out: flags.out,
        format: flags.format as 'standard' | 'histdata' | 'dukascopy',
        market: await tickFilesMarket(flags.market, flags.config, this.argv),
        timezone: flags.timezone,
        strict: flags.strict,
        onProgress: progress.update,
      });
      progress.stop();
      if (!this.jsonEnabled()) {
        const s = result.skipped;
        const skipped = s.malformed + s.crossed + s.nonPositive + s.outOfOrder;
        this.log(
          `${result.out}: ${result.ticks.toLocaleString('en-US')} ticks of ${result.markets.length} market(s) in ${result.blocks} block(s)`,
        );
        this.log(
          `  ${mb(result.bytes)}; the tick files: ${mb(result.inputBytes)} (${(result.inputBytes / Math.max(result.bytes, 1)).toFixed(1)} : 1)`,
        );
        for (const m of result.markets) this.log(`  ${m.market}  ${m.ticks.toLocaleString('en-US')} ticks`);
        this.log(
          `  rows skipped ${skipped} (malformed ${s.malformed}, crossed ${s.crossed}, non-positive ${s.nonPositive}, out of order ${s.outOfOrder})`,
        );
        for (const row of result.firstSkipped) this.log(`    ${row.file}:${row.line}: ${row.message}`);
        this.log(
          `  ${(result.elapsedMs / 1000).toFixed(2)}s, ${Math.round(result.ticksPerSecond).toLocaleString('en-US')} ticks/s`,
        );
      }
      return result;
    } finally {
      progress.stop();
    }
  }
}
