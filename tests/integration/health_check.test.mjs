// Active health checks (a server whose check fails is taken out after unhealthy_threshold
// checks and brought back after healthy_threshold), every address of a server name used and
// names re-resolved on a schedule, and `workers: auto` under a CPU affinity mask.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { startProxy, writeTempFile } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { adminOf } from './lib/redis.mjs';
import { request } from './lib/http.mjs';
import { waitFor } from './lib/wait.mjs';
import { testPki } from './lib/certs.mjs';
import { startTlsOrigin } from './lib/tls_origin.mjs';

const cleanup = [];
const stopLater = (thing) => {
  cleanup.push(thing);
  return thing;
};

// An origin in this process: GET /hc answers `health` (200 or 503), anything else answers
// its name; it counts the requests of each kind.
async function startOrigin(name, host = '127.0.0.1', port = 0) {
  const origin = { name, health: 200, checks: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === '/hc') {
      origin.checks++;
      origin.lastCheckHost = req.headers.host;
      res.writeHead(origin.health, { 'content-type': 'text/plain' });
      res.end(origin.health === 200 ? 'ok' : 'down');
      return;
    }
    origin.requests++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  origin.port = server.address().port;
  origin.address = `${host}:${origin.port}`;
  origin.stop = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return origin;
}

function config({ servers, upstream = {}, workers = 1 }) {
  return toYaml({
    listen: ['127.0.0.1:0'],
    workers,
    upstreams: { app: { servers, ...upstream } },
    route_classes: { no_cache: { cache: false } },
    routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
    admin: { listen: '127.0.0.1:0' },
  });
}

async function bodies(port, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const res = await request(port, { path: '/work' });
    assert.equal(res.status, 200);
    out.push(res.body.toString('utf8'));
  }
  return out;
}

const serversOf = (stats) => stats.upstreams.find((u) => u.name === 'app').servers;
const addressOf = (stats, address) =>
  serversOf(stats).flatMap((s) => s.addresses).find((a) => a.address === address);

