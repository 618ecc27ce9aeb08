// Real WebSockets (Debian's node-ws) through the proxy to ws echo servers: text and binary
// frames, 1 MB messages, closes started by either side with their codes, over ws:// and wss://
// (a TLS listener) to a plain and a TLS upstream; a paused reader on either side while the
// other pushes 200 MB, with the proxy's memory bounded; and 1,000 WebSockets open at once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomBytes, createHash } from 'node:crypto';
import { startProxy } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { testPki } from './lib/certs.mjs';
import { listenerPorts } from './lib/tls_origin.mjs';
import { adminOf } from './lib/redis.mjs';
import { rssKb, sampleRss } from './lib/rss.mjs';
import { patternSha256, sha256 } from './lib/pattern.mjs';
import { waitFor } from './lib/wait.mjs';
import { startWsEcho, openWs, nextMessage, closed, pushPattern } from './lib/ws.mjs';

const MB = 1 << 20;

// The proxy's RSS may grow this much while 200 MB go through a tunnel. ASan's allocator keeps
// freed blocks in quarantine (256 MB by default, plus their redzones), so under ASan every
// chunk the tunnel copied stays resident for a while: that pass gets that much more room.
const RSS_LIMIT_KB = 64 * 1024;
const ASAN_EXTRA_KB = 400 * 1024;
function rssLimitKb(pid) {
  const asan = /libasan|libclang_rt\.asan/.test(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'));
  return RSS_LIMIT_KB + (asan ? ASAN_EXTRA_KB : 0);
}

describe('WebSockets through the proxy', { timeout: 240000 }, () => {
  let pki;
  let echo;       // plain ws echo server
  let tlsEcho;    // wss echo server (certificate for origin.test)
  let proxy;
  let admin;
  let plainPort;
  let tlsPort;
  let ca;

  before(async () => {
    pki = await testPki();
    ca = fs.readFileSync(pki.ca.cert);
    [echo, tlsEcho] = await Promise.all([startWsEcho(),
      startWsEcho({ tls: pki.server.origin })]);
    const { default: def } = pki.server;
    proxy = await startProxy({ yaml: toYaml({
      listen: ['127.0.0.1:0',
        { address: '127.0.0.1:0', tls: { certificates: [{ cert: def.cert, key: def.key }] } }],
      workers: 2,
      admin: { listen: '127.0.0.1:0' },
      upstreams: {
        app: { servers: [echo.address] },
        secure: { servers: [tlsEcho.address],
          tls: { enabled: true, ca: pki.ca.cert, server_name: 'origin.test' } },
      },
      route_classes: { no_cache: { cache: false } },
      routes: [
        { match: { path_prefix: '/tls-upstream/' }, upstream: 'secure', class: 'no_cache' },
        { match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' },
      ],
    }) });
    const ports = await listenerPorts(proxy, 2);
    plainPort = ports[0].port;
    tlsPort = ports[1].port;
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await echo?.stop();
    await tlsEcho?.stop();
  });

  const modes = [
    { name: 'ws:// to a plain upstream', base: () => `ws://127.0.0.1:${plainPort}`,
      server: () => echo },
    { name: 'wss:// (TLS listener) to a plain upstream',
      base: () => `wss://localhost:${tlsPort}`, options: () => ({ ca }), server: () => echo },
    { name: 'ws:// to a TLS upstream', base: () => `ws://127.0.0.1:${plainPort}/tls-upstream`,
      server: () => tlsEcho },
    { name: 'wss:// to a TLS upstream', base: () => `wss://localhost:${tlsPort}/tls-upstream`,
      options: () => ({ ca }), server: () => tlsEcho },
  ];
  let sessions = 0;
  const open = (mode, path) => {
    const id = `${path.includes('?') ? '&' : '?'}id=${++sessions}`;
    const url = `${mode.base()}${path}${id}`;
    return openWs(url, mode.options?.() ?? {}).then((ws) => ({ ws, id: sessions }));
  };
  const serverClose = (mode, id) => waitFor(() => mode.server().closes
    .find((c) => new URL(c.url, 'http://x').searchParams.get('id') === String(id)),
  { what: `the server to see session ${id} close` });

  for (const mode of modes) {
    describe(mode.name, () => {
      it('echoes text and binary frames', async () => {
        const { ws } = await open(mode, '/echo');
        const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const replies = [nextMessage(ws)];
        ws.send('hello, tunnel');
        const text = await replies[0];
        assert.equal(text.isBinary, false);
        assert.equal(text.data.toString('utf8'), 'hello, tunnel');
        const bin = nextMessage(ws);
        ws.send(binary);
        const got = await bin;
        assert.equal(got.isBinary, true);
        assert.deepEqual(got.data, binary);
        const empty = nextMessage(ws);
        ws.send(Buffer.alloc(0));
        assert.equal((await empty).data.length, 0);
        ws.close(1000);
        assert.equal((await closed(ws)).code, 1000);
      });

      it('echoes 1 MB text and binary messages intact', async () => {
        const { ws } = await open(mode, '/echo');
        const binary = randomBytes(MB);
        const text = randomBytes(MB / 2).toString('hex');  // 1 MB of ASCII
        const both = [];
        ws.on('message', (data, isBinary) => both.push({ data, isBinary }));
        ws.send(binary);
        ws.send(text);
        await waitFor(() => both.length >= 2, { what: 'both echoes' });
        assert.equal(both[0].isBinary, true);
        assert.equal(sha256(both[0].data), sha256(binary));
        assert.equal(both[1].isBinary, false);
        assert.equal(both[1].data.length, MB);
        assert.equal(sha256(both[1].data), sha256(Buffer.from(text)));
        ws.close(1000);
        await closed(ws);
      });

      it('carries a close started by the client, with its code, to the server', async () => {
        const { ws, id } = await open(mode, '/echo');
        const reply = nextMessage(ws);
        ws.send('before closing');
        await reply;
        ws.close(4001, 'client says bye');
        const atClient = await closed(ws);
        assert.equal(atClient.code, 4001);
        const atServer = await serverClose(mode, id);
        assert.equal(atServer.code, 4001);
        assert.equal(atServer.reason, 'client says bye');
      });

      it('carries a close started by the server, with its code, to the client', async () => {
        const { ws, id } = await open(mode, '/close?code=4002&reason=server%20says%20bye');
        const done = closed(ws);
        const reply = nextMessage(ws);
        ws.send('last message');
        assert.equal((await reply).data.toString(), 'last message');
        const atClient = await done;
        assert.equal(atClient.code, 4002);
        assert.equal(atClient.reason, 'server says bye');
        assert.equal((await serverClose(mode, id)).code, 4002);
      });
    });
  }

  // Waits until `push` (pushPattern's progress) is stuck behind backpressure: waiting for its
  // socket to drain, having sent nothing more over several looks (at least a second in all).
  async function stall(push) {
    let last = -1;
    let still = 0;
    await waitFor(() => {
      still = push.waiting && push.sent === last ? still + 1 : 0;
      last = push.sent;
      return still >= 5;
    }, { intervalMs: 250, timeoutMs: 60000, what: 'the sender to stall behind the paused reader' });
    return push.sent;
  }
  const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;

  for (const mode of [modes[0], modes[3]]) {
    it(`bounds memory for a paused client while the server pushes 200 MB, ${mode.name}`,
      async (t) => {
        const total = 200 * MB;
        const server = mode.server();
        const baseKb = rssKb(proxy.pid);
        const rss = sampleRss(proxy.pid);
        const pushesBefore = server.pushes.length;
        const { ws } = await open(mode, `/push?bytes=${total}&size=${MB}`);
        ws.pause();
        const hash = createHash('sha256');
        let received = 0;
        ws.on('message', (data) => {
          hash.update(data);
          received += data.length;
        });
        const push = await waitFor(() => server.pushes[pushesBefore],
          { what: 'the push to start' });
        const stalledAt = await stall(push);
        t.diagnostic(`the server stalled after ${(stalledAt / MB).toFixed(1)} MB; proxy RSS ` +
          `baseline ${mb(baseKb)}, max so far ${mb(rss.maxKb)}`);
        assert.ok(stalledAt < total / 2,
          `the server pushed ${stalledAt} bytes past a paused reader`);
        ws.resume();
        await waitFor(() => received >= total, { timeoutMs: 120000, intervalMs: 50,
          what: `${total} bytes at the client (got ${received})` });
        const { baselineKb, maxKb, increaseKb } = rss.stop();
        t.diagnostic(`proxy RSS baseline ${mb(baselineKb)}, max ${mb(maxKb)} ` +
          `(+${mb(increaseKb)})`);
        assert.equal(received, total);
        assert.equal(hash.digest('hex'), patternSha256(total));
        assert.ok(increaseKb < rssLimitKb(proxy.pid),
          `proxy RSS grew by ${increaseKb} kB (limit ${rssLimitKb(proxy.pid)} kB)`);
        ws.close(1000);
        await closed(ws);
      });
  }

  it('bounds memory for a paused server while the client pushes 200 MB', async (t) => {
    const total = 200 * MB;
    const baseKb = rssKb(proxy.pid);
    const rss = sampleRss(proxy.pid);
    const sinksBefore = echo.sinks.length;
    const { ws } = await open(modes[0], '/sink');
    const sink = await waitFor(() => echo.sinks[sinksBefore], { what: 'the server side' });
    const push = pushPattern(ws, total, MB);
    const stalledAt = await stall(push);
    t.diagnostic(`the client stalled after ${(stalledAt / MB).toFixed(1)} MB; proxy RSS ` +
      `baseline ${mb(baseKb)}, max so far ${mb(rss.maxKb)}`);
    assert.ok(stalledAt < total / 2, `the client pushed ${stalledAt} bytes past a paused reader`);
    sink.ws.resume();
    await waitFor(() => sink.received >= total, { timeoutMs: 120000, intervalMs: 50,
      what: `${total} bytes at the server (got ${sink.received})` });
    const { baselineKb, maxKb, increaseKb } = rss.stop();
    t.diagnostic(`proxy RSS baseline ${mb(baselineKb)}, max ${mb(maxKb)} (+${mb(increaseKb)})`);
    assert.equal(sink.received, total);
    assert.equal(sink.hash.digest('hex'), patternSha256(total));
    assert.ok(increaseKb < rssLimitKb(proxy.pid),
      `proxy RSS grew by ${increaseKb} kB (limit ${rssLimitKb(proxy.pid)} kB)`);
    ws.close(1000);
    await closed(ws);
  });

  it('carries 1,000 WebSockets open at once, each echoing a message', async (t) => {
    const count = 1000;
    const tunnelsBefore = (await admin.stats()).tunnels;
    const fds = () => fs.readdirSync(`/proc/${proxy.pid}/fd`).length;
    const fdsBefore = fds();
    const rssBeforeKb = rssKb(proxy.pid);
    const sockets = new Array(count);
    // At most 100 handshakes in flight; every socket stays open until all have echoed.
    let next = 0;
    const opener = async () => {
      while (next < count) {
        const i = next++;
        sockets[i] = (await open(modes[0], `/many/${i}`)).ws;
      }
    };
    try {
      await Promise.all(Array.from({ length: 100 }, opener));
      const stats = await waitFor(async () => {
        const s = (await admin.stats()).tunnels;
        return s.open >= tunnelsBefore.open + count && s;
      }, { what: `${count} open tunnels in /stats` });
      assert.equal(stats.opened, tunnelsBefore.opened + count, JSON.stringify(stats));
      assert.ok(echo.stats.open >= count, JSON.stringify(echo.stats));
      const echoes = await Promise.all(sockets.map((ws, i) => {
        const reply = nextMessage(ws);
        ws.send(`message ${i}`);
        return reply;
      }));
      echoes.forEach((m, i) => assert.equal(m.data.toString(), `message ${i}`));
      const rssAfterKb = rssKb(proxy.pid);
      const growth = rssAfterKb - rssBeforeKb;
      t.diagnostic(`proxy RSS before ${mb(rssBeforeKb)}, with ${count} ` +
          `WebSockets open ${mb(rssAfterKb)} (+${mb(growth)}, ${(growth / count).toFixed(1)} kB ` +
        'each)');
      assert.ok(growth < 200 * 1024, `proxy RSS grew by ${growth} kB for ${count} WebSockets`);
    } finally {
      for (const ws of sockets) ws?.close(1000);
    }
    await waitFor(async () => (await admin.stats()).tunnels.open <= tunnelsBefore.open,
      { what: 'every tunnel to close' });
    // Both connections of every tunnel are closed (a few pooled or admin ones may come and go).
    await waitFor(() => fds() <= fdsBefore + 8,
      { what: `the proxy's descriptors back near ${fdsBefore} (now ${fds()})` });
  });

  it('exits cleanly on SIGTERM (no sanitizer report)', async () => {
    const exit = await proxy.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.slice(-4000));
    assert.doesNotMatch(proxy.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  });
});
