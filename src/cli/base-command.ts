import { Command, Errors, Flags } from '@oclif/core';
import { BrokerRejected, BrokerUnavailable, UserError, WriteFailed } from '../core/domain/errors.js';

/**
 * Every command's base: the one place where errors become exit codes (STYLE habit 3, SPEC §8):
 * 0 success; 1 a failure at run time (broker, network) or a bug; 2 bad input or configuration.
 * `help` takes this directly (it reads no configuration); every other command BaseCommand.
 */
export abstract class ExitCodeCommand extends Command {
  static override enableJsonFlag = true;

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (error instanceof UserError) return this.fail(error.message, 2, 'USER_ERROR', error.hint);
    if (error instanceof BrokerRejected)
      return this.fail(`broker rejected: ${error.message}`, 1, error.code ?? 'BROKER_REJECTED');
    if (error instanceof BrokerUnavailable)
      return this.fail(`broker unavailable: ${error.message}`, 1, error.code ?? 'BROKER_UNAVAILABLE');
    if (error instanceof WriteFailed) return this.fail(error.message, 1, error.code);
    // `this.exit(n)`: the command has already said what it had to (see exitWith). oclif's own catch
    // would print it as an error document under --json, after the result, and exit 1 whatever n.
    if (error instanceof Errors.ExitError) throw error;
    // oclif's flag and argument errors are bad input (exit 2). Under --json oclif would print the
    // whole parse context (~90 KB: every command's flags, the home and config directories) and
    // exit 1; the message is all a script needs.
    if (this.jsonEnabled() && error instanceof Errors.CLIError)
      return this.fail(error.message, error.oclif?.exit ?? 2, 'USAGE_ERROR');
    return super.catch(error);
  }

  /**
   * Ends a command whose work is done but not all of it succeeded (a close IG refused, a sync
   * left unresolved): under --json the result is the one document printed, as on success, and
   * the exit code says the rest.
   */
  protected exitWith(result: unknown, exit: number): never {
    if (this.jsonEnabled()) this.logJson(result);
    this.exit(exit);
  }

  private fail(message: string, exit: number, code: string, hint?: string): never {
    if (this.jsonEnabled()) {
      this.logJson({ error: { code, message, ...(hint ? { hint } : {}), exitCode: exit } });
      this.exit(exit);
    }
    this.error(hint ? `${message}\n  ${hint}` : message, { exit });
  }
}

/** A command that reads the configuration file (`--config`). */
export abstract class BaseCommand extends ExitCodeCommand {
  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      description: 'configuration file (YAML or JSON)',
      default: './trailguard.yaml',
      helpGroup: 'GLOBAL',
    }),
  };
}
