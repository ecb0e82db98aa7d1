import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

describe('trailguard credentials (built CLI)', () => {
  it('saves the environment credentials with mode 0600, shows only where they come from, never prints a secret', () => {
    const home = mkdtempSync(join(tmpdir(), 'tg-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
    for (const k of ['IG_API_KEY', 'IG_IDENTIFIER', 'IG_PASSWORD', 'IG_ACCOUNT_ID']) delete env[k];
    const secrets = { IG_API_KEY: 'key-5ecret-123', IG_IDENTIFIER: 'trader-joe', IG_PASSWORD: 'pa55word-xyz' };
    const save = spawnSync(process.execPath, ['bin/run.js', 'credentials', 'save', '--json'], {
      cwd: ROOT,
      env: { ...env, ...secrets },
      encoding: 'utf8',
    });
    expect(save.status, save.stderr).toBe(0);
    const { path, saved } = JSON.parse(save.stdout);
    expect(saved).toEqual(['IG_API_KEY', 'IG_IDENTIFIER', 'IG_PASSWORD']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777, 'its directory too, whatever the umask').toBe(0o700);
    expect(readFileSync(path, 'utf8')).toContain('pa55word-xyz');
    for (const s of Object.values(secrets)) expect(save.stdout + save.stderr).not.toContain(s);

    const show = spawnSync(process.execPath, ['bin/run.js', 'credentials', 'show', '--json'], {
      cwd: ROOT,
      env: { ...env, IG_PASSWORD: 'other' },
      encoding: 'utf8',
    });
    expect(show.status, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).sources).toEqual({
      IG_API_KEY: 'settings',
      IG_IDENTIFIER: 'settings',
      IG_PASSWORD: 'environment',
      IG_ACCOUNT_ID: 'missing',
    });
    expect(show.stdout).not.toContain('other');

    const missing = spawnSync(process.execPath, ['bin/run.js', 'credentials', 'save'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(missing.status, 'nothing in the environment: an input error naming the variables').toBe(2);
    expect(missing.stderr).toContain('IG_API_KEY');

    // An account saved earlier stays when IG_ACCOUNT_ID is not set: said, since later runs trade it.
    const withAccount = (extra: Record<string, string>) =>
      spawnSync(process.execPath, ['bin/run.js', 'credentials', 'save', '--json'], {
        cwd: ROOT,
        env: { ...env, ...secrets, ...extra },
        encoding: 'utf8',
      });
    expect(JSON.parse(withAccount({ IG_ACCOUNT_ID: 'ACC1' }).stdout).keptAccountId).toBeUndefined();
    expect(JSON.parse(withAccount({}).stdout).keptAccountId).toBe('ACC1');

    // A password changed alone: the rest is kept as saved.
    const rotate = spawnSync(process.execPath, ['bin/run.js', 'credentials', 'save', '--json'], {
      cwd: ROOT,
      env: { ...env, IG_PASSWORD: 'n3w-pa55word' },
      encoding: 'utf8',
    });
    expect(rotate.status, rotate.stderr).toBe(0);
    expect(JSON.parse(rotate.stdout)).toMatchObject({
      saved: ['IG_PASSWORD'],
      kept: ['IG_API_KEY', 'IG_IDENTIFIER', 'IG_ACCOUNT_ID'],
    });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({
      ig: { apiKey: 'key-5ecret-123', identifier: 'trader-joe', password: 'n3w-pa55word', accountId: 'ACC1' },
    });
    expect(rotate.stdout + rotate.stderr).not.toContain('n3w-pa55word');
  });
});
