import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { stderrLog, systemClock } from '../cli/log.js';
import { runLive, type LiveResult, type LiveStatus } from '../core/services/live.js';

export default class Live extends BaseCommand {
  static override summary = 'Manage IG positions tick by tick until stopped (Ctrl-C).';
  static override description = `Logs in to IG (demo unless broker.environment says live), reconciles the saved state with the account, then runs the engine on IG's price stream: stops are moved, ladders and exits are executed through IG's API, every event is written to the journal. Ctrl-C (SIGINT) or SIGTERM finishes the requests in flight, saves state and exits 0; open positions stay on IG with their broker stops (the log names any that has none). A lost price stream is connected again for as long as live runs; IG refusing the credentials when it logs in again, or a journal or state file that cannot be written, stops live the same way with exit 1. Credentials come from IG_API_KEY, IG_IDENTIFIER, IG_PASSWORD (and IG_ACCOUNT_ID) or the settings store.`;
  static override examples = [
    '<%= config.bin %> live --config trailguard.yaml',
    '<%= config.bin %> live --dry-run --market IX.D.DAX.DAILY.IP',
    '<%= config.bin %> live --record ticks/$(date +%F).csv',
  ];
  static override flags = {
    market: Flags.string({ char: 'm', description: 'only these markets (repeatable)', multiple: true }),
    'dry-run': Flags.boolean({
      description:
        'send nothing to IG: fills are simulated and what would be sent is logged; no state or journal is written',
      default: false,
    }),
    record: Flags.string({ description: 'append every tick received to this file (standard tick format)' }),
    verbose: Flags.boolean({ char: 'v', description: 'debug logging', default: false }),
  };

  async run(): Promise<LiveResult> {
    const { flags } = await this.parse(Live);
    const log = stderrLog({ verbose: flags.verbose });
    const abort = new AbortController();
    const stop = (signal: string) => {
      log('info', `${signal}: stopping after the requests in flight`);
      abort.abort();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    const showStatus = process.stderr.isTTY && !this.jsonEnabled();
    const result = await runLive({
      configPath: flags.config,
      markets: flags.market,
      dryRun: flags['dry-run'],
      record: flags.record,
      signal: abort.signal,
      clock: systemClock,
      log,
      onStatus: showStatus ? (s) => process.stderr.write(`\r${statusLine(s)}\u001b[K`) : undefined,
    });
    if (!this.jsonEnabled())
      this.log(
        `${result.ticks} ticks, ${result.journalRows} journal rows, ${result.openPositions.length} positions open`,
      );
    return result;
  }
}

function statusLine(s: LiveStatus): string {
  const age = s.lastTickAgeMs === undefined ? 'no tick yet' : `last tick ${(s.lastTickAgeMs / 1000).toFixed(1)}s ago`;
  return `${s.stream} | ${s.markets.length} markets | ${s.openPositions} open | ${age} | ${s.ticks} ticks`;
}
