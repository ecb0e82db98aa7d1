import { Args, loadHelpClass } from '@oclif/core';
import { ExitCodeCommand } from '../cli/base-command.js';

/** A command as `help --json` describes it: what its --help page shows. */
export interface CommandHelp {
  id: string;
  summary: string | undefined;
  description: string | undefined;
  examples: string[];
  args: { name: string; description: string | undefined; required: boolean }[];
  flags: { name: string; char: string | undefined; description: string | undefined; default: unknown }[];
}

/**
 * `trailguard help [COMMAND]`: the page `--help` shows, for a trader who types `help`. oclif keeps
 * this command in a plugin of its own (@oclif/plugin-help); its core has the help renderer, so the
 * command is these few lines rather than another dependency loaded on every run.
 */
export default class Help extends ExitCodeCommand {
  static override summary = 'Show help for trailguard, a topic or a command.';
  static override strict = false;
  static override args = {
    command: Args.string({ description: 'command or topic, words separated by spaces (state show)' }),
  };
  static override examples = [
    '<%= config.bin %> help',
    '<%= config.bin %> help backtest',
    '<%= config.bin %> help state show --json',
  ];

  async run(): Promise<{ commands: CommandHelp[] }> {
    const { argv } = await this.parse(Help);
    const words = (argv as string[]).filter((word) => !word.startsWith('-'));
    const id = words.join(':');
    const matching = this.config.commands
      .filter((c) => !c.hidden && (id === '' || c.id === id || c.id.startsWith(`${id}:`)))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (id !== '' && matching.length === 0)
      this.error(`no command or topic "${words.join(' ')}": run ${this.config.bin} help for the list`, { exit: 2 });
    if (!this.jsonEnabled()) {
      const HelpClass = await loadHelpClass(this.config);
      await new HelpClass(this.config).showHelp(words);
    }
    const bin = this.config.bin;
    return {
      commands: matching.map((c) => ({
        id: c.id.replaceAll(':', ' '),
        summary: c.summary,
        description: c.description,
        examples: (c.examples ?? []).map((e) =>
          (typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', bin),
        ),
        args: Object.entries(c.args ?? {}).map(([name, a]) => ({
          name,
          description: a.description,
          required: a.required === true,
        })),
        flags: Object.entries(c.flags ?? {})
          .filter(([, f]) => !f.hidden)
          .map(([name, f]) => ({ name, char: f.char, description: f.description, default: f.default })),
      })),
    };
  }
}
