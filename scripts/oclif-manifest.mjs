// Writes oclif.manifest.json after the build. Without it oclif imports every command (and so the
// IG adapter, Lightstreamer, axios…) on every run just to list them: ~0.5 s and ~50 MB more for
// a backtest. oclif's own generator lives in the large `oclif` dev tool; @oclif/core builds the
// same manifest when asked, so this asks it: the build's copy, the one the commands use.
import { writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const { Config } = createRequire(import.meta.url)('#oclif');

const root = new URL('..', import.meta.url).pathname;
rmSync(new URL('../oclif.manifest.json', import.meta.url), { force: true });
const config = await Config.load(root);
const plugin = config.plugins.get(config.pjson.name);
if (!plugin) throw new Error('no root plugin');
const manifest = plugin.manifest;
const count = Object.keys(manifest.commands).length;
if (count === 0) throw new Error('the manifest has no command: build first');
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`oclif.manifest.json: ${count} commands`);