describe('active health checks', { timeout: 240000 }, () => {
  after(async () => {
    await Promise.all(cleanup.map((thing) => thing.stop()));
  });

  it('takes out a server whose check fails and brings it back once checks pass', async () => {
    const a = stopLater(await startOrigin('A'));
    const b = stopLater(await startOrigin('B'));
    const proxy = stopLater(await startProxy({ yaml: config({
      servers: [a.address, b.address],
      upstream: { health_check: { path: '/hc', interval: '50ms', timeout: '5s',
        healthy_threshold: 3, unhealthy_threshold: 2, host: 'health.test' } } }) }));
    const admin = await adminOf(proxy);

    // Servers start healthy, and both get traffic.
    await waitFor(async () => (addressOf(await admin.stats(), b.address)?.checks ?? 0) >= 1,
      { what: 'a first check of B' });
    assert.equal(b.lastCheckHost, 'health.test');
    let answers = await bodies(proxy.port, 4);
    assert.deepEqual(answers.sort(), ['A', 'A', 'B', 'B']);

    b.health = 503;
    const down = await waitFor(async () => {
      const stats = await admin.stats();
      return addressOf(stats, b.address).healthy === false && stats;
    }, { what: 'B unhealthy' });
    const state = addressOf(down, b.address);
    assert.ok(state.consecutive_failures >= 2, JSON.stringify(state));
    assert.equal(state.consecutive_successes, 0);
    assert.equal(state.last_status, 503);
    assert.match(state.last_error, /503/);
    assert.equal(serversOf(down).find((s) => s.server === b.address).healthy, false);
    assert.equal(addressOf(down, a.address).healthy, true);
    await waitFor(() => /is unhealthy \(2 checks failed, last: status 503 not expected\)/
      .test(proxy.stderr), { what: 'the change in the log' });

    const before = b.requests;
    answers = await bodies(proxy.port, 10);
    assert.deepEqual(answers, Array(10).fill('A'));
    assert.equal(b.requests, before, 'an unhealthy server gets no traffic');

    b.health = 200;
    const up = await waitFor(async () => {
      const stats = await admin.stats();
      return addressOf(stats, b.address).healthy === true && stats;
    }, { what: 'B healthy again' });
    assert.ok(addressOf(up, b.address).consecutive_successes >= 3);
    assert.equal(addressOf(up, b.address).consecutive_failures, 0);
    assert.equal(addressOf(up, b.address).last_error, '');
    answers = await bodies(proxy.port, 4);
    assert.deepEqual(answers.sort(), ['A', 'A', 'B', 'B']);
  });

  it('keeps serving when every server is unhealthy, as when every server is ejected',
    async () => {
      const a = stopLater(await startOrigin('A'));
      const b = stopLater(await startOrigin('B'));
      a.health = 500;
      b.health = 404;
      const proxy = stopLater(await startProxy({ yaml: config({
        servers: [a.address, b.address],
        upstream: { health_check: { path: '/hc', interval: '50ms', unhealthy_threshold: 1 } },
      }) }));
      const admin = await adminOf(proxy);
      await waitFor(async () => serversOf(await admin.stats()).every((s) => !s.healthy),
        { what: 'both servers unhealthy' });
      const answers = await bodies(proxy.port, 4);
      assert.ok(answers.every((x) => x === 'A' || x === 'B'), answers.join());
    });

  it('counts a check that gets no answer in time as failed', async () => {
    // A listener that accepts and never answers.
    const silent = http.createServer(() => {});
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    stopLater({ stop: () => new Promise((resolve) => {
      silent.closeAllConnections();
      silent.close(() => resolve());
    }) });
    const address = `127.0.0.1:${silent.address().port}`;
    const proxy = stopLater(await startProxy({ yaml: config({ servers: [address],
      upstream: { health_check: { path: '/hc', interval: '50ms', timeout: '100ms',
        unhealthy_threshold: 1 } } }) }));
    const admin = await adminOf(proxy);
    const stats = await waitFor(async () => {
      const s = await admin.stats();
      return addressOf(s, address).healthy === false && s;
    }, { what: 'the silent server unhealthy' });
    assert.match(addressOf(stats, address).last_error, /timed out after 100ms/);
    assert.equal(addressOf(stats, address).last_status, 0);
  });
});

describe('active health checks over TLS', { timeout: 240000 }, () => {
  after(async () => {
    await Promise.all(cleanup.map((thing) => thing.stop()));
  });

  it('checks TLS upstreams over TLS, verified like requests', async () => {
    const { server, ca } = await testPki();
    const good = stopLater(await startTlsOrigin(server.origin));
    const wrong = stopLater(await startTlsOrigin(server.wrongHost));
    const check = { path: '/hc', interval: '50ms', unhealthy_threshold: 1 };
    const tls = { enabled: true, ca: ca.cert, server_name: 'origin.test' };
    const proxy = stopLater(await startProxy({ yaml: toYaml({
      listen: ['127.0.0.1:0'],
      workers: 1,
      upstreams: {
        good: { servers: [good.address], tls, health_check: check },
        wrong: { servers: [wrong.address], tls, health_check: check },
      },
      route_classes: { no_cache: { cache: false } },
      routes: [{ match: { path_prefix: '/' }, upstream: 'good', class: 'no_cache' }],
      admin: { listen: '127.0.0.1:0' },
    }) }));
    const admin = await adminOf(proxy);
    const stats = await waitFor(async () => {
      const s = await admin.stats();
      const ok = s.upstreams[0].servers[0].addresses[0];
      const bad = s.upstreams[1].servers[0].addresses[0];
      return ok.checks >= 2 && !bad.healthy && s;
    }, { what: 'checks of both TLS upstreams' });
    const ok = stats.upstreams[0].servers[0].addresses[0];
    assert.equal(ok.healthy, true);
    assert.equal(ok.last_status, 200);
    assert.equal(ok.last_error, '');
    assert.ok(good.stats().tlsConnections >= 2, JSON.stringify(good.stats()));
    const bad = stats.upstreams[1].servers[0].addresses[0];
    assert.match(bad.last_error, /TLS handshake failed/);
    assert.equal(bad.last_status, 0);
  });
});

