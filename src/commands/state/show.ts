import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { showState, type StateShowResult } from '../../core/services/inspect.js';

export default class StateShow extends BaseCommand {
  static override summary = "Show trailguard's saved state: positions per market and strategy guards.";
  static override examples = ['<%= config.bin %> state show', '<%= config.bin %> state show IX.D.DAX.DAILY.IP --json'];
  static override args = { market: Args.string({ description: 'only this market' }) };

  async run(): Promise<StateShowResult> {
    const { args, flags } = await this.parse(StateShow);
    const result = await showState({ configPath: flags.config, market: args.market });
    if (!this.jsonEnabled()) {
      this.log(`state directory ${result.stateDir}`);
      if (result.markets.length === 0) this.log('no saved positions');
      for (const m of result.markets) {
        for (const p of m.positions) {
          this.log(
            `${m.market} ${p.dealId} ${p.direction} ${p.size}/${p.originalSize} @ ${p.entryPrice} best ${p.best} R ${p.risk} ${p.trailingActive ? 'trailing active, ' : ''}ladder rung ${p.ladderNext}${p.virtualLevel !== undefined ? `, virtual ${p.virtualLevel}` : ''}${(p.closesSent ?? []).map((c) => `, ${c.reason} close of ${c.size} sent, not executed yet`).join('')} (${p.strategy})`,
          );
        }
      }
      for (const [name, g] of Object.entries(result.guards)) {
        this.log(
          `strategy ${name}: realised ${g.realised.toFixed(2)}, peak ${g.peak.toFixed(2)}${g.stopped ? `, STOPPED (${g.stopped})` : ''}`,
        );
      }
    }
    return result;
  }
}
