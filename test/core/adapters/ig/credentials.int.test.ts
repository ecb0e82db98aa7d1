import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/core/domain/errors.js';
import { loadCredentials, saveCredentials, SettingsStore } from '../../../../src/core/adapters/ig/credentials.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SettingsStore (conf)', () => {
  it('writes the settings file with mode 0600 and reads credentials back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-conf-'));
    dirs.push(dir);
    const store = new SettingsStore({ cwd: dir });
    saveCredentials(store, { apiKey: 'stored-key', identifier: 'me', password: 'secret-pw' });
    const mode = statSync(store.path).mode & 0o777;
    expect(mode.toString(8), 'only the owner may read the secrets').toBe('600');
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toMatchObject({ ig: { apiKey: 'stored-key' } });
    expect(loadCredentials({ env: {}, store: new SettingsStore({ cwd: dir }) })).toEqual({
      apiKey: 'stored-key',
      identifier: 'me',
      password: 'secret-pw',
    });
  });

  it('a damaged settings file is an input error naming it, and never quotes its text (a password)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-conf-'));
    dirs.push(dir);
    const path = join(dir, 'config.json');
    writeFileSync(path, '{"ig": {"apiKey": "k-1234567", "password": hunter2xyz"}}\n');
    const caught = (read: () => unknown): UserError => {
      try {
        read();
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
        return error as UserError;
      }
      throw new Error('expected a UserError');
    };
    // Damaged before the store is opened, and after (edited while a command runs).
    const healthy = new SettingsStore({ cwd: mkdtempSync(join(tmpdir(), 'tg-conf-')) });
    writeFileSync(healthy.path, readFileSync(path));
    for (const error of [caught(() => new SettingsStore({ cwd: dir })), caught(() => healthy.get('ig.password'))]) {
      expect(error.message).toMatch(/^trailguard's settings file .*config\.json is not valid JSON$/);
      expect(`${error.message} ${error.hint ?? ''}`).not.toContain('hunter2');
    }
    expect(caught(() => new SettingsStore({ cwd: dir })).message).toContain(path);
  });
});
