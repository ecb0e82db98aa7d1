import { BaseCommand } from '../cli/base-command.js';
import { stderrLog, systemClock } from '../cli/log.js';
import { runSync, type SyncResult } from '../core/services/manage.js';

export default class Sync extends BaseCommand {
  static override summary = 'Reconcile saved state with IG once (for cron).';
  static override description = `Does what live does at start-up, and nothing else: positions closed on IG while trailguard was not running get their real exit from IG's history and an EXIT row (CLOSED_EXTERNALLY); a position trailguard opened but never saw confirmed (stopped between sending the deal and reading the answer) is taken over with its ENTRY row (and its close, if IG has closed it since); positions opened outside trailguard are adopted on markets whose entry kind is none, reported otherwise. Exits 0 when state and IG agree afterwards, 1 when something is left unresolved or unmanaged, or a close live sent was never executed (live sends it again when it starts). It does nothing and exits 0 while live (or another command) holds the state directory, since a running live records what happens on IG itself, and with broker.kind paper, which has no IG account to compare with.`;
  static override examples = [
    '<%= config.bin %> sync --config /home/me/trailguard.yaml',
    '# crontab: every 5 minutes on weekdays\n*/5 * * * 1-5 cd /home/me/trading && trailguard sync --json >> sync.log 2>&1',
  ];

  async run(): Promise<SyncResult> {
    const { flags } = await this.parse(Sync);
    const result = await runSync({ configPath: flags.config, clock: systemClock, log: stderrLog({ verbose: false }) });
    if (result.skipped !== undefined) {
      if (!this.jsonEnabled()) this.log(`skipped: ${result.skipped}`);
      return result;
    }
    if (!this.jsonEnabled()) {
      const r = result.report;
      this.log(
        `resumed ${r.resumed.length}, recovered from the journal ${r.recoveredFromJournal.length}, closed while away ${r.closedWhileAway.length}, taken over ${r.recoveredOpens.length}, adopted ${r.adopted.length}, unmanaged ${r.unmanaged.length}, unresolved ${r.unresolved.length}`,
      );
      for (const c of r.recoveredFromJournal) this.log(`  recovered ${c.market} ${c.dealId} (from its ENTRY row)`);
      for (const c of r.closedWhileAway)
        this.log(
          `  closed  ${c.market} ${c.dealId} ${c.partial ? `${c.size} of it (partly; IG holds the rest)` : c.size} at ${c.level} (${c.levelFrom})`,
        );
      for (const c of r.alreadyJournaled)
        this.log(`  closed  ${c.market} ${c.dealId} (its EXIT row was already written)`);
      for (const o of r.recoveredOpens) this.log(`  taken over ${o.market} ${o.dealId} (${o.strategy})`);
      for (const g of r.realisedFromJournal)
        this.log(`  guard ${g.strategy}: P&L of ${g.rows} close rows not saved before, ${g.amount.toFixed(2)}, added`);
      for (const a of r.adopted) this.log(`  adopted ${a.market} ${a.dealId}`);
      for (const u of r.unmanaged) this.log(`  NOT MANAGED ${u.market} ${u.dealId}: ${u.reason}`);
      for (const u of r.unresolved) this.log(`  UNRESOLVED  ${u.market} ${u.dealId}: ${u.reason}`);
      for (const u of r.unsentCloses)
        this.log(
          `  NOT CLOSED  ${u.market} ${u.dealId}: the ${u.reason} close of ${u.size} that live sent was never executed by IG (live stopped first); live sends it again when it starts, or close it now with trailguard close`,
        );
      this.log(result.inSync ? 'state and IG agree' : 'state and IG do not agree yet');
    }
    if (!result.inSync) this.exitWith(result, 1);
    return result;
  }
}
