import { BaseCommand } from '../../cli/base-command.js';
import { UserError } from '../../core/domain/errors.js';
import {
  CREDENTIAL_SOURCES,
  loadCredentials,
  saveCredentials,
  SettingsStore,
} from '../../core/adapters/ig/credentials.js';

interface SaveResult {
  path: string;
  saved: string[];
  /** Variables not in the environment now, kept from an earlier save. */
  kept: string[];
  /** The account saved earlier and not replaced (IG_ACCOUNT_ID unset now): later runs trade it. */
  keptAccountId?: string | undefined;
}

export default class CredentialsSave extends BaseCommand {
  static override summary = "Store IG credentials from the environment in the user's settings (mode 0600).";
  static override description =
    'Reads IG_API_KEY, IG_IDENTIFIER, IG_PASSWORD and (optionally) IG_ACCOUNT_ID from the environment and stores them, so later runs need no environment variables; a value not set now keeps what was saved earlier (so a password can be changed alone). Values are taken from the environment rather than flags so that they never land in the shell history. Nothing secret is printed.';
  static override examples = [
    'read -s IG_PASSWORD && export IG_PASSWORD\nIG_API_KEY=... IG_IDENTIFIER=me <%= config.bin %> credentials save',
  ];

  async run(): Promise<SaveResult> {
    await this.parse(CredentialsSave);
    const given = CREDENTIAL_SOURCES.filter((s) => (process.env[s.variable] ?? '').trim() !== '');
    if (given.length === 0)
      throw new UserError(
        'nothing to save: none of IG_API_KEY, IG_IDENTIFIER, IG_PASSWORD, IG_ACCOUNT_ID is set in the environment',
        'export the values to save (the others saved earlier are kept), then run credentials save again',
      );
    const store = new SettingsStore();
    // The environment first, what was saved earlier for the rest: a password can be changed
    // alone. All three required values must exist afterwards.
    const credentials = loadCredentials({ env: process.env, store });
    saveCredentials(store, credentials);
    const saved = given.map((s) => s.variable);
    const kept = CREDENTIAL_SOURCES.filter((s) => !given.includes(s) && credentials[s.field] !== undefined).map(
      (s) => s.variable,
    );
    const keptAccountId = kept.includes('IG_ACCOUNT_ID') ? credentials.accountId : undefined;
    if (!this.jsonEnabled()) {
      this.log(`saved ${saved.join(', ')} to ${store.path}`);
      if (kept.length > 0) this.log(`kept as saved earlier: ${kept.join(', ')}`);
      if (keptAccountId !== undefined)
        this.log(`later runs trade account ${keptAccountId} (set IG_ACCOUNT_ID and save again to change it)`);
    }
    return { path: store.path, saved, kept, keptAccountId };
  }
}
