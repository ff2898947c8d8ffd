#!/usr/bin/env node
// Runs `npm ci` in the SDK's folder when its node_modules is missing or older than its lock file.
// A plugin that depends on the SDK by path gets a link to this folder, not the SDK's own
// dependencies (componentize-js, esbuild), so its `prebuild` script runs this first.
// Uses only node's built-in modules, because it runs before anything is installed.

import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// npm writes this file at the end of every install, so its time is the install's.
const installedMarker = path.join(packageDir, "node_modules", ".package-lock.json");
const lockFile = path.join(packageDir, "package-lock.json");

function modifiedTime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

const installed = modifiedTime(installedMarker);
if (installed === undefined || installed < modifiedTime(lockFile)) {
  process.stdout.write(`@palisade/plugin-sdk: running npm ci in ${packageDir}\n`);
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: packageDir,
    stdio: "inherit",
  });
  if (result.status !== 0) {
    process.stderr.write(
      `@palisade/plugin-sdk: npm ci in ${packageDir} failed (${result.error ?? `exit status ${result.status}`})\n`,
    );
    process.exit(1);
  }
}
