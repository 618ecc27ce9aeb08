// HTTP Upgrade tunnelling, on raw sockets against a raw TCP upstream (lib/ws.mjs): an allowed
// Upgrade goes upstream with its headers and a 101 makes a byte tunnel; a refused one (the
// route's `upgrade` list) goes upstream as a plain request without them; any other answer is
// relayed and the connection closes, so bytes behind the request are never read as HTTP; bytes
// sent before the 101 are the tunnel's first; tunnels are never cached; half-close crosses the
// tunnel both ways; client_timeouts.tunnel_idle closes idle tunnels only; limits.max_tunnels
// (per worker) answers 503, and /stats counts tunnels; early bytes and half-close through a TLS
// listener to a TLS upstream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startProxy } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { fetchCached, describeResponse } from './lib/cache.mjs';
import { adminOf } from './lib/redis.mjs';
import { testPki } from './lib/certs.mjs';
import { listenerPorts } from './lib/tls_origin.mjs';
import { waitFor, delay } from './lib/wait.mjs';
import { patternBytes, patternSha256, sha256 } from './lib/pattern.mjs';
import { startRawUpstream, rawUpgrade, upgradeHead, openRaw, parseHead } from './lib/ws.mjs';

// A config with the raw upstream `app` (and upstreamOptions for it), the given routes and extra
// sections.
function config(upstream, { routes, workers = 2, upstreamOptions = {}, ...extra } = {}) {
  return toYaml({
    listen: ['127.0.0.1:0'],
    workers,
    ...extra,
    upstreams: { app: { servers: [upstream.address], ...upstreamOptions } },
    route_classes: { no_cache: { cache: false }, api: { ttl: '60s' } },
    routes: routes ?? [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
  });
}

const headerValues = (req, name) => req.get(name.toLowerCase());
const findRequest = (upstream, target) => upstream.requests.find((r) => r.target === target);

// The body of a response read by rawUpgrade, once Content-Length bytes have arrived.
async function bodyOf(r) {
  const length = Number(r.headers['content-length']?.[0]);
  assert.ok(Number.isFinite(length), `no Content-Length: ${JSON.stringify(r.headers)}`);
  await r.rx.until(() => r.after().length >= length, { what: `${length} body bytes` });
  return r.after().subarray(0, length).toString('utf8');
}

// Opens a tunnel through the proxy to the upstream and returns the client side and the
// upstream's side ({socket, rx, req}).
async function openTunnel(proxyPort, upstream, path, { head, ...options } = {}) {
  const before = upstream.tunnels.length;
  const r = await rawUpgrade(proxyPort, head ?? upgradeHead(path), options);
  assert.equal(r.status, 101, `${path}: ${r.rx.data.toString('latin1')}`);
  const tunnel = await waitFor(() => upstream.tunnels.slice(before)
    .find((t) => t.req.target === path), { what: `the upstream's tunnel for ${path}` });
  return { client: r, tunnel };
}

describe('Upgrade semantics', { timeout: 240000 }, () => {
  let upstream;
  let proxy;
  const gates = new Map();  // target -> a promise the 101 waits for
  // Holds the upstream's 101 for `path` until the returned function is called.
  const hold = (path) => {
    let open;
    gates.set(path, new Promise((resolve) => { open = resolve; }));
    return open;
  };

  before(async () => {
    upstream = await startRawUpstream({
      respond: (req) => {
        const big = req.target.match(/\/big\/(\d+)\//);
        if (big) {
          return { status: 200, headers: [['Content-Type', 'application/octet-stream']],
            body: patternBytes(Number(big[1])) };
        }
        const status = req.target.match(/\/status\/(\d{3})\//);
        if (status) {
          return { status: Number(status[1]), headers: [['Content-Type', 'text/plain'],
            ['Cache-Control', 'max-age=60']], body: `upstream says ${status[1]} to ${req.target}` };
        }
        if (req.get('upgrade').length > 0 && gates.has(req.target)) {
          return { status: 101, gate: gates.get(req.target),
            echo: !req.target.includes('/manual/') };
        }
        if (req.get('upgrade').length > 0 && req.target.includes('/manual/')) {
          return { status: 101, echo: false };
        }
        if (req.target.includes('/unasked-101/')) {
          return { status: 101, echo: false, headers: [['Connection', 'Upgrade'],
            ['Upgrade', 'websocket']] };
        }
        if (req.target.startsWith('/hop-by-hop/')) {
          return { status: 101, headers: [['Connection', 'Upgrade, X-Upstream-Hop'],
            ['Upgrade', 'websocket'], ['X-Upstream-Hop', 'secret'], ['Keep-Alive', 'timeout=5'],
            ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=']] };
        }
        if (req.target.startsWith('/with-101/')) {
          return { status: 101, echo: false, after: `first bytes of ${req.target}`,
            end: req.target.endsWith('/end') };
        }
        if (req.target.startsWith('/switch-to-h2c/')) {
          return { status: 101, echo: false, headers: [['Connection', 'Upgrade'],
            ['Upgrade', 'h2c']] };
        }
        if (req.target.startsWith('/switch-to-nothing/')) {
          return { status: 101, echo: false, headers: [['Connection', 'Upgrade']] };
        }
        return undefined;  // 101 for an Upgrade, else 200 with JSON
      },
    });
    const route = (prefix, rest) => ({ match: { path_prefix: prefix }, upstream: 'app', ...rest });
    proxy = await startProxy({ yaml: config(upstream, { routes: [
      route('/none/', { class: 'no_cache', upgrade: [] }),
      route('/other/', { class: 'no_cache', upgrade: ['other'] }),
      route('/cached/', { class: 'api', upgrade: ['websocket'] }),
      route('/', { class: 'no_cache' }),
    ] }) });
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  it('forwards an allowed Upgrade with its headers; a 101 makes a byte tunnel', async () => {
    const { client, tunnel } = await openTunnel(proxy.port, upstream, '/ws/basic');
    assert.match(client.headers.connection?.join(',') ?? '', /upgrade/i,
      JSON.stringify(client.headers));
    assert.deepEqual(client.headers.upgrade, ['websocket']);
    const req = tunnel.req;
    assert.deepEqual(headerValues(req, 'upgrade'), ['websocket'], req.text);
    assert.match(headerValues(req, 'connection').join(','), /\bupgrade\b/i, req.text);
    assert.deepEqual(headerValues(req, 'sec-websocket-key'), ['dGhlIHNhbXBsZSBub25jZQ=='],
      req.text);
    assert.deepEqual(headerValues(req, 'sec-websocket-version'), ['13'], req.text);
    // Arbitrary bytes, HTTP-looking ones included, both ways.
    const bytes = Buffer.concat([Buffer.from('GET /not-http HTTP/1.1\r\n\r\n'),
      Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10])]);
    client.socket.write(bytes);
    await client.waitAfter(bytes);
    await tunnel.rx.waitFor(bytes);
    assert.equal(findRequest(upstream, '/not-http'), undefined);
    client.socket.end();
    await client.rx.waitClosed();
    await tunnel.rx.waitClosed();
  });

  it('forwards a refused Upgrade as a plain request without Upgrade or Connection', async () => {
    const cases = [
      ['/none/a', 'websocket', 'route upgrade: []'],
      ['/other/b', 'websocket', 'route upgrade: [other]'],
      ['/plain/c', 'h2c', 'a token the default [websocket] does not allow'],
    ];
    for (const [path, protocol, why] of cases) {
      const r = await rawUpgrade(proxy.port, upgradeHead(path, { protocol }));
      assert.equal(r.status, 200, `${why}: ${r.rx.data.toString('latin1')}`);
      assert.equal(r.headers.upgrade, undefined, `${why}: ${JSON.stringify(r.headers)}`);
      assert.deepEqual(JSON.parse(await bodyOf(r)), { path, n: 1 }, why);
      const req = findRequest(upstream, path);
      assert.ok(req, `${why}: the upstream never saw ${path}`);
      assert.deepEqual(headerValues(req, 'upgrade'), [], `${why}:\n${req.text}`);
      assert.deepEqual(headerValues(req, 'connection'), [], `${why}:\n${req.text}`);
      assert.equal(upstream.tunnels.find((t) => t.req.target === path), undefined);
      r.socket.destroy();
    }
  });

  it('matches Connection and Upgrade tokens in any case and forwards only allowed protocols',
    async () => {
      const cases = [
        ['/tokens/a', ['keep-alive, UPGRADE', 'WebSocket'], 'WebSocket'],
        ['/tokens/b', ['Upgrade', 'h2c, websocket'], 'websocket'],
        ['/tokens/c', ['upgrade', 'websocket/13'], 'websocket/13'],
      ];
      for (const [path, [connection, protocol], forwarded] of cases) {
        const { client, tunnel } = await openTunnel(proxy.port, upstream, path,
          { head: upgradeHead(path, { connection, protocol }) });
        assert.deepEqual(headerValues(tunnel.req, 'upgrade'), [forwarded], tunnel.req.text);
        client.socket.write('ok');
        await client.waitAfter('ok');
        client.socket.end();
        await client.rx.waitClosed();
      }
    });

  it('answers 502 to a 101 the proxy did not ask for, and opens no tunnel', async () => {
    for (const path of ['/none/unasked-101/a', '/plain/unasked-101/b']) {
      const head = path.startsWith('/none/') ? upgradeHead(path)
        : 'GET ' + path + ' HTTP/1.1\r\nHost: localhost\r\n\r\n';
      const r = await rawUpgrade(proxy.port, head, { early: 'not for the upstream' });
      assert.equal(r.status, 502, `${path}: ${r.rx.data.toString('latin1')}`);
      await bodyOf(r);
      r.socket.destroy();
      const tunnel = upstream.tunnels.find((t) => t.req.target === path);
      await tunnel.rx.waitEnd();  // the proxy dropped the upstream connection
      assert.equal(tunnel.rx.length, 0, `the upstream got: ${tunnel.rx.data.toString('latin1')}`);
    }
  });

  it('drops hop-by-hop headers named in Connection, both ways, around a 101', async () => {
    const path = '/hop-by-hop/a';
    const { client, tunnel } = await openTunnel(proxy.port, upstream, path,
      { head: upgradeHead(path, { connection: 'Upgrade, X-Client-Hop',
        extra: [['X-Client-Hop', 'private'], ['X-End-To-End', 'kept']] }) });
    assert.deepEqual(headerValues(tunnel.req, 'x-client-hop'), [], tunnel.req.text);
    assert.deepEqual(headerValues(tunnel.req, 'x-end-to-end'), ['kept'], tunnel.req.text);
    assert.deepEqual(headerValues(tunnel.req, 'upgrade'), ['websocket'], tunnel.req.text);
    assert.equal(client.headers['x-upstream-hop'], undefined, JSON.stringify(client.headers));
    assert.equal(client.headers['keep-alive'], undefined, JSON.stringify(client.headers));
    assert.deepEqual(client.headers['sec-websocket-accept'], ['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
    assert.deepEqual(client.headers.upgrade, ['websocket']);
    client.socket.end();
    await client.rx.waitClosed();
  });

  it('forwards an allowed Upgrade with a request body as a plain request', async () => {
    const head = upgradeHead('/body/a', { extra: [['Content-Length', '5']] });
    const r = await rawUpgrade(proxy.port, head, { early: 'hello' });
    assert.equal(r.status, 200, r.rx.data.toString('latin1'));
    assert.deepEqual(JSON.parse(await bodyOf(r)), { path: '/body/a', n: 1 });
    const req = findRequest(upstream, '/body/a');
    assert.equal(req.body.toString(), 'hello');
    assert.deepEqual(headerValues(req, 'upgrade'), [], req.text);
    r.socket.destroy();
  });

  for (const status of [200, 426]) {
    it(`relays a ${status} answer to an Upgrade and closes; pipelined bytes are never HTTP`,
      async () => {
        const path = `/status/${status}/pipe`;
        const pipelined = `/pipelined/after-${status}`;
        const r = await rawUpgrade(proxy.port, upgradeHead(path),
          { early: `GET ${pipelined} HTTP/1.1\r\nHost: localhost\r\n\r\n` });
        assert.equal(r.status, status, r.rx.data.toString('latin1'));
        assert.equal(await bodyOf(r), `upstream says ${status} to ${path}`);
        await r.rx.waitEnd();
        r.socket.destroy();
        const length = Number(r.headers['content-length'][0]);
        assert.equal(r.after().length, length,
          `bytes after the response: ${r.after().subarray(length).toString('latin1')}`);
        // A later request on another connection reaches the upstream; the pipelined one never
        // did (it would have been parsed before the close).
        const sentinel = await fetchCached(proxy.port, `/sentinel/after-${status}`);
        assert.equal(sentinel.status, 200, describeResponse(sentinel));
        assert.equal(upstream.count(pipelined), 0, `${pipelined} reached the upstream`);
        assert.equal(upstream.tunnels.find((t) => t.req.target === path), undefined);
      });
  }

  it('delivers a whole 8 MB non-101 answer before closing, while the client keeps sending',
    async () => {
      const size = 8 << 20;
      const path = `/big/${size}/pipe`;
      const r = await rawUpgrade(proxy.port, upgradeHead(path),
        { early: 'GET /pipelined/after-big HTTP/1.1\r\nHost: localhost\r\n\r\n' });
      assert.equal(r.status, 200, r.rx.data.toString('latin1').slice(0, 300));
      // More bytes the proxy will never read, while the answer is still on its way.
      r.socket.write(Buffer.alloc(256 << 10, 'x'));
      await r.rx.waitEnd({ timeoutMs: 60000 });
      assert.equal(r.rx.error, null, `the answer was cut off: ${r.rx.error?.code}`);
      assert.equal(r.after().length, size);
      assert.equal(sha256(r.after()), patternSha256(size));
      r.socket.destroy();
      assert.equal(upstream.count('/pipelined/after-big'), 0);
    });

  it('answers 502 and closes when the upstream switches to a protocol not offered', async () => {
    for (const path of ['/switch-to-h2c/a', '/switch-to-nothing/a']) {
      const r = await rawUpgrade(proxy.port, upgradeHead(path), { early: 'early bytes' });
      assert.equal(r.status, 502, `${path}: ${r.rx.data.toString('latin1')}`);
      await bodyOf(r);
      await r.rx.waitEnd();
      r.socket.destroy();
      const tunnel = upstream.tunnels.find((t) => t.req.target === path);
      await tunnel.rx.waitEnd();  // the proxy dropped the upstream connection
      assert.equal(tunnel.rx.length, 0, `the upstream got: ${tunnel.rx.data.toString('latin1')}`);
    }
  });

  it('sends bytes written behind the request head, before the 101, into the tunnel', async () => {
    const path = '/ws/early';
    const open = hold(path);
    const { socket, rx } = await openRaw(proxy.port);
    // One write: the head and the first bytes of the new protocol.
    socket.write(upgradeHead(path) + 'EARLY-1|');
    await waitFor(() => findRequest(upstream, path), { what: 'the Upgrade request upstream' });
    socket.write('EARLY-2|');  // while the upstream holds the 101
    assert.equal(upstream.tunnels.find((t) => t.req.target === path), undefined);
    assert.equal(rx.length, 0, 'the client got an answer before the upstream gave one');
    open();
    const head = await rx.until(() => parseHead(rx.data), { what: 'the 101' });
    assert.equal(head.status, 101);
    const tunnel = await waitFor(() => upstream.tunnels.find((t) => t.req.target === path));
    await tunnel.rx.waitFor('EARLY-1|EARLY-2|');
    assert.equal(tunnel.rx.data.toString('latin1'), 'EARLY-1|EARLY-2|',
      'the upstream got other bytes than the early ones');
    await rx.waitFor('EARLY-1|EARLY-2|', { from: head.headLength });  // echoed back
    socket.write('LATER');
    await rx.waitFor('LATER', { from: head.headLength });
    assert.equal(findRequest(upstream, '/not-a-request'), undefined);
    socket.end();
    await rx.waitClosed();
  });

  it('sends 4 MB written before the 101 into the tunnel intact', async () => {
    const path = '/ws/early-big';
    const size = 4 << 20;
    const open = hold(path);
    const { socket, rx } = await openRaw(proxy.port);
    socket.write(Buffer.concat([Buffer.from(upgradeHead(path)), patternBytes(size)]));
    await waitFor(() => findRequest(upstream, path), { what: 'the Upgrade request upstream' });
    open();
    const head = await rx.until(() => parseHead(rx.data), { what: 'the 101' });
    assert.equal(head.status, 101);
    const tunnel = await waitFor(() => upstream.tunnels.find((t) => t.req.target === path));
    await tunnel.rx.waitLength(size);
    assert.equal(tunnel.rx.length, size);
    assert.equal(sha256(tunnel.rx.data), patternSha256(size));
    await rx.waitLength(head.headLength + size);  // echoed back
    assert.equal(sha256(rx.data.subarray(head.headLength)), patternSha256(size));
    socket.end();
    await rx.waitClosed();
  });

  it('never answers an Upgrade from the cache, and never stores what it gets', async () => {
    // The route caches plain GETs.
    const first = await fetchCached(proxy.port, '/cached/page');
    const hit = await fetchCached(proxy.port, '/cached/page');
    assert.equal(hit.xCache, 'HIT', describeResponse(hit));
    assert.equal(upstream.count('/cached/page'), 1, describeResponse(first));
    // An Upgrade for that stored URL still goes upstream, and two sessions are two.
    for (let i = 1; i <= 2; i++) {
      const { client, tunnel } = await openTunnel(proxy.port, upstream, '/cached/page');
      assert.equal(client.headers['x-cache'], undefined, JSON.stringify(client.headers));
      client.socket.write(`session ${i}`);
      await client.waitAfter(`session ${i}`);
      await tunnel.rx.waitFor(`session ${i}`);
      client.socket.end();
      await client.rx.waitClosed();
    }
    assert.equal(upstream.count('/cached/page'), 3);
    // A cacheable answer to an Upgrade request is relayed, never stored or served from store.
    const path = '/cached/status/200/x';
    for (let i = 1; i <= 2; i++) {
      const r = await rawUpgrade(proxy.port, upgradeHead(path));
      assert.equal(r.status, 200);
      assert.notEqual(r.headers['x-cache']?.[0], 'HIT', JSON.stringify(r.headers));
      await bodyOf(r);
      r.socket.destroy();
      assert.equal(upstream.count(path), i);
    }
    const plain = await fetchCached(proxy.port, path);
    assert.notEqual(plain.xCache, 'HIT', describeResponse(plain));
    assert.equal(upstream.count(path), 3, describeResponse(plain));
  });

  it('never coalesces concurrent Upgrades for one URL on a caching route', async () => {
    const path = '/cached/together';
    const open = hold(path);
    // Both held upstream at once: one waiting on the other's fetch would never get there.
    const pending = [rawUpgrade(proxy.port, upgradeHead(path)),
      rawUpgrade(proxy.port, upgradeHead(path))];
    await waitFor(() => upstream.count(path) === 2,
      { what: `both Upgrades for ${path} upstream (${upstream.count(path)} so far)` });
    open();
    const clients = await Promise.all(pending);
    for (const [i, client] of clients.entries()) {
      assert.equal(client.status, 101);
      client.socket.write(`client ${i}`);
      await client.waitAfter(`client ${i}`);
      assert.equal(client.after().toString(), `client ${i}`);
      client.socket.end();
      await client.rx.waitClosed();
    }
  });

  it('carries the client\'s half-close upstream; the upstream can still answer', async () => {
    const { client, tunnel } = await openTunnel(proxy.port, upstream, '/manual/client-ends');
    client.socket.write('last words');
    await tunnel.rx.waitFor('last words');
    client.socket.end();
    await tunnel.rx.until(() => tunnel.rx.ended, { what: 'the upstream to see the end' });
    assert.equal(tunnel.rx.closed, false);
    tunnel.socket.write('answer after your end');
    await client.waitAfter('answer after your end');
    assert.equal(client.rx.ended, false, 'the client saw the end before the upstream ended');
    tunnel.socket.end();
    await client.rx.until(() => client.rx.ended, { what: 'the client to see the end' });
    await client.rx.waitClosed();
    await tunnel.rx.waitClosed();
    assert.equal(client.rx.error, null);
  });

  it('carries the upstream\'s half-close to the client; the client can still send', async () => {
    const { client, tunnel } = await openTunnel(proxy.port, upstream, '/manual/upstream-ends');
    tunnel.socket.write('goodbye');
    tunnel.socket.end();
    await client.waitAfter('goodbye');
    await client.rx.until(() => client.rx.ended, { what: 'the client to see the end' });
    assert.equal(tunnel.rx.ended, false);
    client.socket.write('but I still have this');
    await tunnel.rx.waitFor('but I still have this');
    assert.equal(tunnel.rx.ended, false);
    client.socket.end();
    await tunnel.rx.until(() => tunnel.rx.ended, { what: 'the upstream to see the end' });
    await client.rx.waitClosed();
    await tunnel.rx.waitClosed();
  });

  it('delivers bytes the upstream sent with its 101, in the same packet', async () => {
    const { client, tunnel } = await openTunnel(proxy.port, upstream, '/with-101/open');
    await client.waitAfter('first bytes of /with-101/open');
    client.socket.write('and mine');
    await tunnel.rx.waitFor('and mine');
    client.socket.end();
    tunnel.socket.end();
    await client.rx.waitClosed();
  });

  it('delivers a 101, bytes and an end of stream sent together, then still carries the client\'s',
    async () => {
      const { client, tunnel } = await openTunnel(proxy.port, upstream, '/with-101/end');
      await client.waitAfter('first bytes of /with-101/end');
      await client.rx.until(() => client.rx.ended, { what: 'the client to see the end' });
      client.socket.write('late reply');
      await tunnel.rx.waitFor('late reply');
      client.socket.end();
      await tunnel.rx.until(() => tunnel.rx.ended, { what: 'the upstream to see the end' });
      await client.rx.waitClosed();
    });

  it('takes a client that ends its side before the 101 as gone: no tunnel, no 101', async () => {
    // WebSocket clients never half-close before the handshake; a client that does has given
    // up, and its place under max_tunnels and its upstream connection are freed at once (as
    // nginx ends a request whose client closed while the upstream had not answered).
    const path = '/manual/ends-early';
    const open = hold(path);
    const { socket, rx } = await openRaw(proxy.port);
    socket.end(upgradeHead(path) + 'only this');
    // The end may reach the proxy before or after it has sent the request upstream; either way
    // the client gets no answer and the connection closes.
    await rx.waitClosed();
    open();
    assert.equal(rx.data.length, 0, rx.data.toString('latin1'));
  });

  it('closes the client connection when the upstream resets the tunnel', async () => {
    const { client, tunnel } = await openTunnel(proxy.port, upstream, '/manual/upstream-reset');
    tunnel.socket.write('y');
    await client.waitAfter('y');
    tunnel.socket.resetAndDestroy();
    await client.rx.waitEnd();
    client.socket.destroy();
  });

  it('closes both sides when the client resets the connection', async () => {
    const { client, tunnel } = await openTunnel(proxy.port, upstream, '/manual/reset');
    client.socket.write('x');
    await tunnel.rx.waitFor('x');
    client.socket.resetAndDestroy();
    await tunnel.rx.waitEnd();
  });

  it('exits cleanly on SIGTERM (no sanitizer report)', async () => {
    const exit = await proxy.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.slice(-4000));
    assert.doesNotMatch(proxy.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  });
});

describe('Upgrade through a TLS listener to a TLS upstream', { timeout: 120000 }, () => {
  let upstream;
  let proxy;
  let tlsPort;
  let clientTls;

  before(async () => {
    const pki = await testPki();
    clientTls = { ca: fs.readFileSync(pki.ca.cert), servername: 'localhost' };
    upstream = await startRawUpstream({ echo: false, tls: pki.server.origin });
    const { default: def } = pki.server;
    proxy = await startProxy({ yaml: toYaml({
      listen: [{ address: '127.0.0.1:0',
        tls: { certificates: [{ cert: def.cert, key: def.key }] } }],
      workers: 1,
      upstreams: { app: { servers: [upstream.address],
        tls: { enabled: true, ca: pki.ca.cert, server_name: 'origin.test' } } },
      route_classes: { no_cache: { cache: false } },
      routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
    }) });
    tlsPort = (await listenerPorts(proxy, 1))[0].port;
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
    it(`carries bytes before the 101 and half-close both ways (client ${maxVersion})`,
      async () => {
        const tls = { ...clientTls, maxVersion };
        // The client ends first.
        const a = await openTunnel(tlsPort, upstream, `/tls/${maxVersion}/client-ends`,
          { tls, early: 'early' });
        await a.tunnel.rx.waitFor('early');
        a.client.socket.end('last words');
        await a.tunnel.rx.until(() => a.tunnel.rx.ended, { what: 'the upstream to see the end' });
        assert.equal(a.tunnel.rx.data.toString(), 'earlylast words');
        a.tunnel.socket.write('answer after your end');
        await a.client.waitAfter('answer after your end');
        a.tunnel.socket.end();
        await a.client.rx.until(() => a.client.rx.ended, { what: 'the client to see the end' });
        await a.client.rx.waitClosed();
        // The upstream ends first.
        const b = await openTunnel(tlsPort, upstream, `/tls/${maxVersion}/upstream-ends`, { tls });
        b.tunnel.socket.end('goodbye');
        await b.client.waitAfter('goodbye');
        await b.client.rx.until(() => b.client.rx.ended, { what: 'the client to see the end' });
        b.client.socket.write('but I still have this');
        await b.tunnel.rx.waitFor('but I still have this');
        b.client.socket.end();
        await b.tunnel.rx.until(() => b.tunnel.rx.ended, { what: 'the upstream to see the end' });
        await b.client.rx.waitClosed();
      });
  }
});

describe('tunnel_idle', { timeout: 120000 }, () => {
  let upstream;
  const proxies = [];
  before(async () => {
    // Tunnels under /manual/ are the test's to drive; the others echo.
    upstream = await startRawUpstream({ respond: (req) => (req.target.startsWith('/manual/')
      ? { status: 101, echo: false } : undefined) });
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    await upstream?.stop();
  });
  const start = async (idle) => {
    const p = await startProxy({ yaml: config(upstream,
      { client_timeouts: { tunnel_idle: idle }, admin: { listen: '127.0.0.1:0' } }) });
    proxies.push(p);
    p.admin = await adminOf(p);
    return p;
  };
  const waitNoTunnels = (p) => waitFor(async () => (await p.admin.stats()).tunnels.open === 0,
    { what: 'tunnels.open 0 in /stats' });

  it('closes a tunnel with no bytes either way for tunnel_idle (1s)', async (t) => {
    const p = await start('1s');
    const { client, tunnel } = await openTunnel(p.port, upstream, '/idle/quiet');
    client.socket.write('one');
    await client.waitAfter('one');
    const since = Date.now();
    await client.rx.waitEnd({ timeoutMs: 30000 });
    await tunnel.rx.waitEnd({ timeoutMs: 30000 });
    client.socket.destroy();
    await waitNoTunnels(p);
    t.diagnostic(`closed ${Date.now() - since} ms after the last echo`);
  });

  it('closes a half-closed tunnel that stays idle for tunnel_idle (1s)', async () => {
    const p = await start('1s');
    const { client, tunnel } = await openTunnel(p.port, upstream, '/manual/half-idle');
    client.socket.end('bye');
    await tunnel.rx.until(() => tunnel.rx.ended, { what: 'the upstream to see the end' });
    // The upstream says nothing more, and keeps its side open: the idle timeout ends it.
    await client.rx.waitEnd({ timeoutMs: 30000 });
    await client.rx.waitClosed();
    await waitNoTunnels(p);
    // The proxy has closed its upstream connection too: a write there is refused.
    await waitFor(() => {
      if (!tunnel.rx.closed) tunnel.socket.write('anyone there?');
      return tunnel.rx.closed;
    }, { intervalMs: 100, what: 'the upstream connection to be refused' });
  });

  it('keeps a tunnel with traffic every 200 ms open past tunnel_idle (2s)', async () => {
    const p = await start('2s');
    const { client, tunnel } = await openTunnel(p.port, upstream, '/idle/busy');
    const started = Date.now();
    let i = 0;
    // 2.5 times the idle timeout, with a message at least every 200 ms plus the echo's round trip.
    while (Date.now() - started < 5000) {
      const message = `ping-${i++};`;
      client.socket.write(message);
      await client.waitAfter(message);
      assert.equal(client.rx.ended || client.rx.closed, false, `closed after ${i} pings`);
      await delay(200);
    }
    assert.equal(client.rx.ended || client.rx.closed, false);
    assert.equal(tunnel.rx.closed, false);
    client.socket.write('still open');
    await client.waitAfter('still open');
    client.socket.end();
    await client.rx.waitClosed();
  });

  it('keeps a tunnel whose upstream alone talks every 200 ms open past tunnel_idle (2s)',
    async () => {
      const p = await start('2s');
      const { client, tunnel } = await openTunnel(p.port, upstream, '/manual/server-talks');
      const started = Date.now();
      let i = 0;
      while (Date.now() - started < 5000) {
        const message = `tick-${i++};`;
        tunnel.socket.write(message);
        await client.waitAfter(message);
        assert.equal(client.rx.ended || client.rx.closed, false, `closed after ${i} ticks`);
        await delay(200);
      }
      assert.equal(tunnel.rx.ended || tunnel.rx.closed, false);
      client.socket.end();
      tunnel.socket.end();
      await client.rx.waitClosed();
    });
});

describe('max_tunnels', { timeout: 120000 }, () => {
  let upstream;
  let proxy;
  let admin;
  let openRace;  // lets the 101s for /race/ go
  const race = new Promise((resolve) => { openRace = resolve; });
  before(async () => {
    upstream = await startRawUpstream({ respond: (req) => {
      if (req.get('upgrade').length === 0) return undefined;
      if (req.target.startsWith('/race/')) return { status: 101, gate: race };
      if (req.target.startsWith('/refuse/')) return { status: 426, body: 'not here' };
      if (req.target.startsWith('/leave/')) return { status: 101, gate: new Promise(() => {}) };
      return undefined;
    } });
    // A first-byte timeout far beyond any wait here: an Upgrade the upstream never answers
    // is only ended by its client leaving.
    proxy = await startProxy({ yaml: config(upstream, { workers: 1,
      limits: { max_tunnels: 2 }, admin: { listen: '127.0.0.1:0' },
      upstreamOptions: { first_byte_timeout: '300s' } }) });
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  const tunnelStats = async () => {
    const stats = await admin.stats();
    assert.ok(stats?.tunnels, `/stats has no "tunnels": ${JSON.stringify(stats)?.slice(0, 400)}`);
    return stats.tunnels;
  };

  it('answers 503 above max_tunnels per worker, and admits again once one closes', async () => {
    const before = await tunnelStats();
    assert.equal(before.open, 0, JSON.stringify(before));
    const a = await openTunnel(proxy.port, upstream, '/limit/a');
    const b = await openTunnel(proxy.port, upstream, '/limit/b');
    let stats = await tunnelStats();
    assert.equal(stats.open, 2, JSON.stringify(stats));
    assert.equal(stats.opened, before.opened + 2, JSON.stringify(stats));

    const c = await rawUpgrade(proxy.port, upgradeHead('/limit/c'));
    assert.equal(c.status, 503, c.rx.data.toString('latin1'));
    const body = await bodyOf(c);
    assert.match(body, /max_tunnels|tunnels/i, body);
    await c.rx.waitEnd();
    c.socket.destroy();
    assert.equal(findRequest(upstream, '/limit/c'), undefined, 'the refused one went upstream');
    stats = await tunnelStats();
    assert.equal(stats.refused, before.refused + 1, JSON.stringify(stats));
    assert.equal(stats.open, 2, JSON.stringify(stats));

    // The first two still work.
    for (const { client } of [a, b]) {
      client.socket.write('alive');
      await client.waitAfter('alive');
    }

    a.client.socket.end();
    await a.client.rx.waitClosed();
    await waitFor(async () => (await tunnelStats()).open === 1, { what: 'tunnels.open 1' });
    const d = await openTunnel(proxy.port, upstream, '/limit/d');
    d.client.socket.write('admitted');
    await d.client.waitAfter('admitted');
    stats = await tunnelStats();
    assert.deepEqual(stats, { open: 2, opened: before.opened + 3, refused: before.refused + 1 });

    b.client.socket.end();
    d.client.socket.end();
    await waitFor(async () => (await tunnelStats()).open === 0, { what: 'tunnels.open 0' });
  });

  it('holds max_tunnels for Upgrades made at once, whose 101s are still to come', async () => {
    await waitFor(async () => (await tunnelStats()).open === 0, { what: 'tunnels.open 0' });
    const statuses = [];
    const pending = [1, 2, 3].map((i) => rawUpgrade(proxy.port, upgradeHead(`/race/${i}`))
      .then((r) => { statuses.push(r.status); return r; }));
    // All three are in before any 101 is let go: the third refused at once, or all three
    // waiting upstream.
    const upstreamCount = () => upstream.requests
      .filter((r) => r.target.startsWith('/race/')).length;
    await waitFor(() => upstreamCount() === 3 || (upstreamCount() === 2 && statuses.includes(503)),
      { what: 'the three Upgrades upstream or refused' });
    openRace();
    const clients = await Promise.all(pending);
    try {
      const stats = await tunnelStats();
      assert.deepEqual(clients.map((c) => c.status).sort(), [101, 101, 503],
        `three Upgrades at once with max_tunnels: 2 (/stats tunnels: ${JSON.stringify(stats)})`);
      assert.ok(stats.open <= 2, JSON.stringify(stats));
    } finally {
      for (const c of clients) c.socket.end();
    }
    await waitFor(async () => (await tunnelStats()).open === 0, { what: 'tunnels.open 0' });
  });


  it('gives back the places of Upgrades that never became tunnels', async () => {
    await waitFor(async () => (await tunnelStats()).open === 0, { what: 'tunnels.open 0' });
    // Answered with something other than a 101.
    for (let i = 0; i < 3; i++) {
      const r = await rawUpgrade(proxy.port, upgradeHead(`/refuse/${i}`));
      assert.equal(r.status, 426, r.rx.data.toString('latin1'));
      await r.rx.waitEnd();
      r.socket.destroy();
    }
    // Clients that left while their Upgrade waited upstream (as many as there are places).
    for (let i = 0; i < 2; i++) {
      const { socket } = await openRaw(proxy.port);
      socket.write(upgradeHead(`/leave/${i}`));
      await waitFor(() => findRequest(upstream, `/leave/${i}`), { what: `/leave/${i} upstream` });
      socket.destroy();
    }
    // Both places are free again (once the proxy has seen those clients go).
    const open = (path) => waitFor(async () => {
      const r = await rawUpgrade(proxy.port, upgradeHead(path));
      if (r.status === 101) return r;
      r.socket.destroy();
      return false;
    }, { intervalMs: 100, what: `a tunnel for ${path} (places held for clients that left?)` });
    const a = await open('/limit/after-1');
    const b = await open('/limit/after-2');
    assert.equal((await tunnelStats()).open, 2);
    a.socket.end();
    b.socket.end();
    await waitFor(async () => (await tunnelStats()).open === 0, { what: 'tunnels.open 0' });
  });

  it('exits cleanly on SIGTERM (no sanitizer report)', async () => {
    const exit = await proxy.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.slice(-4000));
    assert.doesNotMatch(proxy.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  });
});
