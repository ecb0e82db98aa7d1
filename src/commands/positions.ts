import { BaseCommand } from '../cli/base-command.js';
import { stderrLog } from '../cli/log.js';
import { listPositions, type PositionsResult } from '../core/services/inspect.js';

const f = (x: number | undefined, d = 1) => (x === undefined ? '—' : x.toFixed(d));

export default class Positions extends BaseCommand {
  static override summary = "IG's open positions joined with trailguard's state.";
  static override description =
    'Market, direction, size, entry, current price, broker stop, virtual level, active rules and ladder stage, r-multiple and unrealised P&L. Reads only.';
  static override examples = [
    '<%= config.bin %> positions',
    '<%= config.bin %> positions --json | jq ".positions[].pnlAmount"',
  ];

  async run(): Promise<PositionsResult> {
    const { flags } = await this.parse(Positions);
    const result = await listPositions({ configPath: flags.config, log: stderrLog({ verbose: false }) });
    if (!this.jsonEnabled()) {
      if (result.broker === 'paper') this.log('paper book (broker.kind paper): simulated positions, no prices read');
      if (result.positions.length === 0) this.log('no open positions');
      for (const p of result.positions) {
        this.log(
          `${p.market} ${p.dealId} ${p.direction} ${p.size} @ ${p.entryPrice ?? '—'} → ${p.price ?? '—'}  stop ${p.stopLevel ?? '—'}  virtual ${p.virtualLevel ?? '—'}  ${p.rules.join(', ') || 'no rule active'}  R ${f(p.rMultiple, 2)}  ${f(p.pnlPoints)} pts  ${f(p.pnlAmount, 2)}  [${p.managed}]${p.note === undefined ? '' : `  ${p.note}`}`,
        );
      }
      for (const m of result.missingAtBroker)
        this.log(
          result.broker === 'paper'
            ? `saved but not in the paper book: ${m.market} ${m.dealId}`
            : m.configured
              ? `saved but not on IG: ${m.market} ${m.dealId} (run trailguard sync)`
              : `saved but not on IG: ${m.market} ${m.dealId} (its market is no longer configured: add it back and run trailguard sync, or trailguard state clear ${m.market} --force)`,
        );
    }
    return result;
  }
}
