// The binary-upgrade procedure, run as one program (inside a private network namespace, see
// binary_upgrade.test.mjs): an old proxy serves a stream of new connections; a new proxy is
// started on the same ports with the same config file; the old one gets SIGTERM and exits.
// Prints one JSON line: what the clients saw and how the old proxy exited.
import http from 'node:http';
import { startOrigin } from './origin.mjs';
import { startProxy, writeTempFile } from './proxy.mjs';
import { closedPort } from './ports.mjs';
import { toYaml } from './config.mjs';
import { spawnTracked, collectText, watchSanitizerReports } from './processes.mjs';
import { PROXY_BIN } from './env.mjs';
import { waitFor, withTimeout } from './wait.mjs';

const CLIENTS = 8;
process.env.EDGE_ADMIN_TOKEN ??= 'binary-upgrade-token';

function get(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false,
      headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? null : `status ${res.statusCode}`));
      res.on('error', (err) => resolve(err.code ?? err.message));
    });
    req.on('error', (err) => resolve(err.code ?? err.message));
  });
}

const origin = await startOrigin();
const port = await closedPort();
const adminPort = await closedPort();
const yaml = toYaml({
  listen: [`127.0.0.1:${port}`],
  workers: 2,
  upstreams: { app: { servers: [origin.address] } },
  route_classes: { short: { ttl: '60s' } },
  routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'short' }],
  admin: { listen: `127.0.0.1:${adminPort}` },
});
const old = await startProxy({ yaml });

let total = 0;
const failures = [];
let stop = false;
const loops = Array.from({ length: CLIENTS }, async (_, i) => {
  while (!stop) {
    const problem = await get(port, `/_test/cache/upgrade/${i % 4}`);
    total++;
    if (problem) failures.push(problem);
  }
});
const until = (n) => waitFor(() => total >= n, { timeoutMs: 120000, what: `${n} requests` });

await until(500);
// The new binary: the same file, the same ports (the admin listener too).
const child = spawnTracked(PROXY_BIN, ['--config', old.configFile]);
watchSanitizerReports(child, 'new edge-proxy');
const stderr = collectText(child.stderr);
await withTimeout(stderr.match(/listening on 127\.0\.0\.1:\d+/), 30000, 'the new proxy to listen');
const sharedAt = total;
await until(sharedAt + 500);
process.kill(old.pid, 'SIGTERM');
const oldExit = await withTimeout(old.exited, 60000, 'the old proxy to exit');
const switchedAt = total;
await until(switchedAt + 500);
stop = true;
await Promise.all(loops);

// The new proxy answers its admin API on the shared port, alone now.
const ready = await get(adminPort, '/readyz');
child.kill('SIGTERM');
const newExit = await withTimeout(child.exited, 60000, 'the new proxy to exit');
await origin.stop();
console.log(JSON.stringify({ total, failures: failures.slice(0, 20), failureCount: failures.length,
  sharedAt, switchedAt, oldExit, newExit, ready, oldStderr: old.stderr.slice(-2000),
  newStderr: stderr.text.slice(-2000) }));
process.exit();  // the exit code a sanitizer report may have set (processes.mjs)
