// What a reload keeps and what it renews: TLS certificates are read again (a bad pair keeps the
// served one), WebSocket tunnels opened before it keep echoing, an unchanged upstream keeps its
// pooled keep-alive connection while a changed one opens a new one, and the Redis subscriber
// reconnects only when the invalidation section changes (then on its new channel only).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { request } from './lib/http.mjs';
import { fetchCached, describeResponse } from './lib/cache.mjs';
import { testPki, issueCert, pkiFile } from './lib/certs.mjs';
import { listenerPorts } from './lib/tls_origin.mjs';
import { startWsEcho, openWs, nextMessage } from './lib/ws.mjs';
import { startRedis, invalidationConfig, adminOf, waitForMessages, waitForSubscribed, storeHit }
  from './lib/redis.mjs';
import { waitFor, withTimeout } from './lib/wait.mjs';

// Rewrites the proxy's config file, then reloads through the admin API.
async function reloadWith(proxy, admin, yaml) {
  fs.writeFileSync(proxy.configFile, yaml);
  return admin.call('POST', '/reload');
}

function countLines(text, pattern) {
  return text.split('\n').filter((line) => pattern.test(line)).length;
}

// One uncached upstream "app" behind everything; `upstream` adds keys to its section.
function plainConfig(address, { listen = ['127.0.0.1:0'], upstream = {}, workers = 2,
  extraClass } = {}) {
  return toYaml({
    listen,
    workers,
    upstreams: { app: { servers: [address], ...upstream } },
    route_classes: { no_cache: { cache: false }, ...(extraClass ? { [extraClass]: {
      ttl: '60s' } } : {}) },
    routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
    admin: { listen: '127.0.0.1:0' },
  });
}

async function start(t, yaml) {
  const proxy = await startProxy({ yaml });
  t.after(() => proxy.stop('SIGKILL'));
  return { proxy, admin: await adminOf(proxy) };
}

// The certificate a new TLS connection to `port` is given: {cn, serial}.
function servedCert(port) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost',
      rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve({ cn: cert.subject?.CN, serial: cert.serialNumber });
    });
    socket.once('error', reject);
  }), 30000, `a TLS handshake with port ${port}`);
}

// A keep-alive TLS connection that sends GET requests one at a time: {cn, get(path) -> the
// response's text up to the end of its "ok" body, close()}.
async function openTls(port) {
  const socket = await withTimeout(new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost',
      rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  }), 30000, `a TLS handshake with port ${port}`);
  let received = '';
  socket.on('data', (d) => { received += d.toString('latin1'); });
  socket.on('error', () => {});
  return {
    cn: socket.getPeerCertificate().subject?.CN,
    get: async (path) => {
      received = '';
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      await waitFor(() => received.includes('\r\n\r\nok') || socket.destroyed,
        { what: `the answer to ${path}` });
      return received;
    },
    close: () => socket.destroy(),
  };
}

// An origin answering every request with 200 "ok" (never cached).
async function startOkOrigin(t) {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': 2, 'cache-control': 'no-store' });
    res.end('ok');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return server;
}

