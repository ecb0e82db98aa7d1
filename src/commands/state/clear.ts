import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { stderrLog } from '../../cli/log.js';
import { clearState, type StateClearResult } from '../../core/services/inspect.js';

export default class StateClear extends BaseCommand {
  static override summary = 'Forget saved state (all markets and strategy guards, or one market).';
  static override description =
    "Refused unless --force while IG still holds a saved position of the market (its rules' state would be lost; the next start rebuilds it from its ENTRY row in the journal), while a saved position IG closed has no EXIT row in the journal yet (run sync first: it writes that row), or, on the paper broker, when clearing everything would drop the paper book's positions. Clearing everything also resets the strategy guards, so a stopped strategy takes entries again.";
  static override examples = [
    '<%= config.bin %> state clear IX.D.DAX.DAILY.IP',
    '<%= config.bin %> state clear --force',
  ];
  static override args = { market: Args.string({ description: 'only this market' }) };
  static override flags = {
    force: Flags.boolean({
      description: 'clear even while IG holds the position, or its close is not journaled yet',
      default: false,
    }),
  };

  async run(): Promise<StateClearResult> {
    const { args, flags } = await this.parse(StateClear);
    const result = await clearState({
      configPath: flags.config,
      market: args.market,
      force: flags.force,
      log: stderrLog({ verbose: false }),
    });
    if (!this.jsonEnabled()) {
      this.log(result.cleared.length === 0 ? 'nothing to clear' : `cleared ${result.cleared.join(', ')}`);
      if (result.guardsCleared) this.log('strategy guards reset');
    }
    return result;
  }
}
