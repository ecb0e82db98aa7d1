import type { BacktestResult } from '../core/services/backtest.js';

const n2 = (x: number | undefined, digits = 2) => (x === undefined ? '—' : x.toFixed(digits));
const pct = (x: number | undefined) => (x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
const iso = (ms: number | undefined) => (ms === undefined ? '—' : new Date(ms).toISOString());

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  if (seconds < 120) return `${seconds.toFixed(1)}s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

/** The backtest summary a trader reads at a glance. */
export function renderBacktest(r: BacktestResult): string {
  const t = r.trades;
  const lines: string[] = [];
  lines.push(
    `Backtest of ${r.markets.join(', ')}: ${r.ticks.ticks.toLocaleString('en-US')} ticks, ${iso(r.ticks.firstTick)} → ${iso(r.ticks.lastTick)}`,
  );
  lines.push('');
  lines.push(`  trades          ${t.trades}  (${t.wins} won, ${t.losses} lost, win rate ${pct(t.winRate)})`);
  lines.push(`  net points      ${n2(t.netPoints, 1)}`);
  lines.push(`  net P&L         ${n2(t.netAmount)}   (realised, partial exits included)`);
  lines.push(`  profit factor   ${n2(t.profitFactor)}`);
  lines.push(`  expectancy      ${n2(t.expectancyR)} R`);
  lines.push(`  max drawdown    ${n2(t.maxDrawdown)}`);
  lines.push(`  average hold    ${duration(t.averageHoldSeconds)}`);
  const reasons = Object.entries(t.exitsByReason).sort((a, b) => b[1] - a[1]);
  if (reasons.length > 0) {
    lines.push('');
    lines.push('  exits by reason');
    for (const [reason, count] of reasons) lines.push(`    ${reason.padEnd(18)} ${count}`);
  }
  if (r.openPositions.length > 0) {
    lines.push('');
    lines.push(`  open at the end (unrealised ${n2(r.unrealisedAmount)})`);
    for (const p of r.openPositions) {
      lines.push(
        `    ${p.market} ${p.dealId} ${p.direction} ${p.size} @ ${p.entryPrice} → ${p.price ?? '—'}  stop ${p.stopLevel ?? '—'}  ${n2(p.pnlPoints, 1)} pts  ${n2(p.pnlAmount)}`,
      );
    }
  }
  const s = r.ticks.skipped;
  const skippedTotal = s.malformed + s.crossed + s.nonPositive + s.outOfOrder;
  if (skippedTotal > 0 || r.ticks.ignored > 0) {
    lines.push('');
    lines.push(
      `  rows skipped    ${skippedTotal} (malformed ${s.malformed}, crossed ${s.crossed}, non-positive ${s.nonPositive}, out of order ${s.outOfOrder}); ticks of other markets ignored: ${r.ticks.ignored}`,
    );
    for (const row of r.ticks.firstSkipped) lines.push(`    ${row.file}:${row.line}: ${row.message}`);
  }
  if (r.alerts.length > 0) {
    lines.push('');
    for (const a of r.alerts) lines.push(`  ${a.level.toUpperCase()}: ${a.message}`);
  }
  lines.push('');
  lines.push(`  journal  ${r.journalPath}`);
  lines.push(`  summary  ${r.summaryPath}`);
  lines.push(`  ${(r.elapsedMs / 1000).toFixed(2)}s, ${Math.round(r.ticksPerSecond).toLocaleString('en-US')} ticks/s`);
  return lines.join('\n');
}
