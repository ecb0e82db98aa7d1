/** The close command's confirmation on a real terminal (a pty from util-linux `script`). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const prompt = join(mkdtempSync(join(tmpdir(), 'tg-confirm-')), 'prompt.mts');
writeFileSync(
  prompt,
  [
    `import { confirmOnTerminal } from ${JSON.stringify(join(ROOT, 'src/cli/confirm.ts'))};`,
    "console.log('answer: ' + String(await confirmOnTerminal('Proceed?')));",
    '',
  ].join('\n'),
);

/** Runs the prompt on a pseudo-terminal and types `keys` into it once it is asked (printf escapes). */
function answer(keys: string): string {
  const run = `${process.execPath} --import tsx ${prompt}`;
  const r = spawnSync('bash', ['-c', `(sleep 1.5; printf '${keys}'; sleep 1) | script -qec '${run}' /dev/null`], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return r.stdout;
}

describe.skipIf(!existsSync('/usr/bin/script'))('confirmation on a terminal', () => {
  it('y is a yes; Enter or Ctrl-D a no, never an AbortError', () => {
    expect(answer('y\\n')).toContain('answer: true');
    expect(answer('\\n')).toContain('answer: false');
    expect(answer('\\004')).toContain('answer: false');
  });
});
