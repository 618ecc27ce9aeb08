// Header handling: hop-by-hop stripping both ways, X-Forwarded-*, Via, Host, end-to-end headers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { configFor } from './lib/config.mjs';
import { RawClient, requestHead } from './lib/raw.mjs';

// Sends one raw request and returns {resp, echo} where echo is what /_test/echo saw (if used).
async function exchange(port, method, target, headers, body = '') {
  const client = await RawClient.open(port);
  try {
    client.send(requestHead(method, target, headers) + body);
    const resp = await client.next();
    const echo = target.startsWith('/_test/echo') ? JSON.parse(resp.body) : undefined;
    return { resp, echo };
  } finally {
    client.close();
  }
}

// All values of a header in the echoed request, by case-insensitive name.
const seen = (echo, name) => echo.headers
  .filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];

describe('headers', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  let rewriting;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: configFor(origin) });
    rewriting = await startProxy({ yaml: configFor(origin,
      { upstream: { host_header: 'backend.internal' } }) });
  });
  after(async () => {
    await Promise.all([proxy?.stop(), rewriting?.stop()]);
    await origin?.stop();
  });

  it('does not forward hop-by-hop request headers or headers named in Connection', async () => {
    const { resp, echo } = await exchange(proxy.port, 'GET', '/_test/echo', [
      ['Host', 'api.example.test'],
      ['Connection', 'keep-alive, X-Secret-Req'],
      ['X-Secret-Req', 'must not reach the origin'],
      ['Keep-Alive', 'timeout=5, max=100'],
      ['Proxy-Connection', 'keep-alive'],
      ['TE', 'trailers'],
      ['Trailer', 'X-Checksum'],
      ['Upgrade', 'example/1'],
      ['X-Visible', 'yes'],
    ]);
    assert.equal(resp.statusCode, 200);
    assert.deepEqual(seen(echo, 'x-visible'), ['yes']);
    for (const name of [...HOP_BY_HOP, 'x-secret-req'].filter((n) => n !== 'connection')) {
      assert.deepEqual(seen(echo, name), [],
        `${name} reached the origin: ${JSON.stringify(echo.headers)}`);
    }
    // A Connection header the proxy adds for its own upstream hop may only say keep-alive/close.
    for (const v of seen(echo, 'connection')) assert.match(v, /^(keep-alive|close)$/i);
  });

  it('does not forward hop-by-hop response headers or headers named in Connection', async () => {
    const query = new URLSearchParams([
      ['Connection', 'X-Secret'],
      ['X-Secret', 'must not reach the client'],
      ['Keep-Alive', 'timeout=3'],
      ['Proxy-Connection', 'keep-alive'],
      ['Upgrade', 'example/1'],
      ['TE', 'trailers'],
      ['Trailer', 'X-Checksum'],
      ['X-Visible', 'yes'],
    ]);
    const { resp } = await exchange(proxy.port, 'GET', `/_test/headers?${query}`,
      [['Host', 'api.example.test']]);
    assert.equal(resp.statusCode, 200);
    assert.deepEqual(resp.headerValues('x-visible'), ['yes']);
    for (const name of ['x-secret', 'proxy-connection', 'upgrade', 'te', 'trailer']) {
      assert.deepEqual(resp.headerValues(name), [], `${name} reached the client`);
    }
    assert.ok(!resp.headerValues('keep-alive').includes('timeout=3'),
      'the origin Keep-Alive header reached the client');
    for (const v of resp.headerValues('connection')) {
      assert.doesNotMatch(v, /x-secret/i, 'the origin Connection header reached the client');
    }
  });

  it('frames a chunked origin response itself instead of copying Transfer-Encoding', async () => {
    const query = new URLSearchParams([['Transfer-Encoding', 'chunked'], ['X-Visible', 'yes']]);
    const { resp } = await exchange(proxy.port, 'GET', `/_test/headers?${query}`,
      [['Host', 'api.example.test']]);
    assert.equal(resp.statusCode, 200);
    assert.ok(resp.headerValues('transfer-encoding').length <= 1, 'Transfer-Encoding repeated');
    assert.deepEqual(JSON.parse(resp.body).headers,
      [['Transfer-Encoding', 'chunked'], ['X-Visible', 'yes']]);
  });

  it('adds X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and Via', async () => {
    const { echo } = await exchange(proxy.port, 'GET', '/_test/echo',
      [['Host', 'shop.example.test:8443']]);
    assert.deepEqual(seen(echo, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(seen(echo, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(seen(echo, 'x-forwarded-host'), ['shop.example.test:8443']);
    const via = seen(echo, 'via').join(', ');
    assert.match(via, /edge-proxy/);
    assert.match(via, /^(HTTP\/)?1\.1 /);
  });

  it('appends the client address to an incoming X-Forwarded-For', async () => {
    const { echo } = await exchange(proxy.port, 'GET', '/_test/echo',
      [['Host', 'api.example.test'], ['X-Forwarded-For', '203.0.113.7, 198.51.100.2']]);
    const xff = seen(echo, 'x-forwarded-for').join(', ');
    assert.equal(xff, '203.0.113.7, 198.51.100.2, 127.0.0.1');
  });

  it('passes the client Host to the origin unchanged', async () => {
    const { echo } = await exchange(proxy.port, 'GET', '/_test/echo',
      [['Host', 'Tenant-A.Example.test:8080']]);
    assert.deepEqual(seen(echo, 'host'), ['Tenant-A.Example.test:8080']);
  });

  it('sends the configured host_header upstream and keeps the client Host in X-Forwarded-Host',
    async () => {
      const { echo } = await exchange(rewriting.port, 'GET', '/_test/echo',
        [['Host', 'api.example.test']]);
      assert.deepEqual(seen(echo, 'host'), ['backend.internal']);
      assert.deepEqual(seen(echo, 'x-forwarded-host'), ['api.example.test']);
    });

  it('forwards end-to-end request headers, repeated ones included', async () => {
    const { echo } = await exchange(proxy.port, 'POST', '/_test/echo', [
      ['Host', 'api.example.test'],
      ['Authorization', 'Bearer token-123'],
      ['Accept', 'application/json'],
      ['X-Tag', 'one'],
      ['X-Tag', 'two'],
      ['Content-Type', 'application/json'],
      ['Content-Length', '2'],
    ], '{}');
    assert.deepEqual(seen(echo, 'authorization'), ['Bearer token-123']);
    assert.deepEqual(seen(echo, 'accept'), ['application/json']);
    assert.equal(seen(echo, 'x-tag').join(', '), 'one, two');
    assert.deepEqual(seen(echo, 'content-type'), ['application/json']);
  });

  it('forwards end-to-end response headers and keeps Set-Cookie lines separate', async () => {
    const query = new URLSearchParams([
      ['Set-Cookie', 'a=1; Path=/; HttpOnly'],
      ['Set-Cookie', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT'],
      ['X-Trace', 'abc'],
      ['Cache-Control', 'private, max-age=0'],
    ]);
    const { resp } = await exchange(proxy.port, 'GET', `/_test/headers?${query}`,
      [['Host', 'api.example.test']]);
    assert.deepEqual(resp.headerValues('set-cookie'),
      ['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT']);
    assert.deepEqual(resp.headerValues('x-trace'), ['abc']);
    assert.equal(resp.headers['content-type'], 'application/json; charset=utf-8');
    assert.ok(resp.headerValues('cache-control').join(', ').includes('private'));
  });
});
