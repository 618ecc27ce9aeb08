// Core proxying: keep-alive, pipelining, request and response body framings, bodiless answers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { configFor } from './lib/config.mjs';
import { RawClient, rawExchange, requestHead, chunked, parseRawResponses } from './lib/raw.mjs';
import { request, getJson } from './lib/http.mjs';
import { curl } from './lib/curl.mjs';
import { patternSha256, sha256 } from './lib/pattern.mjs';
import { withTimeout } from './lib/wait.mjs';

const HOST = [['Host', 'api.example.test']];
const json = (resp) => JSON.parse(resp.body.toString('utf8'));
// How the origin saw the request framing: the values of Content-Length / Transfer-Encoding.
const framingSeen = (echo) => echo.headers
  .filter(([n]) => /^(content-length|transfer-encoding)$/i.test(n)).map(([n]) => n.toLowerCase());

describe('proxying', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: configFor(origin) });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  it('returns the origin response for a demo API request', async () => {
    const direct = await getJson(origin.port, '/api/v1/work-orders/7');
    const proxied = await getJson(proxy.port, '/api/v1/work-orders/7');
    assert.equal(proxied.status, 200);
    assert.deepEqual(proxied.json, direct.json);
    assert.equal(proxied.headers['content-type'], direct.headers['content-type']);
    assert.equal(proxied.headers.etag, direct.headers.etag);
    const viaCurl = await curl([`http://127.0.0.1:${proxy.port}/api/v1/dashboard`]);
    assert.equal(viaCurl.code, 0, viaCurl.stderr);
    assert.deepEqual(JSON.parse(viaCurl.stdout), (await getJson(origin.port, '/api/v1/dashboard')).json);
  });

  it('serves every demo route with the origin status, body and caching headers', async () => {
    // /health is left out: its uptime may tick between the two requests.
    const paths = ['/api/v1/work-orders?page=2&per_page=5&status=open',
      '/api/v1/work-orders/3', '/api/v1/work-orders/0', '/api/v1/sites', '/api/v1/sites/4',
      '/api/v1/dashboard', '/api/v1/search?q=boiler', '/api/v1/search',
      '/api/v1/filter-options', '/api/v1/me/preferences', '/static/app.js', '/static/app.css',
      '/static/logo.svg', '/no/such/page'];
    for (const path of paths) {
      const headers = { authorization: 'Bearer demo-user-7' };
      const [direct, proxied] = [await request(origin.port, { path, headers }),
        await request(proxy.port, { path, headers })];
      assert.equal(proxied.status, direct.status, path);
      assert.equal(proxied.sha256, direct.sha256, `${path}: body differs`);
      for (const name of ['content-type', 'cache-control', 'etag', 'last-modified']) {
        assert.equal(proxied.headers[name], direct.headers[name], `${path}: ${name}`);
      }
    }
  });

  it('serves many requests on one client connection over few upstream connections', async () => {
    await origin.reset();
    const client = await RawClient.open(proxy.port);
    try {
      for (let i = 0; i < 30; i++) {
        client.send(requestHead('GET', `/api/v1/work-orders/${i + 1}`, HOST));
        const resp = await client.next();
        assert.equal(resp.statusCode, 200);
        assert.equal(json(resp).data.id, i + 1);
      }
      assert.equal(client.ended, null, 'the proxy closed a keep-alive connection');
    } finally {
      client.close();
    }
    const stats = await origin.stats();
    assert.equal(stats.requests, 30);
    assert.ok(stats.connections <= 2, `30 requests used ${stats.connections} upstream connections`);
  });

  it('pools upstream connections across short-lived client connections', async () => {
    await origin.reset();
    for (let i = 0; i < 20; i++) {
      const r = await request(proxy.port, { path: '/health', headers: { connection: 'close' } });
      assert.equal(r.status, 200);
    }
    const stats = await origin.stats();
    assert.equal(stats.requests, 20);
    assert.ok(stats.connections <= 4, `20 requests used ${stats.connections} upstream connections`);
  });

  it('answers pipelined requests in request order', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      const started = Date.now();
      client.send(Buffer.concat([
        requestHead('GET', '/_test/delay/400', HOST),
        requestHead('GET', '/_test/delay/20', HOST),
        Buffer.from(requestHead('POST', '/_test/echo?n=3', [...HOST, ['Content-Length', '5']])),
        Buffer.from('hello'),
        requestHead('GET', '/_test/status/204', HOST),
        requestHead('GET', '/api/v1/sites/2', HOST),
      ].map((p) => Buffer.from(p))), { requests: 5 });
      const r = [];
      for (let i = 0; i < 5; i++) r.push(await client.next());
      assert.deepEqual(r.map((x) => x.statusCode), [200, 200, 200, 204, 200]);
      assert.equal(json(r[0]).delayed_ms, 400);
      assert.equal(json(r[1]).delayed_ms, 20);
      assert.equal(json(r[2]).url, '/_test/echo?n=3');
      assert.equal(json(r[2]).bodySha256, sha256(Buffer.from('hello')));
      assert.equal(r[3].bodyBytes, 0);
      assert.equal(json(r[4]).data.id, 2);
      assert.ok(Date.now() - started >= 400);
    } finally {
      client.close();
    }
  });

  it('answers a pipelined HEAD without a body', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.send(requestHead('HEAD', '/_test/bytes/5000', HOST), { head: true });
      client.send(requestHead('HEAD', '/_test/bytes/5000?chunked=1', HOST), { head: true });
      client.send(requestHead('GET', '/health', HOST));
      const [a, b, c] = [await client.next(), await client.next(), await client.next()];
      assert.equal(a.statusCode, 200);
      assert.equal(b.statusCode, 200);
      // Had a body followed the HEAD answers, it would have been parsed as this response.
      assert.equal(c.statusCode, 200);
      assert.equal(json(c).status, 'ok');
    } finally {
      client.close();
    }
  });

  for (const code of [204, 304]) {
    it(`passes a ${code} through without a body`, async () => {
      const client = await RawClient.open(proxy.port);
      try {
        client.send(requestHead('GET', `/_test/status/${code}`, HOST));
        client.send(requestHead('GET', '/health', HOST));
        const first = await client.next();
        const second = await client.next();
        assert.equal(first.statusCode, code);
        assert.equal(first.headers['transfer-encoding'], undefined);
        if (code === 204) assert.equal(first.headers['content-length'], undefined);
        assert.equal(second.statusCode, 200);
        assert.equal(json(second).status, 'ok');
      } finally {
        client.close();
      }
    });
  }

  it('passes error statuses and their bodies through', async () => {
    const missing = await getJson(proxy.port, '/api/v1/work-orders/99999');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'not_found');
    const unavailable = await request(proxy.port, { path: '/_test/status/503' });
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.body.toString(), '503 Service Unavailable\n');
  });

  it('forwards a POST and its 201 with Location', async () => {
    const r = await request(proxy.port, { method: 'POST', path: '/api/v1/work-orders',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Replace gate sensor', priority: 'urgent' }) });
    assert.equal(r.status, 201);
    const created = JSON.parse(r.body).data;
    assert.equal(r.headers.location, `/api/v1/work-orders/${created.id}`);
    const fetched = await getJson(proxy.port, r.headers.location);
    assert.equal(fetched.json.data.title, 'Replace gate sensor');
  });

  it('forwards a Content-Length request body intact', async () => {
    const body = randomBytes(1 << 20);
    const r = await request(proxy.port, { method: 'PUT', path: '/_test/echo', body,
      headers: { 'content-length': body.length } });
    const echo = JSON.parse(r.body);
    assert.equal(echo.bodyBytes, body.length);
    assert.equal(echo.bodySha256, sha256(body));
    assert.equal(echo.method, 'PUT');
    assert.deepEqual(framingSeen(echo), ['content-length']);
  });

  it('forwards an empty body with Content-Length: 0', async () => {
    const r = await request(proxy.port, { method: 'POST', path: '/_test/echo', body: '',
      headers: { 'content-length': 0 } });
    assert.equal(JSON.parse(r.body).bodyBytes, 0);
  });

  it('forwards a chunked request body intact', async () => {
    const pieces = [randomBytes(1), randomBytes(4096), randomBytes(70000), randomBytes(13)];
    const client = await RawClient.open(proxy.port);
    try {
      client.send(Buffer.concat([Buffer.from(requestHead('POST', '/_test/echo',
        [...HOST, ['Transfer-Encoding', 'chunked']])), chunked(pieces)]));
      const echo = json(await client.next());
      const all = Buffer.concat(pieces);
      assert.equal(echo.bodyBytes, all.length);
      assert.equal(echo.bodySha256, sha256(all));
      assert.equal(framingSeen(echo).length, 1, `upstream framing: ${framingSeen(echo)}`);
    } finally {
      client.close();
    }
  });

  it('forwards a chunked body streamed by node in several writes', async () => {
    const pieces = Array.from({ length: 20 }, (_, i) => randomBytes(1000 * (i + 1)));
    const r = await request(proxy.port, { method: 'POST', path: '/_test/echo',
      body: (function* () { yield* pieces; })() });
    const echo = JSON.parse(r.body);
    assert.equal(echo.bodySha256, sha256(Buffer.concat(pieces)));
  });

  const bodies = [
    ['Content-Length', '/_test/bytes/1000000', 1000000],
    ['chunked', '/_test/bytes/1000000?chunked=1&chunk=1000', 1000000],
    ['read-until-close', '/_test/until-close?bytes=300000', 300000],
  ];
  for (const [framing, path, size] of bodies) {
    it(`forwards a ${framing} response body intact`, async () => {
      const client = await RawClient.open(proxy.port);
      try {
        client.send(requestHead('GET', path, HOST));
        const resp = await client.next({ timeoutMs: 30000 });
        assert.equal(resp.statusCode, 200);
        assert.equal(resp.bodyBytes, size);
        assert.equal(sha256(resp.body), patternSha256(size));
        if (resp.framing === 'close') assert.notEqual(client.ended, null);
      } finally {
        client.close();
      }
    });
  }

  it('streams a slow body to the client as it arrives', async () => {
    // The origin sends the first chunk and holds the rest until the client has it: a proxy
    // that buffered the body would never deliver that first chunk.
    let firstBytes;
    const arrived = new Promise((resolve) => { firstBytes = resolve; });
    const done = request(proxy.port, {
      path: '/_test/slow-body?chunks=4&interval=10&size=100&hold=slow-body',
      onResponse: (res) => res.once('data', firstBytes) });
    await withTimeout(arrived, 30000, 'the first body bytes, with the rest held at the origin');
    await origin.openGate('slow-body');
    const r = await done;
    assert.equal(r.bytes, 400);
    assert.equal(r.sha256, patternSha256(400));
  });

  it('never sends chunked framing to an HTTP/1.0 client', async () => {
    const { data, ended } = await rawExchange(proxy.port,
      requestHead('GET', '/_test/bytes/100000?chunked=1', HOST, 'HTTP/1.0'));
    assert.notEqual(ended, 'timeout', 'connection to an HTTP/1.0 client left open');
    const [resp] = parseRawResponses(data);
    assert.equal(resp.statusCode, 200);
    assert.equal(resp.headers['transfer-encoding'], undefined);
    assert.ok(resp.complete);
    assert.equal(sha256(resp.body), patternSha256(100000));
  });

  it('keeps node keep-alive agents working across many requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) =>
        getJson(proxy.port, `/api/v1/work-orders?page=${(i % 5) + 1}&per_page=10`, { agent })));
      for (const [i, r] of results.entries()) {
        assert.equal(r.status, 200);
        assert.equal(r.json.meta.page, (i % 5) + 1);
        assert.equal(r.json.data.length, 10);
      }
    } finally {
      agent.destroy();
    }
  });
});
