import { mkdirSync } from 'node:fs';
import { UserError } from '../../domain/errors.js';

/**
 * Creates a run's output directory (`--out`) and its parents. One that cannot be made (a file
 * already in its place, no permission) is bad input that names it, not a crash.
 */
export function makeOutputDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (error as Error).message;
    throw new UserError(`cannot create the output directory ${dir}: ${why}`, 'choose another --out directory');
  }
}
