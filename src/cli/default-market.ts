/**
 * The market of tick files without a market column, for the commands that read ticks without
 * running a configuration (`ticks import`, `ticks info`): `--market`, else — when `--config` was
 * given on the command line — the configuration's only market, as SPEC §9 has it for backtest.
 * A configuration file merely lying in the working directory is not read: these commands need none.
 */
export async function tickFilesMarket(
  market: string | undefined,
  configPath: string,
  argv: readonly string[],
): Promise<string | undefined> {
  if (market !== undefined) return market;
  const given = argv.some((a) => a === '--config' || a.startsWith('--config=') || /^-c/.test(a));
  if (!given) return undefined;
  // Loaded only here: the configuration's schema is no part of these commands' start-up otherwise.
  const { loadConfig } = await import('../core/config/load.js');
  const names = Object.keys((await loadConfig(configPath)).markets);
  return names.length === 1 ? names[0] : undefined;
}
