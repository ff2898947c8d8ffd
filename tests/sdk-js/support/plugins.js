// The first-party plugins, built from source by scripts/build-plugins.sh, in a plugins folder
// for one test server.

'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..', '..');

/** Returns the folder of the built plugins, building them first unless a run already did. */
function builtPlugins() {
  const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
  const folder = process.env.PALISADE_PLUGINS_BUILD_DIR || path.join(target, 'plugins');
  if (!process.env.PALISADE_PLUGINS_BUILD_DIR) {
    execFileSync(path.join(root, 'scripts', 'build-plugins.sh'), [folder], { stdio: 'inherit' });
  }
  return folder;
}

/**
 * Copies the named plugins into a new folder and writes their settings files:
 * `plugins` maps a plugin name to the text of its `<name>.toml`, or null for none.
 */
function pluginsFolder(plugins) {
  const built = builtPlugins();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'palisade-plugins-'));
  for (const [name, settings] of Object.entries(plugins)) {
    fs.copyFileSync(path.join(built, `${name}.wasm`), path.join(folder, `${name}.wasm`));
    if (settings !== null) {
      fs.writeFileSync(path.join(folder, `${name}.toml`), settings);
    }
  }
  return folder;
}

/**
 * Returns the server settings that share one compiled-code cache between the test servers, so
 * a 12 MB TypeScript plugin is compiled once per test run rather than once per server.
 */
function pluginCacheEnv() {
  const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
  return { PALISADE_PLUGINS__CACHE_DIR: path.join(target, 'plugins-cache') };
}

module.exports = { pluginsFolder, pluginCacheEnv };
