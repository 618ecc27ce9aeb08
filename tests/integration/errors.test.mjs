// Error answers: upstream failures (502/504), client limits (431/413), malformed requests (400,
// then close), an upstream dying mid-body, unrouted requests (404), slow request heads.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { RawClient, rawExchange, requestHead, chunked, parseRawResponses } from './lib/raw.mjs';
import { closedPort } from './lib/ports.mjs';

const HOST = ['Host', 'api.example.test'];

// Asserts `resp` is a local error reply with this status and a body saying why.
function assertErrorReply(resp, status) {
  assert.ok(resp, 'no response');
  assert.equal(resp.statusCode, status, `status line: HTTP/${resp.httpVersion} ` +
    `${resp.statusCode} ${resp.reason}; body: ${resp.body?.toString().slice(0, 200)}`);
  assert.ok(resp.complete, 'error response incomplete');
  assert.ok(resp.body.length > 0, 'error response has an empty body');
}

describe('errors', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    const deadPort = await closedPort();
    proxy = await startProxy({ yaml: proxyConfig({
      limits: { max_header_bytes: '8k', max_request_body: '1m' },
      clientTimeouts: { header: '1s' },
      upstreams: {
        app: { servers: [origin.address], first_byte_timeout: '1s' },
        dead: { servers: [`127.0.0.1:${deadPort}`], connect_timeout: '1s' },
      },
      routes: [
        { match: { path_prefix: '/dead/' }, upstream: 'dead', class: 'no_cache' },
        { match: { path_prefix: '/_test/' }, upstream: 'app', class: 'no_cache' },
        { match: { path_prefix: '/api/' }, upstream: 'app', class: 'no_cache' },
      ],
    }) });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  async function single(method, target, headers = [HOST], { timeoutMs = 5000 } = {}) {
    const client = await RawClient.open(proxy.port);
    try {
      client.send(requestHead(method, target, headers), { head: method === 'HEAD' });
      return await client.next({ timeoutMs });
    } finally {
      client.close();
    }
  }

  it('answers 502 when the upstream refuses connections', async () => {
    assertErrorReply(await single('GET', '/dead/api/v1/sites'), 502);
  });

  it('answers 504 when the upstream sends nothing within first_byte_timeout', async () => {
    const started = Date.now();
    // /_test/hang never answers, so the 504 can only come from first_byte_timeout.
    const resp = await single('GET', '/_test/hang', [HOST], { timeoutMs: 30000 });
    const elapsed = Date.now() - started;
    assertErrorReply(resp, 504);
    assert.ok(elapsed >= 900, `504 after ${elapsed} ms, before the 1 s timeout`);
  });

  it('answers 431 to a header block over max_header_bytes, and serves one under it', async () => {
    const ok = await single('GET', '/_test/echo', [HOST, ['X-Big', 'a'.repeat(4000)]]);
    assert.equal(ok.statusCode, 200);
    const { data, ended } = await rawExchange(proxy.port,
      requestHead('GET', '/_test/echo', [HOST, ['X-Big', 'a'.repeat(10000)]]));
    assert.notEqual(ended, 'timeout');
    assertErrorReply(parseRawResponses(data)[0], 431);
  });

  it('answers 413 to a declared Content-Length over max_request_body without the body',
    async () => {
      await origin.reset();
      const ok = await single('POST', '/_test/echo', [HOST, ['Content-Length', '0']]);
      assert.equal(ok.statusCode, 200);
      const client = await RawClient.open(proxy.port);
      try {
        client.send(requestHead('POST', '/_test/echo', [HOST, ['Content-Length', `${2 << 20}`]]));
        assertErrorReply(await client.next({ timeoutMs: 30000 }), 413);
      } finally {
        client.close();
      }
      assert.equal((await origin.stats()).byPath['/_test/echo'], 1, 'the origin saw the request');
    });

  it('accepts a body under max_request_body', async () => {
    const body = Buffer.alloc(512 * 1024, 'x');
    const client = await RawClient.open(proxy.port);
    try {
      client.send(Buffer.concat([Buffer.from(requestHead('POST', '/_test/echo',
        [HOST, ['Content-Length', String(body.length)]])), body]));
      const resp = await client.next();
      assert.equal(resp.statusCode, 200);
      assert.equal(JSON.parse(resp.body).bodyBytes, body.length);
    } finally {
      client.close();
    }
  });

  it('answers 413 to a chunked body growing over max_request_body', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.send(requestHead('POST', '/_test/echo', [HOST, ['Transfer-Encoding', 'chunked']]));
      const piece = Buffer.alloc(64 * 1024, 'y');
      const frame = Buffer.concat([Buffer.from(piece.length.toString(16) + '\r\n'), piece,
        Buffer.from('\r\n')]);
      // Send like a real client: keep writing until the proxy answers or 4 MB have gone.
      for (let sent = 0; sent < 4 << 20; sent += piece.length) {
        if (client.finalResponses().length > 0 || client.ended) break;
        if (!client.socket.write(frame)) {
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, 200);
            client.socket.once('drain', () => { clearTimeout(timer); resolve(); });
          });
        }
      }
      assertErrorReply(await client.next({ timeoutMs: 30000 }), 413);
    } finally {
      client.close();
    }
  });

  const malformed = [
    ['both Content-Length and Transfer-Encoding',
      requestHead('POST', '/_test/echo', [HOST, ['Content-Length', '6'],
        ['Transfer-Encoding', 'chunked']]) + '0\r\n\r\n' +
        requestHead('GET', '/_test/status/418', [HOST]), true],
    ['two different Content-Length headers',
      requestHead('POST', '/_test/echo', [HOST, ['Content-Length', '5'],
        ['Content-Length', '6']]) + 'hello!', true],
    ['an invalid chunk size',
      requestHead('POST', '/_test/echo', [HOST, ['Transfer-Encoding', 'chunked']]) +
        'zz\r\nhello\r\n0\r\n\r\n', false],
    ['bare LF line endings', 'GET /_test/echo HTTP/1.1\nHost: api.example.test\n\n', true],
    ['a bare LF inside the header block',
      'GET /_test/echo HTTP/1.1\r\nHost: api.example.test\nX-A: 1\r\n\r\n', true],
    ['an obs-fold header continuation',
      'GET /_test/echo HTTP/1.1\r\nHost: api.example.test\r\nX-A: 1\r\n folded\r\n\r\n', true],
  ];
  for (const [what, bytes, neverForwarded] of malformed) {
    it(`answers 400 and closes the connection for ${what}`, async () => {
      await origin.reset();
      const { data, ended } = await rawExchange(proxy.port, bytes, { timeoutMs: 30000 });
      assert.notEqual(ended, 'timeout', 'the connection was left open after a 400');
      const responses = parseRawResponses(data);
      assertErrorReply(responses[0], 400);
      assert.equal(responses.length, 1, 'bytes after the bad request were served');
      if (neverForwarded) assert.equal((await origin.stats()).requests, 0);
    });
  }

  it('closes the client connection when the upstream dies mid-body', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.send(requestHead('GET', '/_test/close-mid-body?bytes=100000', [HOST]));
      const ended = await client.waitEnd({ timeoutMs: 30000 });
      assert.notEqual(ended, 'timeout', 'the connection stayed open after a truncated body');
      for (const resp of client.finalResponses()) {
        assert.ok(!(resp.complete && resp.statusCode === 200),
          `a truncated body was delivered as a complete 200 (${resp.framing}, ` +
          `${resp.bodyBytes} bytes)`);
      }
    } finally {
      client.close();
    }
  });

  it('answers 404 to a request no route matches', async () => {
    await origin.reset();
    assertErrorReply(await single('GET', '/nowhere/at/all'), 404);
    assert.equal((await origin.stats()).requests, 0, 'an unrouted request reached the origin');
    assert.equal((await single('GET', '/api/v1/dashboard')).statusCode, 200);
  });

  it('closes a connection whose request head stalls past the header timeout', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      const started = Date.now();
      client.socket.write('GET /_test/echo HTTP/1.1\r\nHost: api.example.test\r\n');
      const ended = await client.waitEnd({ timeoutMs: 30000 });
      const elapsed = Date.now() - started;
      assert.notEqual(ended, 'timeout', 'a stalled request head kept its connection');
      assert.ok(elapsed >= 900, `closed after ${elapsed} ms, before the 1s header timeout`);
      for (const resp of client.finalResponses()) assert.equal(resp.statusCode, 408);
    } finally {
      client.close();
    }
  });
});
