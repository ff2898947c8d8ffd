// Starts a real palisade server on 127.0.0.1 for the SDK tests, on a port the server picks.

'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const LISTENING_MARKER = 'palisade listening on http://';
// Compiling a 12 MB TypeScript plugin without a cached copy takes seconds before the server
// listens.
const START_TIMEOUT_MS = 60_000;

function palisadeBinary() {
  if (process.env.PALISADE_BIN) {
    return process.env.PALISADE_BIN;
  }
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target');
  return path.join(target, 'debug', 'palisade');
}

/**
 * Starts the server and resolves to `{host, port, stop()}` once it listens.
 * `env` adds PALISADE_* settings. `options.port` (default 0: the server picks one) and
 * `options.dataDir` (default: a temporary folder removed on stop) let a test restart a server on
 * the same port and data. `options.pluginsDir` is the folder of plugins to load.
 */
function startServer(env = {}, options = {}) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'palisade-sdk-'));
  const args = [
    'serve', '--host', '127.0.0.1', '--port', String(options.port ?? 0),
    '--data-dir', options.dataDir ?? path.join(scratch, 'data'),
    '--plugins-dir', options.pluginsDir ?? path.join(scratch, 'plugins'),
  ];
  const child = spawn(palisadeBinary(), args, {
    env: { ...process.env, PALISADE_LOG: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`palisade did not start within ${START_TIMEOUT_MS} ms:\n${output.join('')}`));
    }, START_TIMEOUT_MS);

    const onData = (chunk) => {
      const text = chunk.toString();
      output.push(text);
      const start = text.indexOf(LISTENING_MARKER);
      if (start === -1) {
        return;
      }
      const address = text.slice(start + LISTENING_MARKER.length).split(/\s/)[0];
      const port = Number(address.split(':').pop());
      clearTimeout(timer);
      resolve({ host: '127.0.0.1', port, output, stop: () => stop(child, scratch) });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => output.push(chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`palisade exited with code ${code}:\n${output.join('')}`));
    });
  });
}

function stop(child, scratch) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.removeAllListeners('exit');
    child.on('exit', (code) => {
      clearTimeout(killer);
      fs.rmSync(scratch, { recursive: true, force: true });
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

module.exports = { startServer };
