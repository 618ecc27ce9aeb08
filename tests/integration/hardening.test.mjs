// What an adversarial run found, each kept as a regression test: a deeply nested batch body,
// dot segments that route one way and cache another, refused requests that still reached the
// origin, header lines the proxy must refuse itself, repeated query parameters sharing an
// entry, non-ASCII batch item paths, and the smaller config and admin API holes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { startProxy, runProxy, writeTempFile } from './lib/proxy.mjs';
import { startOrigin } from './lib/origin.mjs';
import { proxyConfig } from './lib/config.mjs';
import { EXAMPLE_CONFIG } from './lib/env.mjs';
import { request } from './lib/http.mjs';
import { rawExchange, parseRawResponses, requestHead } from './lib/raw.mjs';
import { ADMIN_TOKEN, adminOf, invalidationConfig } from './lib/redis.mjs';
import { waitFor } from './lib/wait.mjs';

// An origin that shares no code with the proxy's HTTP stack and tells in its JSON body exactly
// what it received: the target as sent, the tenant, the credential, and its request count.
async function startEchoOrigin() {
  let n = 0;
  const seen = [];
  const server = http.createServer((req, res) => {
    n += 1;
    seen.push(`${req.method} ${req.url}`);
    const body = JSON.stringify({ data: { id: n, name: 'echo', path: req.url,
      org: req.headers['x-org-id'] ?? null, auth: req.headers.authorization ?? null, n } });
    res.writeHead(200, { 'Content-Type': 'application/json',
      'Cache-Control': 'public, max-age=600', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    seen,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// The reference configuration with its listener on a free port, `origin` as its upstream, and
// no Redis or admin sections (those need services of their own).
function referenceConfig(origin) {
  const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
  const cut = text.indexOf('\ninvalidation:');
  assert.ok(cut > 0, 'the reference config has an invalidation section to leave out');
  return text.slice(0, cut)
    .replace('127.0.0.1:8080', '127.0.0.1:0')
    .replace('127.0.0.1:3000', origin.address)
    .replace('workers: auto', 'workers: 2');
}

const json = (res) => JSON.parse(res.body.toString('utf8'));

describe('hardening: the reference config', { timeout: 120000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startEchoOrigin();
    proxy = await startProxy({ yaml: referenceConfig(origin) });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (path, headers = {}) => request(proxy.port, { path, headers });

  // One path per route of the reference config, with whether its class scopes entries to a
  // tenant or credential (then one tenant's entry must never reach another).
  const SAMPLES = [
    { path: '/health', scoped: false },
    { path: '/static/app.js', scoped: false },
    { path: '/api/v1/work-orders', scoped: true },
    { path: '/api/v1/work-orders/7', scoped: true },
    { path: '/api/v1/sites', scoped: true },
    { path: '/api/v1/sites/3', scoped: true },
    { path: '/api/v1/search', scoped: false, uniqueParam: 'q' },
    { path: '/api/v1/dashboard', scoped: true },
    { path: '/api/v1/filter-options', scoped: false },
    { path: '/api/v1/me/preferences', scoped: true },
    { path: '/not/routed/elsewhere', scoped: false, uncached: true },
  ];
  // Prefixes whose last segments climb back to the root, written the ways clients encode dots.
  const DISGUISES = ['/static/%2e%2e', '/static/%2E%2E', '/health/..', '/static/.%2e',
    '/api/v1/sites/9/%2e%2e/%2e%2e/%2e%2e/.%2e'];

  it('routes, keys and forwards a path with dot segments as the path they resolve to',
    async () => {
      let run = 0;
      for (const sample of SAMPLES) {
        for (const disguise of DISGUISES) {
          run += 1;
          const target = `${sample.path}?${sample.uniqueParam ?? 'v'}=dots${run}`;
          const what = `${disguise}${target}`;
          const alice = { 'x-org-id': '1', authorization: 'Bearer alice' };
          const first = await get(disguise + target, alice);
          assert.equal(first.status, 200, what);
          assert.equal(json(first).data.path, target, `${what}: the origin got another target`);

          const other = await get(disguise + target, { 'x-org-id': '2' });
          assert.equal(other.status, 200, what);
          if (sample.scoped) {
            assert.equal(json(other).data.org, '2', `${what}: org 2 got org 1's entry`);
            assert.equal(json(other).data.auth, null, `${what}: a credentialed entry leaked`);
          }
          // The plain path finds the entry the disguised request made: one key for both.
          const plain = await get(target, { 'x-org-id': '2' });
          if (sample.uncached) {
            assert.equal(plain.headers['x-cache'], 'BYPASS', what);
          } else {
            assert.equal(plain.headers['x-cache'], 'HIT', `${what}: ${plain.headers['cache-status']}`);
            assert.equal(json(plain).data.n, json(other).data.n, what);
          }
        }
      }
    });

  it('never lets one tenant read another tenant\'s entry through a static-route disguise',
    async () => {
      const path = '/static/%2e%2e/api/v1/work-orders?leak=1';
      const org1 = await get(path, { 'x-org-id': '1', authorization: 'Bearer alice' });
      assert.equal(json(org1).data.org, '1');
      const org2 = await get(path, { 'x-org-id': '2' });
      assert.equal(json(org2).data.org, '2', 'org 2 was served org 1\'s body');
      assert.notEqual(org2.headers['x-cache'], 'HIT');
    });

  it('refuses a path whose escapes are malformed, which a second decoding could read as dots',
    async () => {
      const before = origin.seen.length;
      for (const path of ['/static/%2%65%2%65/api/v1/work-orders', '/api/v1/sites/%7%41',
        '/static/100%']) {
        const res = await get(path, { 'x-org-id': '1' });
        assert.equal(res.status, 400, `${path}: ${res.body}`);
        assert.match(res.body.toString(), /percent-encoding/);
      }
      assert.equal(origin.seen.length, before, 'a malformed path reached the origin');
      assert.equal((await get('/api/v1/sites/1?q=100%')).status, 200, 'the query is not a path');
    });

  it('refuses a batch nested 200,000 deep with 400 "nested too deep" and keeps serving',
    async () => {
      const depth = 200000;
      const body = `{"requests":[${'['.repeat(depth)}${']'.repeat(depth)}]}`;
      const res = await request(proxy.port, { method: 'POST', path: '/api/v1/batch', body,
        headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 400);
      const message = json(res).error;
      assert.match(message, /nested too deep/, message);
      // "{" and "requests" open two levels: the bracket opening level 1025 is at byte 1035.
      assert.match(message, /at byte 1035\b/, message);
      // The same through an item's body, then an ordinary request on the same proxy.
      const item = `{"requests":[{"id":"a","path":"/api/v1/sites","body":${'['.repeat(depth)}` +
        `${']'.repeat(depth)}}]}`;
      const nested = await request(proxy.port, { method: 'POST', path: '/api/v1/batch',
        body: item, headers: { 'content-type': 'application/json' } });
      assert.equal(nested.status, 400);
      assert.match(json(nested).error, /nested too deep/);
      assert.equal((await get('/api/v1/sites/1')).status, 200);
    });

  it('gives batch items with non-ASCII paths their own 400 and sends them nowhere', async () => {
    const paths = ['/api/v1/sites/\u00e9', '/api/v1/sites/\u2028', '/api/v1/sites?q=\u00a0',
      '/\ufeffapi/v1/sites'];
    const items = paths.map((path, i) => ({ id: `bad${i}`, path }));
    items.push({ id: 'ok', path: '/api/v1/sites/caf%C3%A9' });
    const before = origin.seen.length;
    const res = await request(proxy.port, { method: 'POST', path: '/api/v1/batch',
      body: JSON.stringify({ requests: items }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    const { responses } = json(res);
    for (let i = 0; i < paths.length; i += 1) {
      assert.equal(responses[i].status, 400, JSON.stringify(responses[i]));
      assert.match(JSON.stringify(responses[i].body), /ASCII/);
    }
    assert.equal(responses[4].status, 200);
    assert.deepEqual(origin.seen.slice(before), ['GET /api/v1/sites/caf%C3%A9']);
  });

  it('keeps repeated query parameters in order: page=2&page=1 is not page=1&page=2', async () => {
    const headers = { 'x-org-id': '7' };
    const a = await get('/api/v1/sites?page=2&page=1', headers);
    const b = await get('/api/v1/sites?page=1&page=2', headers);
    assert.equal(json(a).data.path, '/api/v1/sites?page=2&page=1');
    assert.equal(json(b).data.path, '/api/v1/sites?page=1&page=2', 'answered with the other order');
    assert.notEqual(b.headers['x-cache'], 'HIT');
    assert.equal((await get('/api/v1/sites?page=2&page=1', headers)).headers['x-cache'], 'HIT');
  });

  it('trims encoded white space at both ends of a field selection', async () => {
    const bodies = [];
    for (const fields of ['id%09', '%09id', 'id%20', '%20id%09']) {
      const res = await get(`/api/v1/sites/5?fields=${fields}`);
      assert.equal(res.status, 200, `fields=${fields}: ${res.body}`);
      bodies.push(json(res));
    }
    for (const body of bodies) assert.deepEqual(body, { data: { id: bodies[0].data.id } });
  });
});

// A raw TCP origin: it logs every byte it is sent and answers each request head with 200.
async function startRawOrigin() {
  const received = [];
  const server = net.createServer((socket) => {
    let pending = '';
    socket.on('data', (data) => {
      received.push(data.toString('latin1'));
      pending += data.toString('latin1');
      let end;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        pending = pending.slice(end + 4);
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    text: () => received.join(''),
    stop: () => new Promise((resolve) => server.close(resolve)),
    server,
  };
}

describe('hardening: refused requests never reach the origin', { timeout: 60000 }, () => {
  let origin;
  let proxy;
  const sockets = new Set();
  before(async () => {
    origin = await startRawOrigin();
    origin.server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address], workers: 1 }) });
  });
  after(async () => {
    await proxy?.stop();
    for (const s of sockets) s.destroy();
    await origin?.stop();
  });

  const HEAD = 'Host: h\r\n';
  const REFUSED = {
    'Transfer-Encoding: gzip': `DELETE /x1 HTTP/1.1\r\n${HEAD}Transfer-Encoding: gzip\r\n\r\n`,
    'Transfer-Encoding: chunk': `DELETE /x2 HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunk\r\n\r\n`,
    'Transfer-Encoding: identity':
      `DELETE /x3 HTTP/1.1\r\n${HEAD}Transfer-Encoding: identity\r\n\r\n`,
    'Transfer-Encoding: chunked;q=1':
      `DELETE /x4 HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n`,
    'Transfer-Encoding: chunked, gzip':
      `DELETE /x5 HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`,
    'Transfer-Encoding: gzip, chunked':
      `DELETE /x6 HTTP/1.1\r\n${HEAD}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    'two Transfer-Encoding lines': `DELETE /x7 HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked\r\n` +
      'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'a folded Transfer-Encoding after a tab':
      `DELETE /x8 HTTP/1.1\r\n${HEAD}X-A: 1\r\n\tTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    'Transfer-Encoding in HTTP/1.0': 'DELETE /x9 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '0\r\n\r\n',
    'an empty header name': `DELETE /x10 HTTP/1.1\r\n${HEAD}: empty\r\n\r\n`,
    'a bare LF ending the head': `DELETE /x11 HTTP/1.1\r\n${HEAD}X-A: 1\r\n\n`,
    'a bare LF after the request line': `DELETE /x12 HTTP/1.1\n${HEAD}\r\n`,
  };

  it('answers each with 400 or 501 and a reason, and the origin never sees a byte of it',
    async () => {
      const warm = await request(proxy.port, { path: '/warm' });
      assert.equal(warm.status, 200);  // the pool now holds an idle connection
      for (const [what, bytes] of Object.entries(REFUSED)) {
        for (let attempt = 0; attempt < 3; attempt += 1) {
          const { data, ended } = await rawExchange(proxy.port, bytes, { timeoutMs: 10000 });
          assert.notEqual(ended, 'timeout', what);
          const [res] = parseRawResponses(data);
          assert.ok([400, 501].includes(res?.statusCode), `${what}: ${data.toString('latin1')}`);
          assert.ok(res.body.length > 0, `${what}: no reason given`);
        }
      }
      // A request after them all goes through; by then anything forwarded earlier has arrived.
      assert.equal((await request(proxy.port, { path: '/sentinel' })).status, 200);
      await waitFor(() => origin.text().includes('GET /sentinel '), { what: 'the sentinel' });
      const lines = origin.text().split('\r\n').filter((l) => / HTTP\/1\.[01]$/.test(l));
      assert.deepEqual(lines, ['GET /warm HTTP/1.1', 'GET /sentinel HTTP/1.1'],
        `the origin received:\n${origin.text()}`);
    });
});

describe('hardening: configuration checks', { timeout: 60000 }, () => {
  const BASE = ['listen: ["127.0.0.1:18080"]', 'upstreams:', '  app:',
    '    servers: ["127.0.0.1:3000"]'];
  const ROUTES = ['routes:', '  - match: { path: /api/v1/batch }', '    upstream: app',
    '    class: api'];
  async function check(lines) {
    const file = writeTempFile('check.yaml', `${lines.join('\n')}\n`);
    const r = await runProxy(['--check-config', file]);
    return { ...r, file, out: r.stdout + r.stderr };
  }
  function assertRefused(r, pattern, line) {
    assert.notEqual(r.code, 0, r.out);
    assert.ok(r.out.includes(`${r.file}:${line}:`), `no ${r.file}:${line}: in\n${r.out}`);
    assert.match(r.out, pattern);
  }

  it('refuses a batch path that is also a route\'s path', async () => {
    const r = await check([...BASE, 'route_classes:', '  api: { ttl: 1m }',
      'batch: { path: /api/v1/batch }', ...ROUTES]);
    assertRefused(r, /batch\.path.*also the path of the route at line 9/, 7);
  });

  it('refuses an admin listener on a proxy listener\'s address', async () => {
    for (const listen of ['127.0.0.1:18080', '0.0.0.0:18080']) {
      const r = await check([...BASE, 'route_classes:', '  api: { ttl: 1m }',
        ...ROUTES.map((l) => l.replace('/api/v1/batch', '/x')), 'admin:', `  listen: ${listen}`]);
      assertRefused(r, /admin\.listen.*cannot share/, 12);
    }
  });

  it('refuses absurd durations and "*" as a vary header', async () => {
    const long = await check([...BASE, 'route_classes:', '  api: { ttl: 99999999999d }',
      ...ROUTES.map((l) => l.replace('/api/v1/batch', '/x'))]);
    assertRefused(long, /ttl.*longer than the limit of 3650d/, 6);
    const star = await check([...BASE, 'route_classes:', '  api: { ttl: 1m, vary: ["*"] }',
      ...ROUTES.map((l) => l.replace('/api/v1/batch', '/x'))]);
    assertRefused(star, /vary.*"\*" cannot be a vary header/, 6);
  });
});

describe('hardening: admin API authentication comes first', { timeout: 60000 }, () => {
  let origin;
  let proxy;
  let admin;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: invalidationConfig({ origin,
      classes: { api: { ttl: '1m' } }, admin: { max_body: '1k' } }) });
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  it('accepts the bearer scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await admin.call('GET', '/stats', { token: null,
        headers: { authorization: `${scheme} ${ADMIN_TOKEN}` } });
      assert.equal(res.status, 200, `${scheme}: ${res.text}`);
    }
    const wrong = await admin.call('GET', '/stats', { token: null,
      headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    assert.equal(wrong.status, 401);
  });

  it('answers an unauthenticated oversized body with 401, an authenticated one with 413',
    async () => {
      const body = JSON.stringify({ keys: ['x'.repeat(4000)] });
      const anonymous = await admin.call('POST', '/purge', { token: null, body });
      assert.equal(anonymous.status, 401, anonymous.text);
      const wrongToken = await admin.call('POST', '/purge', { token: 'nope', body });
      assert.equal(wrongToken.status, 401, wrongToken.text);
      const authorised = await admin.call('POST', '/purge', { body });
      assert.equal(authorised.status, 413, authorised.text);
      const small = await admin.call('POST', '/purge', { body: '{"keys":["k"]}' });
      assert.equal(small.status, 200, small.text);
    });

  it('answers an unauthenticated chunked body over the limit with 401', async () => {
    const head = requestHead('POST', '/purge', [['Host', 'admin'],
      ['Transfer-Encoding', 'chunked']]);
    const chunk = 'x'.repeat(4000);
    const { data } = await rawExchange(admin.port,
      `${head}${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`, { timeoutMs: 10000 });
    assert.equal(parseRawResponses(data)[0]?.statusCode, 401, data.toString('latin1'));
  });
});