// A private mount namespace where /etc/hosts is a file the test writes: the proxy's resolver
// (glibc, "files" first) reads it again on every resolution.
function namespaceWrapper(hostsFile) {
  const probe = spawnSync('unshare', ['-m', 'sh', '-c',
    'mount --bind "$0" /etc/hosts && getent hosts edge-two.test', hostsFile]);
  if (probe.status !== 0) return null;
  return ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile];
}

// Two origins on one port, at 127.0.0.1 and 127.0.0.2.
async function twoOriginsOnOnePort() {
  for (let attempt = 0; ; attempt++) {
    const first = await startOrigin('one', '127.0.0.1');
    try {
      const second = await startOrigin('two', '127.0.0.2', first.port);
      return [first, second];
    } catch (err) {
      await first.stop();
      if (attempt >= 20) throw err;
    }
  }
}

describe('server names', { timeout: 240000 }, () => {
  after(async () => {
    await Promise.all(cleanup.map((thing) => thing.stop()));
  });

  it('uses every address of a name and follows it as it is resolved again', async (t) => {
    const hostsFile = writeTempFile('hosts', '127.0.0.1 edge-two.test\n');
    const wrapper = namespaceWrapper(hostsFile);
    if (!wrapper) {
      t.skip('SKIPPED: this machine cannot bind-mount /etc/hosts in a private namespace');
      console.error('health_check: name re-resolution NOT TESTED (no mount namespace)');
      return;
    }
    const [one, two] = await twoOriginsOnOnePort();
    stopLater(one);
    stopLater(two);
    const name = `edge-two.test:${one.port}`;
    const proxy = stopLater(await startProxy({ wrapper, yaml: config({ servers: [name],
      upstream: { resolve_interval: '50ms' } }) }));
    const admin = await adminOf(proxy);
    const addresses = async () =>
      serversOf(await admin.stats())[0].addresses.map((a) => a.address).sort().join(',');
    assert.equal(await addresses(), one.address);
    assert.deepEqual(await bodies(proxy.port, 4), Array(4).fill('one'));

    // A second address: both get traffic.
    fs.writeFileSync(hostsFile, '127.0.0.1 edge-two.test\n127.0.0.2 edge-two.test\n');
    await waitFor(async () => (await addresses()) === `${one.address},${two.address}`,
      { what: 'both addresses in /stats' });
    await waitFor(() => /edge-two\.test:\d+ now resolves to 127\.0\.0\.1:\d+, 127\.0\.0\.2:\d+/
      .test(proxy.stderr), { what: 'the new addresses in the log' });
    const both = await bodies(proxy.port, 6);
    assert.deepEqual([...new Set(both)].sort(), ['one', 'two'], both.join());

    // The first address goes away.
    fs.writeFileSync(hostsFile, '127.0.0.2 edge-two.test\n');
    await waitFor(async () => (await addresses()) === two.address,
      { what: 'only the second address in /stats' });
    assert.deepEqual(await bodies(proxy.port, 4), Array(4).fill('two'));

    // The name stops resolving: the last addresses stay.
    fs.writeFileSync(hostsFile, '127.0.0.1 someone-else.test\n');
    await waitFor(() => /cannot resolve edge-two\.test:\d+ again/.test(proxy.stderr),
      { what: 'the failed resolution in the log' });
    assert.equal(await addresses(), two.address);
    assert.deepEqual(await bodies(proxy.port, 2), ['two', 'two']);
  });
});

describe('workers: auto', { timeout: 120000 }, () => {
  after(async () => {
    await Promise.all(cleanup.map((thing) => thing.stop()));
  });

  it('starts one worker when the affinity mask allows one CPU', async () => {
    const origin = stopLater(await startOrigin('A'));
    const proxy = stopLater(await startProxy({ wrapper: ['taskset', '-c', '0'],
      yaml: config({ servers: [origin.address], workers: 'auto' }) }));
    assert.match(proxy.stderr, /workers: auto: 1 \(CPU affinity 1,/);
    assert.match(proxy.stderr, /listening on 127\.0\.0\.1:\d+ \(1 workers\)/);
    assert.deepEqual(await bodies(proxy.port, 1), ['A']);
  });
});
