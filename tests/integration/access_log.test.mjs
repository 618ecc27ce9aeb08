// The access log through the real binary: JSON lines for a miss, a hit, a 404, a TLS request and
// a WebSocket tunnel (written when it closes, with bytes both ways); the combined format; a
// sample of 0 logging only 5xx; SIGUSR1 reopening a renamed file without losing lines; request
// ids kept, replaced, generated, sent upstream and on every response, and an origin's id never
// replayed from the cache.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startOrigin } from './lib/origin.mjs';
import { startProxy, writeTempFile } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { testPki } from './lib/certs.mjs';
import { listenerPorts, httpsRequest } from './lib/tls_origin.mjs';
import { fetchCached } from './lib/cache.mjs';
import { waitFor } from './lib/wait.mjs';
import { startRawUpstream, rawUpgrade, upgradeHead } from './lib/ws.mjs';
import { RawClient, requestHead } from './lib/raw.mjs';

const HEX32 = /^[0-9a-f]{32}$/;
let counter = 0;
const uniqueId = (what) => `t-${process.pid}-${++counter}-${what}`;

function config({ origin, raw, accessLog, listen = ['127.0.0.1:0'], workers = 2 }) {
  return toYaml({
    listen,
    workers,
    access_log: accessLog,
    upstreams: {
      app: { servers: [origin.address] },
      ...(raw ? { raw: { servers: [raw.address] } } : {}),
    },
    route_classes: { no_cache: { cache: false }, api: { ttl: '60s' } },
    routes: [
      ...(raw ? [{ match: { path_prefix: '/ws/' }, upstream: 'raw', class: 'no_cache',
        upgrade: ['websocket'] }] : []),
      { match: { path_prefix: '/_test/cache/' }, upstream: 'app', class: 'api' },
      { match: { path_prefix: '/_test/' }, upstream: 'app', class: 'no_cache' },
    ],
  });
}

// The lines of a log file (or text) that are complete, parsed as JSON.
function jsonLines(text) {
  const lines = text.split('\n');
  lines.pop();  // after the last '\n': empty, or a line still being written
  return lines.map((line) => {
    try {
      return JSON.parse(line);
    } catch (err) {
      throw new Error(`not JSON: ${line} (${err.message})`);
    }
  });
}

const readFile = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

// Waits for the JSON line whose request_id is `id`.
const lineOf = (file, id, what = id) => waitFor(
  () => jsonLines(readFile(file)).find((l) => l.request_id === id),
  { what: `the access log line of ${what}` });

async function get(port, path, headers = {}) {
  return fetchCached(port, path, { headers });
}

