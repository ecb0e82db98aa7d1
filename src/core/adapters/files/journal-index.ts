import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Direction, EntryReason } from '../../domain/types.js';

export interface JournalEntry {
  time: number;
  market: string;
  dealId: string;
  strategy: string;
  direction: Direction;
  size: number;
  price: number;
  stopLevel: number | undefined;
  reason: EntryReason;
}

/**
 * What an existing trade_history.csv already says about each deal: its ENTRY row, whether it has
 * an EXIT row, and the size closed so far; and the P&L of every close, in order. Start-up recovery
 * reads it so that a crash between a journal row and the state file never leads to a lost or a
 * duplicated row, nor to a strategy guard that missed the row's P&L.
 */
export class JournalIndex {
  readonly entries = new Map<string, JournalEntry>();
  readonly exited = new Set<string>();
  readonly closedSize = new Map<string, number>();
  /** The size of each deal its profit ladder closed: its PARTIAL rows with reason PROFIT_TARGET. */
  readonly ladderClosed = new Map<string, number>();
  /** Per market, the time of its latest ENTRY row. */
  readonly lastEntry = new Map<string, number>();
  /** Data rows in the file (the header and blank lines aside). */
  rows = 0;
  /** Every PARTIAL and EXIT row: its place among the data rows (0-based), strategy and P&L. */
  readonly closes: { row: number; strategy: string; pnlAmount: number }[] = [];
  /** Per deal, the time of its latest PARTIAL or EXIT row. */
  readonly lastCloseAt = new Map<string, number>();

  /**
   * `warn` hears of lines that are not rows: a field count other than the header's (a row cut
   * short by a power loss, two rows run together, an edit). They are left out, of `rows` too.
   */
  static async read(path: string, warn?: (message: string) => void): Promise<JournalIndex> {
    const index = new JournalIndex();
    if (!existsSync(path)) return index;
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
    let header: string[] | undefined;
    let lineNo = 0;
    const malformed: number[] = [];
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      // trailguard writes no quoted fields (no value contains a comma), so a split is exact.
      const fields = line.split(',');
      if (header === undefined) {
        header = fields;
        continue;
      }
      if (fields.length !== header.length) {
        malformed.push(lineNo);
        continue;
      }
      const row = index.rows++;
      const get = (name: string) => fields[header?.indexOf(name) ?? -1] ?? '';
      const dealId = get('deal_id');
      const action = get('action');
      if (action === 'ENTRY') {
        const stop = get('stop_level');
        const time = Date.parse(get('time'));
        const market = get('market');
        if (!((index.lastEntry.get(market) ?? -Infinity) >= time)) index.lastEntry.set(market, time);
        index.entries.set(dealId, {
          time,
          market,
          dealId,
          strategy: get('strategy'),
          direction: get('direction') as Direction,
          size: Number(get('size')),
          price: Number(get('price')),
          stopLevel: stop === '' ? undefined : Number(stop),
          reason: get('reason') as EntryReason,
        });
      } else if (action === 'EXIT' || action === 'PARTIAL') {
        index.closedSize.set(dealId, (index.closedSize.get(dealId) ?? 0) + Number(get('size')));
        if (action === 'EXIT') index.exited.add(dealId);
        else if (get('reason') === 'PROFIT_TARGET')
          index.ladderClosed.set(dealId, (index.ladderClosed.get(dealId) ?? 0) + Number(get('size')));
        index.closes.push({ row, strategy: get('strategy'), pnlAmount: Number(get('pnl_amount')) });
        const closedAt = Date.parse(get('time'));
        if (!((index.lastCloseAt.get(dealId) ?? -Infinity) >= closedAt)) index.lastCloseAt.set(dealId, closedAt);
      }
    }
    if (malformed.length > 0) {
      const where = `${malformed.slice(0, 5).join(', ')}${malformed.length > 5 ? ', …' : ''}`;
      warn?.(
        `${path}: ignored ${malformed.length} line(s) that are not ${header?.length}-field journal rows: line ${where}`,
      );
    }
    return index;
  }
}
