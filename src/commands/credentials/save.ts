import { BaseCommand } from '../../cli/base-command.js';
import {
  CREDENTIAL_SOURCES,
  loadCredentials,
  saveCredentials,
  SettingsStore,
} from '../../core/adapters/ig/credentials.js';

interface SaveResult {
  path: string;
  saved: string[];
  /** The account saved earlier and not replaced (IG_ACCOUNT_ID unset now): later runs trade it. */
  keptAccountId?: string | undefined;
}

export default class CredentialsSave extends BaseCommand {
  static override summary = "Store IG credentials from the environment in the user's settings (mode 0600).";
  static override description =
    'Reads IG_API_KEY, IG_IDENTIFIER, IG_PASSWORD and (optionally) IG_ACCOUNT_ID from the environment and stores them, so later runs need no environment variables. Values are taken from the environment rather than flags so that they never land in the shell history. Nothing secret is printed.';
  static override examples = [
    'read -s IG_PASSWORD && export IG_PASSWORD\nIG_API_KEY=... IG_IDENTIFIER=me <%= config.bin %> credentials save',
  ];

  async run(): Promise<SaveResult> {
    await this.parse(CredentialsSave);
    const credentials = loadCredentials({ env: process.env, store: null });
    const store = new SettingsStore();
    saveCredentials(store, credentials);
    const saved = CREDENTIAL_SOURCES.filter((s) => credentials[s.field] !== undefined).map((s) => s.variable);
    const kept = credentials.accountId === undefined ? store.get('ig.accountId') : undefined;
    const keptAccountId = typeof kept === 'string' && kept !== '' ? kept : undefined;
    if (!this.jsonEnabled()) {
      this.log(`saved ${saved.join(', ')} to ${store.path}`);
      if (keptAccountId !== undefined)
        this.log(
          `kept the account saved earlier, ${keptAccountId}: later runs trade it (set IG_ACCOUNT_ID and save again to change it)`,
        );
    }
    return { path: store.path, saved, keptAccountId };
  }
}
