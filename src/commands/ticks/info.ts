import { Args, Flags } from '@oclif/core';
import { tickFilesMarket } from '../../cli/default-market.js';
import { BaseCommand } from '../../cli/base-command.js';
import { checkTimezone } from '../../cli/time-flag.js';
import { describeTicks, type TicksInfoResult } from '../../core/services/ticks-import.js';

const iso = (ms: number | undefined) => (ms === undefined ? '—' : new Date(ms).toISOString());
const num = (x: number) => Number(x.toFixed(8)).toString();

/** "2h 03m 10.5s" for a gap. */
function span(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(3)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = (s % 60).toFixed(1);
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${rest}s` : `${m}m ${rest}s`;
}

export default class TicksInfo extends BaseCommand {
  static override summary = 'Show what tick files hold: markets, counts, time range, spreads and the largest gaps.';
  static override description = `Reads the whole file. For a tick cache (.tgt) every block's checksum is verified on the way, and the import details (source files, rows skipped) are shown; a corrupt or truncated cache is an error (exit 2). Text tick files are read as backtest reads them (--format, --market, --timezone).`;
  static override examples = [
    '<%= config.bin %> ticks info dax.tgt',
    '<%= config.bin %> ticks info dax.tgt --gaps 10 --json',
  ];
  static override strict = false;
  static override args = { files: Args.string({ description: 'tick cache or tick files', required: true }) };
  static override flags = {
    gaps: Flags.integer({
      description: 'how many of the largest gaps between ticks to list per market',
      default: 5,
      min: 0,
    }),
    format: Flags.string({
      description: 'format of text tick files',
      options: ['standard', 'histdata', 'dukascopy'],
      default: 'standard',
    }),
    market: Flags.string({
      char: 'm',
      description: 'market of text files without a market column (default: the only market of --config, when given)',
    }),
    timezone: Flags.string({ description: 'IANA zone of ISO times written without a zone (default UTC)' }),
  };

  async run(): Promise<TicksInfoResult> {
    const { argv, flags } = await this.parse(TicksInfo);
    checkTimezone(flags.timezone);
    const r = await describeTicks({
      files: argv as string[],
      format: flags.format as 'standard' | 'histdata' | 'dukascopy',
      market: await tickFilesMarket(flags.market, flags.config, this.argv),
      timezone: flags.timezone,
      gaps: flags.gaps,
    });
    if (this.jsonEnabled()) return r;
    const bytes = r.files.reduce((sum, f) => sum + f.bytes, 0);
    this.log(
      `${r.files.map((f) => f.file).join(', ')}: ${r.kind === 'cache' ? 'tick cache' : 'tick files'}, ${(bytes / 1e6).toFixed(1)} MB`,
    );
    if (r.cache) {
      const c = r.cache;
      this.log(
        `  format v${c.version}, ${c.blocks} blocks, ${c.bytesPerTick?.toFixed(1) ?? '—'} bytes/tick, checksums verified, ${c.timeOrdered ? 'in time order' : 'not in time order across markets'}`,
      );
      this.log(`  imported from ${c.sources.map((s) => s.file).join(', ')} (--format ${c.format})`);
    }
    this.log(`  ${r.ticks.toLocaleString('en-US')} ticks, ${iso(r.firstTick)} → ${iso(r.lastTick)}`);
    const s = r.skipped;
    const skipped = s.malformed + s.crossed + s.nonPositive + s.outOfOrder;
    if (skipped > 0)
      this.log(
        `  rows skipped${r.kind === 'cache' ? ' at import' : ''}: ${skipped} (malformed ${s.malformed}, crossed ${s.crossed}, non-positive ${s.nonPositive}, out of order ${s.outOfOrder})`,
      );
    for (const m of r.markets) {
      this.log('');
      this.log(`  ${m.market}: ${m.ticks.toLocaleString('en-US')} ticks, ${iso(m.firstTime)} → ${iso(m.lastTime)}`);
      if (m.spread)
        this.log(`    spread min ${num(m.spread.min)}  mean ${num(m.spread.mean)}  max ${num(m.spread.max)}`);
      if (m.gaps.length > 0) this.log(`    largest gaps`);
      for (const g of m.gaps) this.log(`      ${span(g.ms).padStart(14)}  ${iso(g.from)} → ${iso(g.to)}`);
    }
    return r;
  }
}
