import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UserError } from '../../../domain/errors.js';

export const CHUNK_SIZE = 1 << 20;

export function isGzip(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

export function fileError(file: string, error: unknown): UserError {
  if (error instanceof UserError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return notFoundError(file);
  if (code === 'EISDIR') return directoryError(file);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`cannot read ${file}: permission denied`);
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new UserError(
      `${file} is not a readable gzip file (${(error as Error).message})`,
      'is it really gzip-compressed?',
    );
  }
  return new UserError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * A compressed file whose name does not say so would otherwise be read as text: its binary bytes
 * then make a "header" error that prints them. Its magic bytes tell it.
 */
function checkNotCompressed(file: string, start: Buffer): void {
  if (start.length >= 2 && start[0] === 0x1f && start[1] === 0x8b)
    throw new UserError(
      `${file} is gzip-compressed, but its name does not end in .gz`,
      `rename it to ${file}.gz (trailguard reads .gz files through gunzip), or gunzip it`,
    );
  if (start.length >= 4 && start.readUInt32BE(0) === 0x504b0304)
    throw new UserError(`${file} is a zip archive, not a tick file`, 'unzip it and pass the CSV file inside');
}

function notFoundError(file: string): UserError {
  return new UserError(`tick file not found: ${file}`, 'check the path');
}

function directoryError(file: string): UserError {
  return new UserError(`${file} is a directory, not a tick file`, `name the files in it, e.g. ${join(file, '*.csv')}`);
}

/** The tick files' total size in bytes; none given, or one missing or not a file, is bad input naming it. */
export function checkTickFiles(files: readonly string[]): number {
  if (files.length === 0) throw new UserError('no tick files given', 'pass one or more tick files');
  let bytes = 0;
  for (const file of files) {
    const info = statSync(file, { throwIfNoEntry: false });
    if (info === undefined) throw notFoundError(file);
    if (info.isDirectory()) throw directoryError(file);
    if (!info.isFile()) throw new UserError(`${file} is not a file`);
    bytes += info.size;
  }
  return bytes;
}

/**
 * The bytes of a tick file in chunks of about 1 MiB, gunzipped (streaming) when it ends in `.gz`.
 * `onBytes` gets the number of bytes read from disk (compressed bytes for .gz) as they are read.
 *
 * Trap: for plain files the chunks are views of ONE reused buffer; a consumer that keeps bytes
 * past its next `next()` call must copy them.
 */
export async function* readChunks(
  file: string,
  onBytes: (n: number) => void,
  chunkSize: number = CHUNK_SIZE,
): AsyncGenerator<Buffer, void, undefined> {
  if (isGzip(file)) {
    yield* gunzipChunks(file, onBytes, chunkSize);
    return;
  }
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw fileError(file, error);
  }
  // Two buffers: the next chunk is read while the consumer parses the current one.
  let current = Buffer.allocUnsafe(chunkSize);
  let spare = Buffer.allocUnsafe(chunkSize);
  const fh = handle;
  const readInto = (buffer: Buffer): Promise<number> =>
    fh.read(buffer, 0, chunkSize, null).then(
      (result) => result.bytesRead,
      (error: unknown) => {
        throw fileError(file, error);
      },
    );
  let pending: Promise<number> | undefined = readInto(current);
  let first = true;
  try {
    for (;;) {
      const bytesRead: number = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      if (first) {
        checkNotCompressed(file, current.subarray(0, bytesRead));
        first = false;
      }
      onBytes(bytesRead);
      pending = readInto(spare);
      yield current.subarray(0, bytesRead);
      [current, spare] = [spare, current];
    }
  } finally {
    // Let a read still in flight settle before closing the handle under it.
    if (pending !== undefined) await pending.catch(() => undefined);
    await handle.close();
  }
}

async function* gunzipChunks(
  file: string,
  onBytes: (n: number) => void,
  chunkSize: number,
): AsyncGenerator<Buffer, void, undefined> {
  const raw = createReadStream(file, { highWaterMark: chunkSize });
  raw.on('data', (chunk) => onBytes(chunk.length));
  const gunzip = createGunzip({ chunkSize: Math.max(chunkSize, 64) });
  // Errors of either stream end up on `gunzip`, where the loop below sees them.
  pipeline(raw, gunzip, () => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (error) {
    throw fileError(file, error);
  } finally {
    gunzip.destroy();
    raw.destroy();
  }
}
