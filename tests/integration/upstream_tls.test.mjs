// Upstream TLS: the proxy talking HTTPS to a node:https origin. Verification against the test
// CA (server_name, host_header or the server's address as the name), pooled and kept-alive TLS
// connections, session resumption on new ones, a pooled connection the origin closed, 20 MB both
// ways, 502 with the reason for a wrong host name, an expired certificate or an unknown CA (the
// request never reaches such an origin), verify: false, a client certificate for an origin that
// asks for one, an upstream that speaks plain HTTP or nothing at all; then 100 MB from a TLS
// origin to a client that stops reading, and 50 MB to a TLS origin that reads slowly, with the
// proxy's memory bounded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy } from './lib/proxy.mjs';
import { startOrigin } from './lib/origin.mjs';
import { toYaml } from './lib/config.mjs';
import { request } from './lib/http.mjs';
import { RawClient, requestHead } from './lib/raw.mjs';
import { patternSha256, patternChunks } from './lib/pattern.mjs';
import { sampleRss } from './lib/rss.mjs';
import { delay, waitFor } from './lib/wait.mjs';
import { testPki } from './lib/certs.mjs';
import { startTlsOrigin } from './lib/tls_origin.mjs';

const BIG = 20 << 20;

describe('upstream TLS', { timeout: 240000 }, () => {
  let pki;
  const origins = {};
  let plainOrigin;
  let silent;
  let proxy;

  before(async () => {
    pki = await testPki();
    const { server, client, clientCa, ca } = pki;
    const started = await Promise.all([
      startTlsOrigin(server.origin),
      startTlsOrigin(server.wrongHost),
      startTlsOrigin(server.expired),
      startTlsOrigin(server.untrusted),
      startTlsOrigin({ ...server.origin, clientCa: clientCa.cert, requireClientCert: true }),
      startTlsOrigin(server.origin),
      startTlsOrigin(server.origin),
      startTlsOrigin(server.origin),
    ]);
    [origins.good, origins.wrongHost, origins.expired, origins.untrusted, origins.mtls,
      origins.pooled, origins.resumable, origins.dropping] = started;
    plainOrigin = await startOrigin();
    silent = await startSilentServer();
    const upstreams = {
      good: { servers: [origins.good.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      pooled: { servers: [origins.pooled.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      resumable: { servers: [origins.resumable.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      dropping: { servers: [origins.dropping.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      plainOrigin: { servers: [plainOrigin.address], tls: { enabled: true, ca: ca.cert } },
      silent: { servers: [silent.address], connect_timeout: '1s', first_byte_timeout: '1s',
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      byHostHeader: { servers: [origins.good.address], host_header: 'origin.test',
        tls: { enabled: true, ca: ca.cert } },
      byHostHeaderWithPort: { servers: [origins.good.address], host_header: 'origin.test:8443',
        tls: { enabled: true, ca: ca.cert } },
      byAddress: { servers: [origins.good.address], tls: { enabled: true, ca: ca.cert } },
      wrongHost: { servers: [origins.wrongHost.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      expired: { servers: [origins.expired.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      unknownCa: { servers: [origins.untrusted.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
      systemTrust: { servers: [origins.good.address],
        tls: { enabled: true, server_name: 'origin.test' } },
      noVerify: { servers: [origins.untrusted.address],
        tls: { enabled: true, ca: ca.cert, verify: false, server_name: 'origin.test' } },
      mtls: { servers: [origins.mtls.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test',
          client_cert: client.alice.cert, client_key: client.alice.key } },
      mtlsWithoutCert: { servers: [origins.mtls.address],
        tls: { enabled: true, ca: ca.cert, server_name: 'origin.test' } },
    };
    // One worker: every request shares one upstream pool, whichever connection it came on.
    proxy = await startProxy({ yaml: toYaml({
      listen: ['127.0.0.1:0'],
      workers: 1,
      upstreams,
      route_classes: { no_cache: { cache: false } },
      routes: Object.keys(upstreams).map((name) => ({
        match: { path_prefix: `/${name}/` }, upstream: name, class: 'no_cache' })),
    }) });
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([...Object.values(origins), plainOrigin, silent].map((o) => o?.stop()));
  });

  const get = (path, options = {}) => request(proxy.port, { path, ...options });
  const json = (res) => JSON.parse(res.body.toString('utf8'));
  const seen = (echo, name) => echo.headers
    .filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

  // A 502 whose body says why; the origin never saw a request.
  async function assertRefused(path, origin, reasons) {
    origin.reset();
    const res = await get(path);
    const body = res.body.toString('utf8');
    assert.equal(res.status, 502, `${path}: ${res.status} ${body}`);
    assert.match(body, /certificate/i, `${path}: ${body}`);
    assert.match(body, reasons, `${path}: ${body}`);
    assert.equal(origin.stats().requests, 0, `${path} reached the origin`);
  }

  it('verifies the origin against the configured CA and server_name', async () => {
    origins.good.reset();
    const res = await get('/good/echo?x=1');
    assert.equal(res.status, 200, res.body.toString());
    const echo = json(res);
    assert.equal(echo.url, '/good/echo?x=1');
    assert.equal(echo.tls.servername, 'origin.test', 'SNI is the server_name');
    assert.match(echo.tls.protocol, /^TLSv1\.[23]$/);
    assert.deepEqual(seen(echo, 'x-forwarded-proto'), ['http'], 'the client spoke plain HTTP');
  });

  it('verifies the name in host_header, or the server address, when no server_name is set',
    async () => {
      const byHost = await get('/byHostHeader/echo');
      assert.equal(byHost.status, 200, byHost.body.toString());
      assert.equal(json(byHost).tls.servername, 'origin.test');
      assert.deepEqual(seen(json(byHost), 'host'), ['origin.test']);
      // A port in host_header is no part of the name.
      const withPort = await get('/byHostHeaderWithPort/echo');
      assert.equal(withPort.status, 200, withPort.body.toString());
      assert.equal(json(withPort).tls.servername, 'origin.test');
      assert.deepEqual(seen(json(withPort), 'host'), ['origin.test:8443']);
      // The certificate names 127.0.0.1 among its subjectAltNames.
      const byAddress = await get('/byAddress/echo');
      assert.equal(byAddress.status, 200, byAddress.body.toString());
    });

  it('reuses one pooled TLS connection for sequential requests', async () => {
    // An origin of its own: no connection from an earlier test is in its pool.
    const client = await RawClient.open(proxy.port);
    try {
      for (let i = 0; i < 3; i++) {
        client.send(requestHead('GET', `/pooled/echo?same=${i}`, [['Host', 'edge.test']]));
        assert.equal((await client.next()).statusCode, 200);
      }
    } finally {
      client.close();
    }
    // Requests on other client connections use the same pool (one worker).
    for (let i = 0; i < 2; i++) {
      assert.equal((await get(`/pooled/echo?another=${i}`)).status, 200);
    }
    const stats = origins.pooled.stats();
    assert.equal(stats.requests, 5);
    assert.equal(stats.tlsConnections, 1,
      `${stats.tlsConnections} TLS connections for 5 sequential requests`);
    assert.equal(stats.tcpConnections, 1);
  });

  it('resumes the TLS session when it opens a new connection to the same origin', async () => {
    // Connection: close on every answer, so every request needs a new connection.
    for (let i = 0; i < 3; i++) {
      const res = await get(`/resumable/echo?close=1&i=${i}`);
      assert.equal(res.status, 200, res.body.toString());
    }
    const stats = origins.resumable.stats();
    assert.equal(stats.tlsConnections, 3);
    assert.equal(stats.resumed, 2, `${stats.resumed} of 2 later handshakes resumed a session`);
  });

  it('does not lose a request to a pooled TLS connection the origin has closed', async () => {
    const first = await get('/dropping/echo?drop=1');
    assert.equal(first.status, 200, first.body.toString());
    // The origin has closed its end (close_notify and FIN) of the idle pooled connection.
    await waitFor(() => origins.dropping.stats().dropped === 1,
      { what: 'the origin to close the idle connection' });
    const second = await get('/dropping/echo?after=drop');
    assert.equal(second.status, 200, second.body.toString());
    assert.equal(json(second).url, '/dropping/echo?after=drop');
    const stats = origins.dropping.stats();
    assert.equal(stats.requests, 2);
    assert.equal(stats.tlsConnections, 2);
  });

  it('answers 502 when a TLS upstream speaks plain HTTP', async () => {
    const res = await get('/plainOrigin/echo');
    assert.equal(res.status, 502, res.body.toString());
    assert.ok(res.body.length > 0, 'an empty 502');
  });

  it('gives up on a TLS origin that never answers the ClientHello', async () => {
    const res = await get('/silent/echo');
    assert.ok([502, 504].includes(res.status), `${res.status} ${res.body}`);
    assert.ok(res.body.length > 0, 'an empty error answer');
    assert.ok(silent.connections() >= 1, 'the proxy never connected');
  });

  it('streams a 20 MB response and a 20 MB upload through upstream TLS intact', async () => {
    const down = await get(`/good/bytes/${BIG}`, { keepBody: false });
    assert.equal(down.status, 200);
    assert.equal(down.bytes, BIG);
    assert.equal(down.sha256, patternSha256(BIG));
    const up = await get('/good/echo', { method: 'POST', body: patternChunks(BIG, 1 << 16),
      headers: { 'content-length': String(BIG), 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 200, up.body.toString().slice(0, 300));
    assert.equal(json(up).bodyBytes, BIG);
    assert.equal(json(up).bodySha256, patternSha256(BIG));
  });

  it('answers 502 saying why when the certificate does not name the host', async () => {
    await assertRefused('/wrongHost/echo', origins.wrongHost,
      /host ?name|name mismatch|does not match/i);
  });

  it('answers 502 saying why when the origin certificate has expired', async () => {
    await assertRefused('/expired/echo', origins.expired, /expired/i);
  });

  it('answers 502 saying why when the origin certificate comes from an unknown CA', async () => {
    await assertRefused('/unknownCa/echo', origins.untrusted,
      /verif|issuer|unknown|untrusted|trust/i);
  });

  it('verifies against the system trust store when no ca is given (502: the test CA is not ' +
    'in it)', async () => {
    const seenBefore = origins.good.stats().requests;
    const res = await get('/systemTrust/echo');
    const body = res.body.toString('utf8');
    assert.equal(res.status, 502, body);
    assert.match(body, /certificate/i);
    assert.equal(origins.good.stats().requests, seenBefore, 'the request reached the origin');
  });

  it('connects without verification when verify is false', async () => {
    origins.untrusted.reset();
    const res = await get('/noVerify/echo');
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(origins.untrusted.stats().requests, 1);
  });

  it('presents the client certificate to an origin that asks for one', async () => {
    origins.mtls.reset();
    const res = await get('/mtls/echo');
    assert.equal(res.status, 200, res.body.toString());
    const echo = json(res);
    assert.equal(echo.tls.clientAuthorized, true);
    assert.equal(echo.tls.clientSubject?.CN, 'alice');
    assert.equal(echo.tls.clientSubject?.O, 'Edge Tests');
    // Without one, that origin refuses the handshake: a 502, and no request reaches it.
    const refused = await get('/mtlsWithoutCert/echo');
    assert.equal(refused.status, 502, refused.body.toString());
    assert.ok(refused.body.length > 0, 'an empty 502');
    assert.equal(origins.mtls.stats().requests, 1);
  });

  it('exits cleanly on SIGTERM (no sanitizer report)', async () => {
    const exit = await proxy.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.slice(-4000));
    assert.doesNotMatch(proxy.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  });
});

// A TCP server that accepts connections and never sends a byte.
async function startSilentServer() {
  const sockets = new Set();
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    connections: () => count,
    stop: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

// Backpressure through the upstream TLS layer: the proxy stops reading a TLS origin for a client
// that does not read, and stops reading the client while a TLS origin reads slowly.
describe('upstream TLS streaming with bounded memory', { timeout: 240000 }, () => {
  const MB = 1 << 20;
  const HUGE = 100 * MB;
  let pki;
  let origin;
  before(async () => {
    pki = await testPki();
    origin = await startTlsOrigin(pki.server.origin);
  });
  after(async () => { await origin?.stop(); });

  function assertBounded(t, rss, limitKb, what) {
    t.diagnostic(`${what}: RSS ${rss.baselineKb} -> ${rss.maxKb} kB over ${rss.samples} samples`);
    assert.ok(rss.increaseKb < limitKb, `${what}: proxy RSS grew by ${rss.increaseKb} kB ` +
      `(from ${rss.baselineKb} to ${rss.maxKb} kB; limit ${limitKb} kB)`);
  }

  // A proxy per test (an earlier transfer would raise the baseline), warmed up.
  async function freshProxy(t) {
    const proxy = await startProxy({ yaml: toYaml({
      listen: ['127.0.0.1:0'],
      workers: 1,
      limits: { max_request_body: '200m' },
      upstreams: { app: { servers: [origin.address],
        tls: { enabled: true, ca: pki.ca.cert, server_name: 'origin.test' } } },
      route_classes: { no_cache: { cache: false } },
      routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
    }) });
    t.after(() => proxy.stop());
    await request(proxy.port, { path: '/bytes/1048576', keepBody: false });
    return proxy;
  }

  it('holds a TLS origin\'s response for a client that stops reading, then delivers it intact',
    async (t) => {
      const proxy = await freshProxy(t);
      let paused;
      const r = await request(proxy.port, { path: `/bytes/${HUGE}`, keepBody: false,
        timeoutMs: 60000, onResponse: (res) => {
          res.pause();
          const rss = sampleRss(proxy.pid);
          // The point of the test: a client that reads nothing for a while.
          paused = delay(2000).then(() => {
            const stats = rss.stop();
            res.resume();
            return stats;
          });
        } });
      assert.equal(r.status, 200);
      assert.equal(r.bytes, HUGE);
      assert.equal(r.sha256, patternSha256(HUGE));
      assertBounded(t, await paused, 64 * 1024, 'while the client was not reading');
    });

  it('pushes back on a fast uploader while a TLS origin reads slowly', async (t) => {
    const proxy = await freshProxy(t);
    const size = 50 * MB;
    const rate = 12.5 * MB;
    const rss = sampleRss(proxy.pid);
    const r = await request(proxy.port, { method: 'POST', path: `/echo?bytes_per_sec=${rate}`,
      headers: { 'content-length': size }, body: patternChunks(size, 64 * 1024),
      timeoutMs: 60000 });
    const stats = rss.stop();
    assert.equal(r.status, 200, r.body.toString());
    const result = JSON.parse(r.body);
    assert.equal(result.bodyBytes, size);
    assert.equal(result.bodySha256, patternSha256(size));
    assert.ok(result.elapsed_ms >= 3000, `origin read 50 MB in ${result.elapsed_ms} ms`);
    // Half the body: a proxy that buffered the upload would exceed this.
    assertBounded(t, stats, 24 * 1024, 'slow TLS origin upload');
  });
});