describe('access log', { timeout: 240000 }, () => {
  let origin;
  let raw;
  let pki;
  let proxy;
  let logFile;
  let plainPort;
  let tlsPort;

  before(async () => {
    [origin, raw, pki] = await Promise.all([startOrigin(), startRawUpstream(), testPki()]);
    logFile = writeTempFile('access.log', '');
    const pair = { cert: pki.server.default.cert, key: pki.server.default.key };
    proxy = await startProxy({ yaml: config({ origin, raw,
      listen: ['127.0.0.1:0', { address: '127.0.0.1:0', tls: { certificates: [pair] } }],
      accessLog: { path: logFile, flush_interval: '20ms' } }) });
    const bound = await listenerPorts(proxy, 2);
    plainPort = bound[0].port;
    tlsPort = bound[1].port;
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([origin?.stop(), raw?.stop()]);
  });

  it('logs a miss and a hit with every field', async () => {
    const path = `/_test/cache/log-${process.pid}?cc=max-age=60`;
    const missId = uniqueId('miss');
    const hitId = uniqueId('hit');
    const miss = await get(plainPort, path, { 'x-request-id': missId, 'user-agent': 'agent/1' });
    assert.equal(miss.xCache, 'MISS');
    const hit = await get(plainPort, path, { 'x-request-id': hitId });
    assert.equal(hit.xCache, 'HIT');

    const m = await lineOf(logFile, missId);
    assert.match(m.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(m.time) - Date.now()) < 24 * 3600 * 1000, m.time);
    assert.equal(m.type, 'request');
    assert.equal(m.client, '127.0.0.1');
    assert.equal(m.method, 'GET');
    assert.equal(m.target, path);
    assert.equal(m.protocol, 'HTTP/1.1');
    assert.equal(m.status, 200);
    assert.ok(m.bytes_sent > miss.body.length, JSON.stringify(m));
    assert.ok(m.duration_ms >= 0);
    assert.equal(m.upstream, origin.address);
    assert.ok(m.upstream_time_ms >= 0, JSON.stringify(m));
    assert.equal(m.cache, 'miss');
    assert.equal(m.route_class, 'api');
    assert.equal(m.user_agent, 'agent/1');
    assert.equal(m.tls, null);

    const h = await lineOf(logFile, hitId);
    assert.equal(h.status, 200);
    assert.equal(h.cache, 'hit');
    assert.equal(h.upstream, null, 'a hit asks no upstream');
    assert.equal(h.upstream_time_ms, null);
    assert.equal(h.route_class, 'api');
  });

  it('logs a 404 for a target no route matches', async () => {
    const id = uniqueId('404');
    const r = await get(plainPort, '/nowhere/at/all', { 'x-request-id': id });
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-request-id'], id, 'local replies carry the id too');
    const l = await lineOf(logFile, id);
    assert.equal(l.status, 404);
    assert.equal(l.target, '/nowhere/at/all');
    assert.equal(l.route_class, null);
    assert.equal(l.upstream, null);
  });

  it('logs the TLS version of a request over TLS', async () => {
    const id = uniqueId('tls');
    const r = await httpsRequest(tlsPort, { path: '/_test/echo', ca: pki.ca.cert,
      headers: { 'x-request-id': id } });
    assert.equal(r.status, 200);
    const l = await lineOf(logFile, id);
    assert.match(l.tls ?? '', /^TLSv1\.[23]$/, JSON.stringify(l));
    assert.equal(l.route_class, 'no_cache');
  });

  it('logs an HTTP/1.0 request as such, and a user agent with quotes, backslashes and invalid UTF-8 as valid JSON', async () => {
    const id = uniqueId('http10');
    const client = await RawClient.open(plainPort);
    try {
      client.send(Buffer.concat([Buffer.from(`GET /_test/echo?q=1 HTTP/1.0\r\nHost: x\r\n` +
        `X-Request-Id: ${id}\r\nUser-Agent: bad\\`, 'latin1'), Buffer.from([0xff, 0xc3]),
        Buffer.from('"end\r\n\r\n')]));
      const resp = await client.next();
      assert.equal(resp.statusCode, 200);
    } finally {
      client.close();
    }
    const l = await lineOf(logFile, id);
    assert.equal(l.protocol, 'HTTP/1.0');
    assert.equal(l.user_agent, 'bad\\\ufffd\ufffd"end');
  });

  it('logs a tunnel when it closes, with bytes both ways and its duration', async () => {
    const id = uniqueId('tunnel');
    const r = await rawUpgrade(plainPort, upgradeHead('/ws/chat', { extra: [['X-Request-Id', id]] }));
    assert.equal(r.status, 101);
    assert.deepEqual(r.headers['x-request-id'], [id]);
    r.socket.write('hello tunnel');
    await r.waitAfter('hello tunnel');
    assert.equal(jsonLines(readFile(logFile)).find((l) => l.request_id === id), undefined,
      'no line while the tunnel is open');
    r.socket.end();
    const l = await lineOf(logFile, id, 'the tunnel');
    assert.equal(l.type, 'tunnel');
    assert.equal(l.status, 101);
    assert.equal(l.target, '/ws/chat');
    assert.equal(l.upstream, raw.address);
    assert.equal(l.bytes_received, 'hello tunnel'.length);
    assert.ok(l.bytes_sent >= 'hello tunnel'.length + 'HTTP/1.1 101'.length, JSON.stringify(l));
    assert.ok(l.duration_ms >= 0);
    assert.equal(jsonLines(readFile(logFile)).filter((x) => x.request_id === id).length, 1,
      'one line for the upgrade and its tunnel');
  });

  it('keeps a well-formed X-Request-Id and sends it upstream and back', async () => {
    const id = uniqueId('kept');
    const r = await get(plainPort, '/_test/echo', { 'x-request-id': id });
    assert.equal(r.headers['x-request-id'], id);
    const upstream = r.json.headers.filter(([n]) => n.toLowerCase() === 'x-request-id');
    assert.deepEqual(upstream.map(([, v]) => v), [id]);
  });

  it('replaces a malformed or repeated X-Request-Id, and makes one when there is none', async () => {
    const cases = [
      ['malformed', [['X-Request-Id', 'has space']]],
      ['too long', [['X-Request-Id', 'x'.repeat(201)]]],
      ['repeated', [['X-Request-Id', 'a'], ['X-Request-Id', 'b']]],
      ['absent', []],
    ];
    for (const [what, extra] of cases) {
      const client = await RawClient.open(plainPort);
      try {
        client.send(requestHead('GET', '/_test/echo', [['Host', 'x'], ...extra]));
        const resp = await client.next();
        const ids = resp.headerValues('x-request-id');
        assert.equal(ids.length, 1, what);
        assert.match(ids[0], HEX32, what);
        const upstream = JSON.parse(resp.body).headers
          .filter(([n]) => n.toLowerCase() === 'x-request-id').map(([, v]) => v);
        assert.deepEqual(upstream, ids, `${what}: the origin sees the same id`);
        const l = await lineOf(logFile, ids[0], what);
        assert.equal(l.target, '/_test/echo');
      } finally {
        client.close();
      }
    }
  });

  it('never replays the origin\'s X-Request-Id from the cache: each response carries its own', async () => {
    const path = `/_test/cache/rid-${process.pid}?cc=max-age=60&request_id=ORIGIN-A`;
    const b1 = uniqueId('b1');
    const b2 = uniqueId('b2');
    const miss = await get(plainPort, path, { 'x-request-id': b1 });
    assert.equal(miss.xCache, 'MISS');
    assert.equal(miss.headers['x-request-id'], b1);
    const hit = await get(plainPort, path, { 'x-request-id': b2 });
    assert.equal(hit.xCache, 'HIT');
    assert.equal(hit.headers['x-request-id'], b2, 'the hit carries the current id, never A');
    const generated = await get(plainPort, path);
    assert.equal(generated.xCache, 'HIT');
    assert.match(generated.headers['x-request-id'], HEX32);
  });

  it('sends a hit with the time of sending as its Date, not the stored one', async () => {
    // An origin clock ten minutes ahead: the entry stays fresh (its apparent age is 0) and its
    // stored Date can never be the time a hit is sent.
    const originDate = new Date(Date.now() + 10 * 60 * 1000).toUTCString();
    const query = new URLSearchParams([['date_value', originDate], ['cc', 'max-age=600']]);
    const path = `/_test/cache/date-${process.pid}?${query}`;
    const miss = await get(plainPort, path);
    assert.equal(miss.xCache, 'MISS');
    const hit = await get(plainPort, path);
    assert.equal(hit.xCache, 'HIT');
    assert.notEqual(hit.headers.date, originDate);
    const sent = Date.parse(hit.headers.date);
    assert.ok(Math.abs(sent - Date.now()) < 5 * 60 * 1000, `Date ${hit.headers.date}`);
    assert.ok(Number(hit.headers.age) < 60, `Age ${hit.headers.age}: the stored Date drives it`);
  });

  it('gives batch items ids derived from the batch\'s', async () => {
    const id = uniqueId('batch');
    const client = await RawClient.open(plainPort);
    try {
      const body = JSON.stringify({ requests: [{ id: 'a', method: 'GET', path: '/_test/echo' },
        { id: 'b', method: 'GET', path: '/_test/echo' }] });
      client.send(requestHead('POST', '/api/v1/batch', [['Host', 'x'], ['X-Request-Id', id],
        ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]) + body);
      const resp = await client.next();
      assert.equal(resp.statusCode, 200, resp.body);
      assert.deepEqual(resp.headerValues('x-request-id'), [id]);
    } finally {
      client.close();
    }
    const first = await lineOf(logFile, `${id}-1`);
    const second = await lineOf(logFile, `${id}-2`);
    assert.equal(first.target, '/_test/echo');
    assert.equal(second.target, '/_test/echo');
    assert.equal((await lineOf(logFile, id)).target, '/api/v1/batch');
  });
});

