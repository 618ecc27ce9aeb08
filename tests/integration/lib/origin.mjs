// Starts the demo origin (demo/origin.mjs) as a child process on a free port.
import http from 'node:http';
import { ORIGIN_SCRIPT } from './env.mjs';
import { spawnTracked, collectText, stopChild } from './processes.mjs';
import { withTimeout } from './wait.mjs';

function control(port, method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${path}: status ${res.statusCode}`));
        resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function scriptPath(path) {
  const m = path.match(/^\/_test\/cache\/([^?]+)$/);
  if (!m) throw new Error(`not a /_test/cache/ path: ${path}`);
  return `/_test/cache-script/${m[1]}`;
}

export async function startOrigin({ port = 0 } = {}) {
  const child = spawnTracked(process.execPath,
    [ORIGIN_SCRIPT, '--host', '127.0.0.1', '--port', String(port)]);
  const stdout = collectText(child.stdout);
  const stderr = collectText(child.stderr);
  const m = await withTimeout(stdout.match(/origin listening on (\S+):(\d+)/), 60000,
    'origin start').catch((err) => err);
  if (!Array.isArray(m)) {
    child.kill('SIGKILL');
    throw new Error(`origin did not start: ${m?.message ?? 'exited'}\n${stderr.text}`);
  }
  const host = m[1];
  const boundPort = Number(m[2]);
  return {
    host,
    port: boundPort,
    url: `http://${host}:${boundPort}`,
    address: `${host}:${boundPort}`,
    pid: child.pid,
    // {requests, connections, byPath}, not counting these control requests themselves.
    stats: () => control(boundPort, 'GET', '/_test/stats'),
    reset: () => control(boundPort, 'POST', '/_test/reset'),
    // Parameters of /_test/cache/<name> applied to every later request for that path, over
    // its query (see demo/origin/cache_routes.mjs); unscript() forgets them.
    script: (path, params) => control(boundPort, 'PUT', scriptPath(path) + '?' +
      new URLSearchParams(params)),
    unscript: (path) => control(boundPort, 'DELETE', scriptPath(path)),
    // Answers the requests held with hold=<gate>, and lets later ones through at once.
    openGate: (gate) => control(boundPort, 'POST', `/_test/cache-gate/${encodeURIComponent(gate)}`),
    stop: () => stopChild(child, 'SIGTERM', 5000),
    get stderr() { return stderr.text; },
  };
}
