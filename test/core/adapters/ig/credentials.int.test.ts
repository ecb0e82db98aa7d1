import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
});
