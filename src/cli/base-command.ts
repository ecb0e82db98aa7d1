import { Command, Errors, Flags } from '@oclif/core';
import { BrokerRejected, BrokerUnavailable, UserError } from '../core/domain/errors.js';

/**
 * Every command's base: the one place where errors become exit codes (STYLE habit 3, SPEC §8):
 * 0 success; 1 a failure at run time (broker, network) or a bug; 2 bad input or configuration.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      description: 'configuration file (YAML or JSON)',
      default: './trailguard.yaml',
      helpGroup: 'GLOBAL',
    }),
  };

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (error instanceof UserError) {
      const hint = error.hint ? `\n  ${error.hint}` : '';
      return this.fail(`${error.message}${hint}`, 2, 'USER_ERROR');
    }
    if (error instanceof BrokerRejected)
      return this.fail(`broker rejected: ${error.message}`, 1, error.code ?? 'BROKER_REJECTED');
    if (error instanceof BrokerUnavailable)
      return this.fail(`broker unavailable: ${error.message}`, 1, error.code ?? 'BROKER_UNAVAILABLE');
    // oclif's own errors (flag parsing: exit 2) and exits pass through unchanged.
    if (error instanceof Errors.CLIError || error.oclif !== undefined) return super.catch(error);
    return super.catch(error);
  }

  private fail(message: string, exit: number, code: string): never {
    if (this.jsonEnabled()) {
      this.logJson({ error: { code, message, exitCode: exit } });
      this.exit(exit);
    }
    this.error(message, { exit });
  }
}