describe('access log settings', { timeout: 240000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  it('writes the combined format to stdout', async () => {
    const proxy = await startProxy({ yaml: config({ origin,
      accessLog: { path: 'stdout', format: 'combined', flush_interval: '20ms' } }) });
    try {
      const id = uniqueId('combined');
      const r = await get(proxy.port, '/_test/echo?a=1', { 'x-request-id': id,
        'user-agent': 'ua "x"', referer: 'https://ref.test/' });
      assert.equal(r.status, 200);
      const line = await waitFor(() => proxy.stdout.split('\n').find((l) => l.includes(id)),
        { what: 'the combined line' });
      assert.match(line, new RegExp('^127\\.0\\.0\\.1 - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d ' +
        '\\+0000\\] "GET /_test/echo\\?a=1 HTTP/1\\.1" 200 \\d+ "https://ref\\.test/" ' +
        '"ua \\\\x22x\\\\x22" time=\\S+Z type=request ' + `request_id=${id} duration_ms=\\d+ ` +
        `upstream=${origin.address.replace(/\./g, '\\.')} upstream_time_ms=\\d+ cache=bypass ` +
        'route_class=no_cache tls="-"$'), line);
    } finally {
      await proxy.stop();
    }
  });

  it('with sample 0 logs only 5xx responses', async () => {
    const logFile = writeTempFile('sampled.log', '');
    const proxy = await startProxy({ yaml: config({ origin, workers: 1,
      accessLog: { path: logFile, sample: 0, flush_interval: '20ms' } }) });
    try {
      const okId = uniqueId('ok');
      const notFoundId = uniqueId('404');
      const errorId = uniqueId('503');
      assert.equal((await get(proxy.port, '/_test/echo', { 'x-request-id': okId })).status, 200);
      assert.equal((await get(proxy.port, '/nowhere', { 'x-request-id': notFoundId })).status, 404);
      assert.equal((await get(proxy.port, '/_test/status/503', { 'x-request-id': errorId })).status,
        503);
      // One worker appends in order: once the 503's line is there, the others would be too.
      await lineOf(logFile, errorId);
      const ids = jsonLines(readFile(logFile)).map((l) => l.request_id);
      assert.deepEqual(ids, [errorId]);
    } finally {
      await proxy.stop();
    }
  });

  it('reopens the file on SIGUSR1 after a rename, losing no lines', async () => {
    const logFile = writeTempFile('rotated.log', '');
    const proxy = await startProxy({ yaml: config({ origin,
      accessLog: { path: logFile, flush_interval: '20ms' } }) });
    try {
      const N = 30;
      const ids = [];
      for (let i = 0; i < N; ++i) {
        ids.push(uniqueId(`before-${i}`));
        assert.equal((await get(proxy.port, '/_test/echo', { 'x-request-id': ids.at(-1) })).status,
          200);
      }
      fs.renameSync(logFile, `${logFile}.1`);
      const reopenedBefore = proxy.stderr.split('reopened').length;
      process.kill(proxy.pid, 'SIGUSR1');
      await waitFor(() => proxy.stderr.split('reopened').length > reopenedBefore,
        { what: 'the reopen' });
      const after = [];
      for (let i = 0; i < N; ++i) {
        after.push(uniqueId(`after-${i}`));
        assert.equal((await get(proxy.port, '/_test/echo', { 'x-request-id': after.at(-1) })).status,
          200);
      }
      await waitFor(() => jsonLines(readFile(logFile)).length === N,
        { what: `${N} lines in the new file` });
      const newIds = jsonLines(readFile(logFile)).map((l) => l.request_id).sort();
      assert.deepEqual(newIds, [...after].sort(), 'every line after the reopen, in the new file');
      const oldIds = jsonLines(readFile(`${logFile}.1`)).map((l) => l.request_id).sort();
      assert.deepEqual(oldIds, [...ids].sort(), 'every line before it, in the renamed file');
    } finally {
      await proxy.stop();
    }
  });
});
