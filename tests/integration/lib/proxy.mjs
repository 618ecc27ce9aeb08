// Runs the real edge-proxy binary: as a server (startProxy) or as a one-shot command (runProxy).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROXY_BIN } from './env.mjs';
import { spawnTracked, collectText, stopChild, watchSanitizerReports } from './processes.mjs';
import { withTimeout } from './wait.mjs';

let tempDir;
// Writes `text` to a fresh file in a per-process temp directory, removed at exit.
export function writeTempFile(name, text) {
  if (!tempDir) {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-proxy-it-'));
    process.on('exit', () => fs.rmSync(tempDir, { recursive: true, force: true }));
  }
  const file = path.join(tempDir, `${Date.now()}-${Math.random().toString(36).slice(2)}-${name}`);
  fs.writeFileSync(file, text);
  return file;
}

// Starts the proxy with a YAML config (written to a temp file) or explicit args, and waits for
// its "listening on HOST:PORT" line on stderr. `wrapper` runs it through a command that ends
// by exec'ing its arguments (e.g. ['taskset', '-c', '0']).
export async function startProxy({ yaml, args = [], readyTimeoutMs = 10000, wrapper = [] } = {}) {
  const configFile = yaml !== undefined ? writeTempFile('edge.yaml', yaml) : undefined;
  const argv = configFile ? ['--config', configFile, ...args] : args;
  const child = wrapper.length > 0
    ? spawnTracked(wrapper[0], [...wrapper.slice(1), PROXY_BIN, ...argv])
    : spawnTracked(PROXY_BIN, argv);
  watchSanitizerReports(child, `edge-proxy ${argv.join(' ')}`);
  const stdout = collectText(child.stdout);
  const stderr = collectText(child.stderr);
  const ready = await withTimeout(stderr.match(/listening on (\S+):(\d+)/), readyTimeoutMs,
    'proxy start').catch((err) => err);
  if (!Array.isArray(ready)) {
    child.kill('SIGKILL');
    const exit = await child.exited;
    throw new Error(`proxy did not report listening (${ready?.message ?? 'stream ended'}); ` +
      `exit=${JSON.stringify(exit)}\nargs: ${argv.join(' ')}\nstderr:\n${stderr.text}`);
  }
  return {
    host: ready[1],
    port: Number(ready[2]),
    pid: child.pid,
    configFile,
    exited: child.exited,
    get stderr() { return stderr.text; },
    get stdout() { return stdout.text; },
    stop: (signal = 'SIGTERM', timeoutMs = 15000) => stopChild(child, signal, timeoutMs),
  };
}

// Runs the binary to completion: {code, signal, stdout, stderr}.
export async function runProxy(args, { timeoutMs = 10000 } = {}) {
  const child = spawnTracked(PROXY_BIN, args);
  watchSanitizerReports(child, `edge-proxy ${args.join(' ')}`);
  const stdout = collectText(child.stdout);
  const stderr = collectText(child.stderr);
  let timer;
  const result = await Promise.race([
    child.exited,
    new Promise((resolve) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(child.exited.then((r) => ({ ...r, timedOut: true })));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  // Let the pipes drain after exit.
  await Promise.all([once(child.stdout), once(child.stderr)]);
  return { ...result, stdout: stdout.text, stderr: stderr.text };
}

function once(stream) {
  return stream.readableEnded ? Promise.resolve()
    : new Promise((resolve) => { stream.once('close', resolve); stream.once('end', resolve); });
}
