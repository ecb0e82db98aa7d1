import { BaseCommand } from '../../cli/base-command.js';
import { CREDENTIAL_SOURCES, SettingsStore } from '../../core/adapters/ig/credentials.js';

interface ShowResult {
  path: string;
  /** Where each value comes from; never the value itself. */
  sources: Record<string, 'environment' | 'settings' | 'missing'>;
}

export default class CredentialsShow extends BaseCommand {
  static override summary =
    'Say where each IG credential will come from (environment, settings or missing), never its value.';
  static override examples = ['<%= config.bin %> credentials show'];

  async run(): Promise<ShowResult> {
    await this.parse(CredentialsShow);
    const store = new SettingsStore();
    const sources: ShowResult['sources'] = {};
    for (const s of CREDENTIAL_SOURCES) {
      const env = process.env[s.variable];
      const saved = store.get(s.key);
      sources[s.variable] =
        env !== undefined && env.trim() !== ''
          ? 'environment'
          : typeof saved === 'string' && saved !== ''
            ? 'settings'
            : 'missing';
    }
    if (!this.jsonEnabled()) {
      this.log(`settings file ${store.path}`);
      for (const [name, from] of Object.entries(sources)) this.log(`  ${name.padEnd(14)} ${from}`);
    }
    return { path: store.path, sources };
  }
}
