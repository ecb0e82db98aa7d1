import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { confirmOnTerminal } from '../cli/confirm.js';
import { stderrLog, systemClock } from '../cli/log.js';
import { UserError } from '../core/domain/errors.js';
import { runClose, type CloseResult } from '../core/services/manage.js';

export default class Close extends BaseCommand {
  static override summary = 'Close positions by hand: one deal, a market, or all; fully or partly.';
  static override description =
    'Closes through IG and writes MANUAL rows to the journal, updating state. Asks for confirmation on a terminal unless --yes; without a terminal --yes is required. Refused while `live` runs on the same state directory (stop it first, or close on IG and let live record it).';
  static override examples = [
    '<%= config.bin %> close DIAAAAB3CD4EF5',
    '<%= config.bin %> close --market IX.D.DAX.DAILY.IP --percent 50',
    '<%= config.bin %> close --all --yes --json',
  ];
  static override args = { dealId: Args.string({ description: 'deal id of the position' }) };
  static override flags = {
    market: Flags.string({ char: 'm', description: 'every position of this market', exclusive: ['all'] }),
    all: Flags.boolean({ description: 'every managed position', default: false, exclusive: ['market'] }),
    size: Flags.string({ description: 'close this size (partial close)', exclusive: ['percent'] }),
    percent: Flags.string({
      description: 'close this percentage of each position (rounded down to the lot step)',
      exclusive: ['size'],
    }),
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation', default: false }),
  };

  async run(): Promise<CloseResult> {
    const { args, flags } = await this.parse(Close);
    const chosen = [args.dealId !== undefined, flags.market !== undefined, flags.all].filter(Boolean).length;
    if (chosen !== 1) throw new UserError('name exactly one of: a DEAL_ID, --market M, --all');
    const size = positiveNumber('--size', flags.size);
    const percent = positiveNumber('--percent', flags.percent);
    if (percent !== undefined && percent > 100) throw new UserError('--percent must be at most 100');
    // Refused before logging in: reconciling on the way would already write rows and state.
    if (!flags.yes && !process.stdin.isTTY)
      throw new UserError('not a terminal: pass --yes to close without confirmation');
    const result = await runClose({
      configPath: flags.config,
      clock: systemClock,
      log: stderrLog({ verbose: false }),
      request: { dealId: args.dealId, market: flags.market, all: flags.all, size, percent },
      confirm: async (targets, account) => {
        if (flags.yes) return true;
        const list = targets
          .map((t) => `  ${t.market} ${t.dealId} ${t.direction}: close ${t.closeSize} of ${t.size}`)
          .join('\n');
        const where = `IG ${account.environment.toUpperCase()} account ${account.accountId}`;
        return confirmOnTerminal(`Close on ${where}:\n${list}\nProceed?`);
      },
    });
    if (!this.jsonEnabled()) {
      if (result.targets.length === 0) this.log('no open position managed by trailguard: nothing to close');
      else if (result.closed.length === 0 && result.failed.length === 0) this.log('nothing closed');
      for (const r of result.closed)
        this.log(`${r.action} ${r.market} ${r.dealId} ${r.size} @ ${r.price}  ${r.pnlAmount?.toFixed(2) ?? ''}`);
      for (const f of result.failed) this.log(`FAILED ${f.dealId}: ${f.reason}`);
    }
    if (result.failed.length > 0) this.exitWith(result, 1);
    return result;
  }
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Decimal digits only: Number() would also take 0x1, 0b1 or 1e-1, more likely typos than sizes.
  const n = /^(\d+\.?\d*|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag} ${value}: expected a positive number`);
  return n;
}
