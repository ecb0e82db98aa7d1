import { Readable, pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { InvariantError, UserError } from '../../../domain/errors.js';
import { fileError } from './chunks.js';
import { HISTDATA_COLUMNS, resolveColumns, type TickFormat } from './columns.js';
import { TicksNotInTimeOrder, type FileBatch, type FileSink } from './file-sink.js';

/** Longest line either path accepts; past it the file is not a tick CSV (and memory stays bounded). */
export const MAX_LINE_BYTES = 1 << 20;

export interface CsvReadOptions {
  file: string;
  format: TickFormat;
  sink: FileSink;
  chunks: AsyncIterable<Uint8Array>;
  hasDefaultMarket: boolean;
  /** Lines already consumed before `chunks` starts (when the byte reader hands over mid-file). */
  lineOffset: number;
  /** The header was already read (by the byte reader). */
  headerDone: boolean;
  /** `chunks` starts at the beginning of the file, so may start with a BOM. */
  atFileStart: boolean;
}

const BLANK = /^[ \t\r]*$/;

/** Line feeds inside a record's fields: a quoted field can span lines. */
function lineFeeds(fields: readonly string[]): number {
  let n = 0;
  for (const field of fields) {
    for (let i = field.indexOf('\n'); i >= 0; i = field.indexOf('\n', i + 1)) n++;
  }
  return n;
}

async function* copies(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer, void, undefined> {
  // The byte reader's chunks are views of a reused buffer; csv-parse reads ahead, so copy.
  for await (const chunk of chunks) yield Buffer.from(chunk);
}

/** A record csv-parse gave up on, placed by how many records it had emitted before. */
interface ParseFailure {
  before: number;
  code: string;
}

/**
 * The general path: csv-parse's streaming parser (quotes, and the HistData and Dukascopy
 * formats). Rows go to the same FileSink as the byte reader's, so validation is shared.
 *
 * Line numbers are counted here, as the byte reader counts them: csv-parse is told to keep empty
 * lines, so every line arrives as (part of) a record, and a line is ended by LF or CRLF. (Asking
 * csv-parse for its `info` would cost two object copies per record.) Records are drained with
 * `read()` rather than `for await`, which would cost a promise per record.
 */
export async function* readWithCsvParse(options: CsvReadOptions): AsyncGenerator<FileBatch, void, undefined> {
  const { file, format, sink } = options;
  const parser = parse({
    bom: options.atFileStart,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
    skip_records_with_error: true,
    record_delimiter: ['\r\n', '\n'],
    max_record_size: MAX_LINE_BYTES,
  });
  const failures: ParseFailure[] = [];
  parser.on('skip', (error: CsvError) => {
    failures.push({ before: typeof error['records'] === 'number' ? error['records'] : 0, code: error.code });
  });
  let streamError: unknown;
  parser.on('error', (error: unknown) => {
    streamError ??= error;
  });
  const source = Readable.from(copies(options.chunks), { objectMode: false });
  pipeline(source, parser, () => undefined);

  /** Resolves when records may be readable, or the parser ended or failed. */
  const more = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        parser.off('readable', done);
        parser.off('end', done);
        parser.off('close', done);
        parser.off('error', done);
        resolve();
      };
      parser.on('readable', done);
      parser.on('end', done);
      parser.on('close', done);
      parser.on('error', done);
    });

  /** Start line of the next record. */
  let line = options.lineOffset + 1;
  let consumed = 0;
  /** Reports the records csv-parse dropped before record number `upTo` (the next one is at `line`). */
  const reportFailures = (upTo: number): void => {
    while (failures.length > 0 && failures[0]!.before <= upTo) {
      const failure = failures.shift()!;
      if (failure.code === 'CSV_MAX_RECORD_SIZE') {
        // csv-parse does not recover from this one; the byte reader stops here too.
        throw new UserError(`${file}, line ${line}: line longer than 1 MiB`, 'is this a CSV tick file?');
      }
      const message =
        failure.code === 'CSV_QUOTE_NOT_CLOSED'
          ? 'a quote opened on this line is never closed (the rest of the file is part of this row)'
          : `unreadable CSV row (${failure.code})`;
      sink.skip(line, 'malformed', message);
    }
  };

  const headerFormat = format === 'histdata' ? undefined : format;
  let headerDone = options.headerDone;
  let firstRow = true;
  if (headerFormat === undefined) {
    sink.setColumns(HISTDATA_COLUMNS);
    headerDone = true;
  }
  try {
    for (;;) {
      const record = parser.read() as string[] | null;
      if (record === null) {
        if (streamError !== undefined || parser.readableEnded || parser.destroyed) break;
        await more();
        continue;
      }
      reportFailures(consumed);
      consumed++;
      const start = line;
      line += 1 + lineFeeds(record);
      if (record.length === 1 && BLANK.test(record[0]!)) continue;
      if (!headerDone) {
        if (headerFormat === undefined) throw new InvariantError('histdata files have no header');
        sink.setColumns(resolveColumns(headerFormat, record, file, options.hasDefaultMarket));
        headerDone = true;
        continue;
      }
      if (firstRow && format === 'histdata' && /[a-z]/i.test(record[0] ?? '')) {
        throw new UserError(
          `${file}, line ${start}: HistData tick files have no header, but this line looks like one`,
          'is --format right? HistData rows look like 20240102 170000123,1.103800,1.103900,0',
        );
      }
      firstRow = false;
      sink.rowFromStrings(record, start);
      if (sink.full) {
        yield sink;
        sink.length = 0;
      }
    }
    if (streamError !== undefined) throw streamError;
    reportFailures(Infinity);
  } catch (error) {
    if (error instanceof UserError || error instanceof InvariantError || error instanceof TicksNotInTimeOrder)
      throw error;
    if (error instanceof CsvError) {
      throw new UserError(`${file}: ${error.message}`, 'is this a CSV tick file?');
    }
    throw fileError(file, error);
  } finally {
    parser.destroy();
    source.destroy();
  }
  if (!headerDone)
    throw new UserError(
      `${file} is empty: it has no header line`,
      'a tick file starts with a header such as time,bid,ask',
    );
  if (sink.length > 0) {
    yield sink;
    sink.length = 0;
  }
}
