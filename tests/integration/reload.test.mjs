// Hot reload: SIGHUP and POST /reload swap a new config in without a failed request; a broken
// file keeps the running config; listeners are added and removed; the health endpoints.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { adminOf, ADMIN_TOKEN } from './lib/redis.mjs';
import { fetchCached, describeResponse } from './lib/cache.mjs';
import { request } from './lib/http.mjs';
import { closedPort } from './lib/ports.mjs';
import { RawClient, requestHead } from './lib/raw.mjs';
import { waitFor, withTimeout } from './lib/wait.mjs';

// The config the tests start from and change: classes under /_test/cache/<class>/.
function reloadConfig(origin, { listen = ['127.0.0.1:0'], classes = { short: { ttl: '60s' } },
  upstream = {}, admin = {}, clientTimeouts } = {}) {
  return toYaml({
    listen,
    workers: 2,
    client_timeouts: clientTimeouts,
    upstreams: { app: { servers: [origin.address], ...upstream } },
    route_classes: classes,
    routes: Object.keys(classes).map((name) => ({
      match: { path_prefix: `/_test/cache/${name}/` }, upstream: 'app', class: name })),
    admin: { listen: '127.0.0.1:0', ...admin },
  });
}

function refused(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', (err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

// Rewrites the proxy's config file, then reloads through the admin API.
async function reloadWith(proxy, admin, yaml) {
  fs.writeFileSync(proxy.configFile, yaml);
  return admin.call('POST', '/reload');
}

function countLines(text, pattern) {
  return text.split('\n').filter((line) => pattern.test(line)).length;
}

describe('hot reload', { timeout: 300000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  const start = async (t, yaml) => {
    const proxy = await startProxy({ yaml });
    t.after(() => proxy.stop('SIGKILL'));
    return { proxy, admin: await adminOf(proxy) };
  };

  it('POST /reload swaps in new route classes, keeps the cache and drops removed classes',
    async (t) => {
      const { proxy, admin } = await start(t, reloadConfig(origin,
        { classes: { short: { ttl: '60s' }, doomed: { ttl: '60s' } } }));
      await fetchCached(proxy.port, '/_test/cache/short/kept');
      await fetchCached(proxy.port, '/_test/cache/doomed/gone');
      assert.equal((await fetchCached(proxy.port, '/_test/cache/short/kept')).xCache, 'HIT');
      // Not routed yet: /_test/cache/fresh/ matches no route.
      assert.equal((await fetchCached(proxy.port, '/_test/cache/fresh/x')).status, 404);

      const r = await reloadWith(proxy, admin, reloadConfig(origin,
        { classes: { short: { ttl: '60s' }, fresh: { ttl: '60s' } } }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.reloaded, true);
      assert.match(r.json.summary, /1 cache entries of removed route classes dropped/);

      // The kept class still hits its entry: the cache survived the reload.
      const kept = await fetchCached(proxy.port, '/_test/cache/short/kept');
      assert.equal(kept.xCache, 'HIT', describeResponse(kept));
      // The new class routes and caches.
      await fetchCached(proxy.port, '/_test/cache/fresh/x');
      const fresh = await fetchCached(proxy.port, '/_test/cache/fresh/x');
      assert.equal(fresh.xCache, 'HIT', describeResponse(fresh));
      // The removed class's route is gone.
      assert.equal((await fetchCached(proxy.port, '/_test/cache/doomed/gone')).status, 404);
      assert.match(proxy.stderr, /reloaded .*edge\.yaml: 1 listeners/);
    });

  it('a broken file keeps the running config: 400 with file:line:col, and SIGHUP logs it',
    async (t) => {
      const { proxy, admin } = await start(t, reloadConfig(origin));
      await fetchCached(proxy.port, '/_test/cache/short/a');
      const broken = `${reloadConfig(origin)}route_classes:\n  other: { ttl: soon }\n`;
      const r = await reloadWith(proxy, admin, broken);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.reloaded, false);
      assert.ok(r.json.errors.length >= 1, r.text);
      for (const error of r.json.errors) {
        assert.match(error, /edge\.yaml:\d+:\d+: /, error);
      }
      // Unknown keys and bad values are reported as --check-config reports them.
      fs.writeFileSync(proxy.configFile,
        reloadConfig(origin).replace('workers: 2', 'workers: 2\nwokers: 3'));
      const typo = await admin.call('POST', '/reload');
      assert.equal(typo.status, 400);
      assert.match(typo.json.errors.join('\n'), /:\d+:\d+: .*unknown key "wokers"/);

      const before = countLines(proxy.stderr, /reload failed; still running/);
      process.kill(proxy.pid, 'SIGHUP');
      await waitFor(() => countLines(proxy.stderr, /reload failed; still running/) > before,
        { what: 'the failed SIGHUP reload to be logged' });
      assert.match(proxy.stderr, /error reload: .*edge\.yaml:\d+:\d+: .*wokers/);

      // Still serving, from the same cache, with the same config.
      const hit = await fetchCached(proxy.port, '/_test/cache/short/a');
      assert.equal(hit.xCache, 'HIT', describeResponse(hit));
      assert.equal((await admin.call('GET', '/readyz')).status, 200);
    });

  it('a listener is added (bound before the old one closes) and another removed', async (t) => {
    const { proxy, admin } = await start(t, reloadConfig(origin));
    const first = proxy.port;
    const second = await closedPort();
    // A keep-alive connection made before the reload lives on after its listener is removed.
    const client = await RawClient.open(first);
    t.after(() => client.close());
    client.send(requestHead('GET', '/_test/cache/short/raw'));
    assert.equal((await client.next()).statusCode, 200);

    const both = await reloadWith(proxy, admin, reloadConfig(origin,
      { listen: ['127.0.0.1:0', `127.0.0.1:${second}`] }));
    assert.equal(both.status, 200, both.text);
    assert.match(both.json.summary, /2 listeners \(1 added, 0 removed\)/);
    // One Host for both ports, so both reach the same cache entry.
    const headers = { host: 'reload.test' };
    assert.equal((await fetchCached(first, '/_test/cache/short/b', { headers })).status, 200);
    assert.equal((await fetchCached(second, '/_test/cache/short/b', { headers })).xCache, 'HIT');

    const only = await reloadWith(proxy, admin, reloadConfig(origin,
      { listen: [`127.0.0.1:${second}`] }));
    assert.equal(only.status, 200, only.text);
    assert.match(only.json.summary, /1 listeners \(0 added, 1 removed\)/);
    await waitFor(() => refused(first), { what: 'the removed listener to refuse connections' });
    assert.equal((await fetchCached(second, '/_test/cache/short/b', { headers })).xCache, 'HIT');
    client.send(requestHead('GET', '/_test/cache/short/raw'));
    assert.equal((await client.next()).statusCode, 200, 'the old keep-alive connection');
  });

  it('a reload that cannot bind a new listener changes nothing', async (t) => {
    const { proxy, admin } = await start(t, reloadConfig(origin));
    const blocker = net.createServer();
    await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const taken = blocker.address().port;
    const r = await reloadWith(proxy, admin, reloadConfig(origin,
      { listen: ['127.0.0.1:0', `127.0.0.1:${taken}`], classes: { other: { ttl: '1s' } } }));
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.errors.join('\n'), new RegExp(`listen 127\\.0\\.0\\.1:${taken}: .*in use`));
    // The old routes still answer: nothing of the new file was applied.
    assert.equal((await fetchCached(proxy.port, '/_test/cache/short/c')).status, 200);
    assert.equal((await fetchCached(proxy.port, '/_test/cache/other/c')).status, 404);
  });

  it('a request in flight finishes on its snapshot when the upstream changes under it',
    async (t) => {
      const { proxy, admin } = await start(t, reloadConfig(origin));
      await origin.reset();
      const path = '/_test/cache/short/in-flight';
      const inFlight = fetchCached(proxy.port, `${path}?cc=no-store&hold=reload-flight`);
      t.after(() => origin.openGate('reload-flight'));
      await waitFor(async () => (await origin.stats()).byPath[path] === 1,
        { what: 'the request to reach the origin' });
      const r = await reloadWith(proxy, admin, reloadConfig(origin,
        { upstream: { connect_timeout: "3s", pool: { max_idle: 8 } } }));
      assert.equal(r.status, 200, r.text);
      await origin.openGate('reload-flight');
      const answered = await inFlight;
      assert.equal(answered.status, 200, describeResponse(answered));
      assert.equal(answered.json.path, path);
      // And the new pool serves the next request.
      assert.equal((await fetchCached(proxy.port, `${path}?cc=no-store`)).status, 200);
    });

  it('reads the admin token variable again', async (t) => {
    process.env.EDGE_RELOAD_OTHER_TOKEN = 'the-other-token-42';
    const { proxy, admin } = await start(t, reloadConfig(origin));
    const r = await reloadWith(proxy, admin, reloadConfig(origin,
      { admin: { token_env: 'EDGE_RELOAD_OTHER_TOKEN' } }));
    assert.equal(r.status, 200, r.text);
    assert.equal((await admin.call('GET', '/stats')).status, 401, 'the old token');
    assert.equal((await admin.call('GET', '/stats', { token: 'the-other-token-42' })).status, 200);
    // A variable that is unset is an error, and the token in use stays.
    const bad = await reloadWith(proxy, admin, reloadConfig(origin,
      { admin: { token_env: 'EDGE_RELOAD_UNSET_TOKEN' } }));
    assert.equal(bad.status, 401);
    const refusedReload = await admin.call('POST', '/reload', { token: 'the-other-token-42' });
    assert.equal(refusedReload.status, 400);
    assert.match(refusedReload.json.errors.join('\n'), /EDGE_RELOAD_UNSET_TOKEN is unset/);
    assert.equal((await admin.call('GET', '/stats', { token: 'the-other-token-42' })).status, 200);
    assert.notEqual(ADMIN_TOKEN, 'the-other-token-42');
  });
});

