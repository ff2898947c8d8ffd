#!/usr/bin/env node
// Bundles a plugin entry module with the SDK into one ES module (esbuild), then turns it into a
// WebAssembly component of the WIT world `plugin` (componentize-js).

import { access, copyFile, mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { componentize } from "@bytecodealliance/componentize-js";
import { build } from "esbuild";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// WASI features of the StarlingMonkey engine that plugins do not use: the host provides logging,
// clocks, randomness and HTTP through the `palisade:plugin` imports instead.
const DISABLED_FEATURES = ["stdio", "random", "clocks", "http", "fetch-event"];

const USAGE = `Usage: palisade-plugin-build <entry.ts|entry.js> -o <out.wasm> [options]

Bundles the entry module with @palisade/plugin-sdk and builds a WebAssembly component of the
WIT world "plugin". The entry's default export (or its named exports) must be the object that
definePlugin() returns.

Options:
  -o, --out <file>      Component file to write (required).
  --wit <dir>           WIT folder of the palisade:plugin package
                        (default: ../../wit relative to the SDK package, or $PALISADE_WIT_DIR).
  --world <name>        World to target (default: plugin).
  --bundle <file>       Also write the bundled JavaScript module to <file>.
  -h, --help            Show this help.`;

async function main() {
  let options;
  try {
    options = parseArgs({
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        wit: { type: "string" },
        world: { type: "string", default: "plugin" },
        bundle: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return fail(error.message);
  }
  const { values, positionals } = options;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    return fail(`expected exactly one entry module, got ${positionals.length}`);
  }
  if (values.out === undefined) {
    return fail("missing the output file: pass -o <out.wasm>");
  }

  const entry = path.resolve(positionals[0]);
  const out = path.resolve(values.out);
  const witDir = path.resolve(values.wit ?? process.env.PALISADE_WIT_DIR ?? path.join(packageDir, "..", "..", "wit"));

  try {
    await access(entry);
  } catch {
    return fail(`entry module ${entry} not found`);
  }
  const witFiles = await readdir(witDir).then(
    (names) => names.filter((name) => name.endsWith(".wit")),
    () => [],
  );
  if (witFiles.length === 0) {
    return fail(`no .wit files in ${witDir}: pass --wit <dir> or set PALISADE_WIT_DIR`);
  }

  const workDir = await mkdtemp(path.join(tmpdir(), "palisade-plugin-build-"));
  try {
    const bundlePath = path.join(workDir, "plugin.js");
    const started = performance.now();
    await bundle(entry, bundlePath);
    if (values.bundle !== undefined) {
      await copyFile(bundlePath, path.resolve(values.bundle));
    }
    const bundled = performance.now();

    const { component, imports } = await componentize({
      sourcePath: bundlePath,
      witPath: witDir,
      worldName: values.world,
      disableFeatures: DISABLED_FEATURES,
    });
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, component);
    const finished = performance.now();

    const seconds = (from, to) => ((to - from) / 1000).toFixed(1);
    process.stdout.write(
      `wrote ${out} (${(component.length / 1024 / 1024).toFixed(1)} MiB): bundle ${seconds(started, bundled)} s, ` +
        `componentize ${seconds(bundled, finished)} s\n`,
    );
    process.stdout.write(`imports: ${[...new Set(imports.map(describeImport))].join(", ")}\n`);
    return 0;
  } catch (error) {
    return fail(`building ${entry} failed: ${error.stack ?? error}`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Bundles `entry` into `outfile`. A generated wrapper re-exports the plugin's four interfaces
 * under the names componentize-js binds to the world's exports, and routes `console` to the
 * host's log, because the engine is built without stdio.
 */
async function bundle(entry, outfile) {
  const wrapper = `
import * as entry from ${JSON.stringify(entry)};
import { log } from "@palisade/plugin-sdk";

const plugin = entry.default ?? entry;
for (const name of ["lifecycle", "controller", "pipe", "hook"]) {
  if (plugin[name] === undefined) {
    throw new Error("the plugin entry exports no '" + name + "': export default definePlugin({...})");
  }
}

const format = (values) => values.map((value) => (typeof value === "string" ? value : JSON.stringify(value))).join(" ");
globalThis.console = {
  log: (...values) => log.info(format(values)),
  info: (...values) => log.info(format(values)),
  debug: (...values) => log.debug(format(values)),
  trace: (...values) => log.trace(format(values)),
  warn: (...values) => log.warn(format(values)),
  error: (...values) => log.error(format(values)),
};

export const lifecycle = plugin.lifecycle;
export const controller = plugin.controller;
export const pipe = plugin.pipe;
export const hook = plugin.hook;
`;
  await build({
    stdin: { contents: wrapper, resolveDir: path.dirname(entry), sourcefile: "palisade-plugin-entry.js", loader: "js" },
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["palisade:plugin/*"],
    // The entry and the wrapper must share one copy of the SDK, wherever the entry's package
    // installed it.
    alias: { "@palisade/plugin-sdk": path.join(packageDir, "src", "index.js") },
    logLevel: "warning",
  });
}

function describeImport(item) {
  return Array.isArray(item) ? item[0] : String(item);
}

function fail(message) {
  process.stderr.write(`palisade-plugin-build: ${message}\n\n${USAGE}\n`);
  return 2;
}

process.exitCode = await main();
