import { createInterface } from 'node:readline/promises';
import { UserError } from '../core/domain/errors.js';

/** Asks on the terminal; without a terminal the caller must have passed --yes. */
export async function confirmOnTerminal(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UserError('not a terminal: pass --yes to close without confirmation');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-D (end of input) or Ctrl-C at the prompt is a no, not an AbortError.
  const declined = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
  rl.once('SIGINT', () => rl.close());
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `).catch(() => ''), declined]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