describe('health endpoints', { timeout: 120000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  it('/healthz and /readyz answer without the token; other paths still need it', async (t) => {
    const proxy = await startProxy({ yaml: reloadConfig(origin) });
    t.after(() => proxy.stop('SIGKILL'));
    const admin = await adminOf(proxy);
    const health = await admin.call('GET', '/healthz', { token: null });
    assert.equal(health.status, 200);
    assert.equal(health.json.status, 'ok');
    const ready = await admin.call('GET', '/readyz', { token: null });
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { ready: true, reasons: [] });
    assert.equal((await admin.call('GET', '/stats', { token: null })).status, 401);
    assert.equal((await admin.call('POST', '/reload', { token: null })).status, 401);
    assert.equal((await admin.call('POST', '/healthz')).status, 405);
  });

  it('health_requires_token: true puts them behind the token', async (t) => {
    const proxy = await startProxy({ yaml: reloadConfig(origin,
      { admin: { health_requires_token: true } }) });
    t.after(() => proxy.stop('SIGKILL'));
    const admin = await adminOf(proxy);
    assert.equal((await admin.call('GET', '/healthz', { token: null })).status, 401);
    assert.equal((await admin.call('GET', '/readyz')).status, 200);
  });

  it('on SIGTERM /readyz fails at once while the listeners accept for drain_delay', async (t) => {
    // A delay far longer than the test: a second SIGTERM ends it, so no step races a clock.
    const proxy = await startProxy({ yaml: reloadConfig(origin,
      { clientTimeouts: { drain_delay: '300s' } }) });
    t.after(() => proxy.stop('SIGKILL'));
    const admin = await adminOf(proxy);
    assert.equal((await admin.call('GET', '/readyz', { token: null })).status, 200);
    process.kill(proxy.pid, 'SIGTERM');
    const notReady = await waitFor(async () => {
      const r = await admin.call('GET', '/readyz', { token: null });
      return r.status === 503 && r;
    }, { what: '/readyz to answer 503' });
    assert.equal(notReady.json.ready, false);
    assert.match(notReady.json.reasons.join(' '), /draining/);
    // Still serving during the delay, on new connections too.
    const r = await fetchCached(proxy.port, '/_test/cache/short/during-delay');
    assert.equal(r.status, 200);
    assert.equal((await admin.call('GET', '/healthz', { token: null })).status, 200);
    // A reload is refused while stopping.
    assert.equal((await admin.call('POST', '/reload')).status, 400);

    process.kill(proxy.pid, 'SIGTERM');
    const exit = await withTimeout(proxy.exited, 60000, 'exit after the second SIGTERM');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    assert.match(proxy.stderr, /draining now, without waiting for the drain delay/);
  });
});
