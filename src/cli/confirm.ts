import { createInterface } from 'node:readline/promises';
import { UserError } from '../core/domain/errors.js';

/** Asks on the terminal; without a terminal the caller must have passed --yes. */
export async function confirmOnTerminal(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UserError('not a terminal: pass --yes to close without confirmation');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