describe('reload: the parts it renews and the parts it keeps', { timeout: 300000 }, () => {
  it('TLS certificates are read again; a missing or mismatched key keeps the served one',
    async (t) => {
      const pki = await testPki();
      const [a, b] = await Promise.all([
        issueCert({ cn: 'reload-a.test', dns: ['localhost'], ips: ['127.0.0.1'], issuer: pki.ca }),
        issueCert({ cn: 'reload-b.test', dns: ['localhost'], ips: ['127.0.0.1'], issuer: pki.ca }),
      ]);
      // The files the config names; the test replaces their contents.
      const certFile = pkiFile('reload-served.pem', fs.readFileSync(a.cert));
      const keyFile = pkiFile('reload-served.key', fs.readFileSync(a.key));
      const okOrigin = await startOkOrigin(t);
      const config = (key = keyFile) => toYaml({
        listen: ['127.0.0.1:0',
          { address: '127.0.0.1:0', tls: { certificates: [{ cert: certFile, key }] } }],
        workers: 2,
        upstreams: { app: { servers: [`127.0.0.1:${okOrigin.address().port}`] } },
        route_classes: { no_cache: { cache: false } },
        routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
        admin: { listen: '127.0.0.1:0' },
      });
      const { proxy, admin } = await start(t, config());
      const tlsPort = (await listenerPorts(proxy, 2))[1].port;
      const first = await servedCert(tlsPort);
      assert.equal(first.cn, 'reload-a.test');
      // A connection made before the reload keeps its session and keeps being served.
      const early = await openTls(tlsPort);
      t.after(() => early.close());
      assert.equal(early.cn, 'reload-a.test');
      assert.match(await early.get('/before'), /^HTTP\/1\.1 200 /);

      fs.writeFileSync(certFile, fs.readFileSync(b.cert));
      fs.writeFileSync(keyFile, fs.readFileSync(b.key));
      const r = await admin.call('POST', '/reload');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.reloaded, true);
      const second = await servedCert(tlsPort);
      assert.equal(second.cn, 'reload-b.test');
      assert.notEqual(second.serial, first.serial);
      assert.match(await early.get('/after'), /^HTTP\/1\.1 200 /, 'the older connection');

      // A key that does not match the certificate: 400 naming the place in the file.
      fs.writeFileSync(keyFile, fs.readFileSync(a.key));
      const mismatched = await admin.call('POST', '/reload');
      assert.equal(mismatched.status, 400, mismatched.text);
      assert.equal(mismatched.json.reloaded, false);
      assert.match(mismatched.json.errors.join('\n'),
        /edge\.yaml:\d+:\d+: listen\[1\]\.tls\.certificates\[0\]\.key: .* is not the key of /,
        mismatched.text);
      assert.equal((await servedCert(tlsPort)).cn, 'reload-b.test');

      // A key file that is not there.
      const missing = await reloadWith(proxy, admin, config(`${keyFile}.missing`));
      assert.equal(missing.status, 400, missing.text);
      assert.match(missing.json.errors.join('\n'),
        /edge\.yaml:\d+:\d+: listen\[1\]\.tls\.certificates\[0\]\.key: cannot read .*missing/,
        missing.text);
      assert.equal((await servedCert(tlsPort)).cn, 'reload-b.test');
      assert.equal((await admin.call('GET', '/readyz')).status, 200);
    });

  it('a WebSocket tunnel opened before a reload keeps echoing, also when its upstream changes',
    async (t) => {
      const echo = await startWsEcho();
      t.after(() => echo.stop());
      const { proxy, admin } = await start(t, plainConfig(echo.address));
      const ws = await openWs(`ws://127.0.0.1:${proxy.port}/tunnel`);
      t.after(() => ws.terminate());
      const roundTrip = async (text) => {
        const reply = nextMessage(ws);
        ws.send(text);
        assert.equal((await reply).data.toString(), text);
      };
      await roundTrip('before any reload');

      const same = await reloadWith(proxy, admin, plainConfig(echo.address,
        { extraClass: 'other' }));
      assert.equal(same.status, 200, same.text);
      await roundTrip('after a reload that kept the upstream');

      const changed = await reloadWith(proxy, admin, plainConfig(echo.address,
        { upstream: { connect_timeout: '7s' } }));
      assert.equal(changed.status, 200, changed.text);
      await roundTrip('after a reload that changed the upstream');
      assert.equal(echo.stats.upgrades, 1, 'one tunnel all along');
      assert.equal(echo.stats.open, 1);

      // New tunnels open under the new config too.
      const fresh = await openWs(`ws://127.0.0.1:${proxy.port}/fresh`);
      t.after(() => fresh.terminate());
      const reply = nextMessage(fresh);
      fresh.send('new tunnel');
      assert.equal((await reply).data.toString(), 'new tunnel');
    });

  it('an unchanged upstream keeps its pooled connection; a changed one opens a new one',
    async (t) => {
      // Counts the TCP connections the proxy makes, and which of them are still open.
      let connections = 0;
      let closes = 0;
      const server = http.createServer((req, res) => {
        req.resume();
        const body = 'ok';
        res.writeHead(200, { 'content-length': body.length, 'cache-control': 'no-store' });
        res.end(body);
      });
      server.keepAliveTimeout = 0;  // never close an idle connection from this side
      server.on('connection', (socket) => {
        connections++;
        socket.once('close', () => { closes++; });
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }));
      const address = `127.0.0.1:${server.address().port}`;
      // One worker: one pool, so sequential requests can only share one connection.
      const { proxy, admin } = await start(t, plainConfig(address, { workers: 1 }));
      const get = async (path) => {
        const res = await request(proxy.port, { path });
        assert.equal(res.status, 200, `${path}: ${res.body}`);
      };

      await get('/one');
      await get('/two');
      assert.equal(connections, 1, 'sequential requests share the pooled connection');

      const same = await reloadWith(proxy, admin, plainConfig(address,
        { workers: 1, extraClass: 'other' }));
      assert.equal(same.status, 200, same.text);
      await get('/three');
      assert.equal(connections, 1, 'an unchanged upstream keeps its pool across a reload');
      assert.equal(closes, 0);

      const changed = await reloadWith(proxy, admin, plainConfig(address,
        { workers: 1, upstream: { connect_timeout: '7s' } }));
      assert.equal(changed.status, 200, changed.text);
      // The retired pool closes its idle connection.
      await waitFor(() => closes === 1, { what: 'the old pooled connection to close' });
      await get('/four');
      assert.equal(connections, 2, 'a changed upstream gets a new pool');
      await get('/five');
      assert.equal(connections, 2, 'and the new pool keeps its connection');
    });

  describe('the Redis subscriber', () => {
    let origin;
    let redis;
    before(async () => { [origin, redis] = await Promise.all([startOrigin(), startRedis()]); });
    after(async () => {
      await redis?.stop();
      await origin?.stop();
    });

    const classes = { plain: { ttl: '60s' } };
    const config = (channels, extra = {}) => invalidationConfig({ origin,
      classes: { ...classes, ...extra },
      invalidation: { redis: { address: redis.address }, channels } });
    const RECONNECT_LINE = /invalidation settings changed: reconnecting to Redis/;
    // The ids of Redis clients subscribed to something.
    const subscriberIds = async () => String(await redis.command('CLIENT', 'LIST'))
      .split('\n').filter((line) => / sub=[1-9]/.test(line))
      .map((line) => line.match(/\bid=(\d+)/)[1]);
    const subscribers = async (channel) => (await redis.command('PUBSUB', 'NUMSUB', channel))[1];
    const purgeMessage = (path) => JSON.stringify({ patterns: [`*|${path}|*`] });
    // stderr may arrive after the HTTP answer: wait for the reload's summary, logged after any
    // "reconnecting" line on the same stream.
    const reloadLogged = (proxy) => waitFor(() => /info reloaded .*edge\.yaml/.test(proxy.stderr),
      { what: `the reload summary in the log:\n${proxy.stderr}` });

    it('a reload that keeps the invalidation section keeps the connection', async (t) => {
      const { proxy, admin } = await start(t, config(['chan_a']));
      const subscribed = await waitForSubscribed(admin);
      assert.equal(subscribed.invalidation.connects, 1);
      const ids = await subscriberIds();
      assert.equal(ids.length, 1, 'one subscriber connection');

      const r = await reloadWith(proxy, admin, config(['chan_a'], { other: { ttl: '5s' } }));
      assert.equal(r.status, 200, r.text);
      await reloadLogged(proxy);
      assert.equal(countLines(proxy.stderr, RECONNECT_LINE), 0, proxy.stderr);

      // Still subscribed on the same connection: a purge goes through.
      const path = '/_test/cache/plain/kept-connection';
      await storeHit(proxy.port, path);
      assert.equal(await redis.command('PUBLISH', 'chan_a', purgeMessage(path)), 1);
      await waitForMessages(admin, 1);
      const purged = await fetchCached(proxy.port, path);
      assert.equal(purged.xCache, 'MISS', describeResponse(purged));
      const stats = (await admin.stats()).invalidation;
      assert.equal(stats.connects, 1);
      assert.equal(stats.reconnects, 0);
      assert.equal(stats.subscribed, true);
      assert.deepEqual(await subscriberIds(), ids, 'the same Redis connection');
    });

    it('a reload that changes the channel listens on the new channel only', async (t) => {
      const { proxy, admin } = await start(t, config(['chan_old']));
      await waitForSubscribed(admin);
      const path = '/_test/cache/plain/moved-channel';

      const r = await reloadWith(proxy, admin, config(['chan_new']));
      assert.equal(r.status, 200, r.text);
      await reloadLogged(proxy);
      assert.equal(countLines(proxy.stderr, RECONNECT_LINE), 1, proxy.stderr);
      await waitFor(async () => {
        const stats = (await admin.stats()).invalidation;
        return stats.connects >= 2 && stats.subscribed;
      }, { what: 'the subscriber to connect again' });
      await waitFor(async () => (await subscribers('chan_old')) === 0,
        { what: 'the old channel subscription to end' });
      assert.equal(await subscribers('chan_new'), 1);

      await storeHit(proxy.port, path);
      // Nobody listens on the old channel any more: the entry stays.
      assert.equal(await redis.command('PUBLISH', 'chan_old', purgeMessage(path)), 0);
      const kept = await fetchCached(proxy.port, path);
      assert.equal(kept.xCache, 'HIT', describeResponse(kept));
      const before = (await admin.stats()).invalidation.messages;
      assert.equal(await redis.command('PUBLISH', 'chan_new', purgeMessage(path)), 1);
      await waitForMessages(admin, before + 1);
      const purged = await fetchCached(proxy.port, path);
      assert.equal(purged.xCache, 'MISS', describeResponse(purged));
    });
  });
});
