// Coalescing: concurrent misses for one key make one origin request, across worker threads;
// waiters get the body as it streams; an uncacheable answer releases them at once and leaves a
// hit-for-miss marker; a failed fetch gives every waiter a clean error, never a cut body
// presented as complete; waiters give up after lock_timeout; clients that leave do not matter.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { adminOf } from './lib/redis.mjs';
import { proxyConfig } from './lib/config.mjs';
import { RawClient, requestHead } from './lib/raw.mjs';
import { closedPort } from './lib/ports.mjs';
import { delay, waitFor, withTimeout } from './lib/wait.mjs';
import { fetchCached, originCount, concurrently, describeResponse as show, tally }
  from './lib/cache.mjs';

// Raw clients name the Host node's client sends, so both kinds of client share cache keys.
const hostOf = (port) => ['Host', `127.0.0.1:${port}`];

// With an admin listener: its /stats counts the requests waiting on a fetch, so a test can open
// the origin's gate once they are all waiting rather than once they have left the client.
function coalescingConfig(origin, deadPort, cache) {
  return `${proxyConfig({
    workers: 3,
    cache,
    upstreams: {
      app: { servers: [origin.address] },
      slow: { servers: [origin.address], first_byte_timeout: '1s' },
      dead: { servers: [`127.0.0.1:${deadPort}`], connect_timeout: '1s' },
    },
    routeClasses: { co: { ttl: '60s' } },
    routes: [
      { match: { path_prefix: '/_test/cache/dead/' }, upstream: 'dead', class: 'co' },
      { match: { path_prefix: '/_test/cache/slow/' }, upstream: 'slow', class: 'co' },
      { match: { path_prefix: '/_test/cache/' }, upstream: 'app', class: 'co' },
    ],
  })}admin:\n  listen: 127.0.0.1:0\n`;
}

// Resolves with the time the first body byte of a response arrives.
function firstByteClock() {
  let resolve;
  const at = new Promise((r) => { resolve = r; });
  return { at, onResponse: (res) => res.once('data', () => resolve(Date.now())) };
}

// Every response is a complete local error: a 5xx status and a body saying why.
function assertCleanErrors(responses, statuses) {
  for (const r of responses) {
    assert.ok(statuses.includes(r.status), `expected ${statuses.join('/')}: ${show(r)}`);
    assert.ok(r.complete, `error response incomplete: ${show(r)}`);
    assert.ok(r.body.length > 0, `error response without a body: ${show(r)}`);
    const length = r.headers['content-length'];
    if (length !== undefined) assert.equal(r.body.length, Number(length));
  }
}

describe('cache coalescing', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  let admin;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: coalescingConfig(origin, await closedPort(),
      { lock_timeout: '5s', hit_for_miss: '30s' }) });
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  it('makes one origin request for 200 concurrent misses, all answered alike', async (t) => {
    const path = '/_test/cache/herd';
    // The origin holds the one fetch until all 200 requests have been sent.
    let sent = 0;
    let allSent;
    const everySent = new Promise((resolve) => { allSent = resolve; });
    const onRequest = (req) => req.once('finish', () => { if (++sent === 200) allSent(); });
    const { followers } = (await admin.stats()).coalescing;
    const herd = concurrently(proxy.port, 200, `${path}?hold=herd`, () => ({ onRequest }));
    await everySent;
    await waitFor(async () => (await originCount(origin, path)) >= 1,
      { timeoutMs: 30000, what: 'the fetch at the origin' });
    // Every request but the leader waits on its fetch before the origin answers.
    await waitFor(async () => (await admin.stats()).coalescing.followers >= followers + 199,
      { timeoutMs: 30000, what: '199 requests following the fetch' });
    await origin.openGate('herd');
    const { responses, elapsedMs } = await herd;
    const labels = tally(responses.map((r) => r.xCache));
    t.diagnostic(`X-Cache: ${JSON.stringify(labels)} in ${elapsedMs} ms`);
    for (const r of responses) {
      assert.equal(r.status, 200, show(r));
      assert.equal(r.json?.n, 1, show(r));
    }
    assert.equal(new Set(responses.map((r) => r.text)).size, 1, 'bodies differ');
    assert.equal(await originCount(origin, path), 1);
    assert.equal(labels.MISS, 1, `X-Cache: ${JSON.stringify(labels)}`);
    assert.ok(Object.keys(labels).every((l) => ['MISS', 'COALESCED', 'HIT'].includes(l)),
      `X-Cache: ${JSON.stringify(labels)}`);
    assert.ok((labels.COALESCED ?? 0) >= 100,
      `few requests waited for the fetch: ${JSON.stringify(labels)}`);
    const coalesced = responses.find((r) => r.xCache === 'COALESCED');
    assert.equal(coalesced.cs?.fwd, 'uri-miss', `Cache-Status: ${coalesced.cacheStatus}`);
    assert.equal(coalesced.cs.collapsed, true, `Cache-Status: ${coalesced.cacheStatus}`);
  });

  it('streams the body to waiters while the origin is still sending it', async (t) => {
    const path = '/_test/cache/stream';
    const target = `${path}?delay=300&chunks=6&interval=300&size=512`;
    const clocks = [firstByteClock(), firstByteClock(), firstByteClock()];
    const get = (i) => fetchCached(proxy.port, target, { onResponse: clocks[i].onResponse });
    const first = get(0);
    // Second: joins while the origin has not answered yet (it waits 300 ms before the head).
    await waitFor(async () => (await originCount(origin, path)) === 1, { what: 'the fetch' });
    const second = get(1);
    // Third: joins once body bytes are flowing.
    await withTimeout(clocks[0].at, 30000, 'first body bytes');
    const third = get(2);
    const responses = await Promise.all([first, second, third]);
    const firstAt = await Promise.all(clocks.map((c) => c.at));

    const lines = responses[0].lines;
    assert.equal(lines?.length, 6, show(responses[0]));
    const originDoneAt = lines.at(-1).at;
    for (const [i, r] of responses.entries()) {
      assert.equal(r.status, 200);
      assert.equal(r.text, responses[0].text, `response ${i} differs`);
      t.diagnostic(`client ${i} (${r.xCache}): first body bytes ${originDoneAt - firstAt[i]} ms ` +
        'before the origin sent its last line');
    }
    assert.equal(await originCount(origin, path), 1);
    const followers = responses.filter((r) => r.xCache === 'COALESCED');
    assert.ok(followers.length >= 2, `X-Cache: ${responses.map((r) => r.xCache)}`);
    for (const i of [1, 2]) {
      assert.equal(responses[i].xCache, 'COALESCED', show(responses[i]));
      // The origin spends 5 x 300 ms on the body: a follower fed only at the end would get
      // its first byte after the last line was written.
      assert.ok(firstAt[i] < originDoneAt - 250, `client ${i} got its first body bytes ` +
        `${firstAt[i] - originDoneAt} ms after the origin finished sending`);
    }
  });

  it('releases waiters at once when the answer cannot be stored, then skips the wait ' +
    '(hit-for-miss)', async (t) => {
    const path = '/_test/cache/uncacheable';
    await origin.script(path, { cc: 'no-store', delay: 500 });
    const { responses, elapsedMs } = await concurrently(proxy.port, 10, path);
    t.diagnostic(`10 uncacheable answers in ${elapsedMs} ms`);
    for (const r of responses) assert.equal(r.status, 200, show(r));
    // Each waiter went to the origin itself and got its own answer.
    assert.deepEqual(responses.map((r) => r.json?.n).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(await originCount(origin, path), 10);
    // Released by the uncacheable answer, not by giving up at lock_timeout.
    for (const r of responses) assert.notEqual(r.cs?.detail, 'lock-timeout', show(r));

    // Now marked: requests go upstream in parallel without waiting for one another. The origin
    // holds them all: only requests that did not wait for one another can all reach it.
    await origin.script(path, { cc: 'no-store', hold: 'uncacheable' });
    const pending = concurrently(proxy.port, 5, path);
    await waitFor(async () => (await originCount(origin, path)) === 15,
      { timeoutMs: 30000, what: '5 hit-for-miss requests at the origin at once' });
    await origin.openGate('uncacheable');
    const again = await pending;
    for (const r of again.responses) {
      assert.equal(r.status, 200, show(r));
      assert.equal(r.xCache, 'MISS', show(r));
      assert.equal(r.cs?.detail, 'hit-for-miss', `Cache-Status: ${r.cacheStatus}`);
    }
    assert.equal(await originCount(origin, path), 15);
  });

  it('gives every waiter a 502 with a body when the origin refuses connections', async () => {
    const { responses } = await concurrently(proxy.port, 20, '/_test/cache/dead/item');
    assertCleanErrors(responses, [502]);
  });

  it('labels the error answers of a cacheable route with X-Cache and Cache-Status', async () => {
    const r = await fetchCached(proxy.port, '/_test/cache/dead/labelled');
    assert.equal(r.status, 502, show(r));
    assert.ok(['MISS', 'COALESCED'].includes(r.xCache), show(r));
    assert.equal(r.cs?.cache, 'edge-proxy', show(r));
    assert.equal(r.cs.fwd, 'uri-miss', show(r));
  });

  it('gives every waiter a 504 with a body when the origin times out', async () => {
    const path = '/_test/cache/slow/item';
    // The origin holds the request until after the assertions, so the 504s can only come from
    // the proxy's first_byte_timeout.
    try {
      const { responses } = await concurrently(proxy.port, 20, `${path}?hold=slow-item`);
      assertCleanErrors(responses, [504]);
      assert.equal(await originCount(origin, path), 1);
    } finally {
      await origin.openGate('slow-item');
    }
  });

  it('gives every waiter the origin\'s 5xx from one origin request', async (t) => {
    const path = '/_test/cache/error';
    const { responses } = await concurrently(proxy.port, 20, `${path}?status=503&delay=300`);
    assertCleanErrors(responses, [503]);
    t.diagnostic(`statuses ${JSON.stringify(tally(responses.map((r) => r.status)))}`);
    // A failing origin gets this one request, not one more from every waiter.
    assert.equal(await originCount(origin, path), 1);
    // And the error is not stored: the next request asks the origin again.
    await fetchCached(proxy.port, `${path}?status=503`);
    assert.equal(await originCount(origin, path), 2);
  });

  it('never presents a body the origin cut short as complete, to leader or waiters',
    async () => {
      const path = '/_test/cache/cut';
      const target = `${path}?chunks=6&interval=200&abort_after=2&size=256`;
      const clients = await Promise.all(Array.from({ length: 10 },
        () => RawClient.open(proxy.port)));
      try {
        for (const client of clients) client.send(requestHead('GET', target, [hostOf(proxy.port)]));
        const outcomes = await Promise.all(clients.map((c) => c.next({ timeoutMs: 30000 })
          .then((resp) => ({ resp }), (err) => ({ err }))));
        for (const { resp, err } of outcomes) {
          if (err) {
            assert.match(err.message, /connection ended/, err.message);
          } else {
            assert.ok(resp.statusCode >= 500, `a cut body answered as complete: ` +
              `${resp.statusCode}, ${resp.body.length} bytes: ` +
              resp.body.toString().slice(0, 80));
          }
        }
        assert.ok(outcomes.filter((o) => o.err).length >= 1, 'nobody saw the cut');
      } finally {
        for (const client of clients) client.close();
      }
      // Nothing was stored: the next request goes to the origin.
      const before = await originCount(origin, path);
      const client = await RawClient.open(proxy.port);
      try {
        client.send(requestHead('GET', target, [hostOf(proxy.port)]));
        await client.next({ timeoutMs: 30000 }).catch(() => {});
      } finally {
        client.close();
      }
      assert.equal(await originCount(origin, path), before + 1);
    });

  it('lets a waiter whose client leaves go without disturbing the others', async () => {
    const path = '/_test/cache/leaving-waiter';
    const target = `${path}?delay=1000`;
    const leader = fetchCached(proxy.port, target);
    await waitFor(async () => (await originCount(origin, path)) === 1, { what: 'the fetch' });
    const clients = await Promise.all(Array.from({ length: 10 },
      () => RawClient.open(proxy.port)));
    try {
      for (const client of clients) client.send(requestHead('GET', target, [hostOf(proxy.port)]));
      // Nothing shows that the proxy has read these requests; give it a moment to.
      await delay(300);
      for (const client of clients.slice(0, 5)) client.close();
      const stayed = await Promise.all(clients.slice(5).map((c) => c.next({ timeoutMs: 30000 })));
      const first = await leader;
      assert.equal(first.status, 200);
      for (const resp of stayed) {
        assert.equal(resp.statusCode, 200);
        assert.equal(resp.body.toString(), first.text);
      }
    } finally {
      for (const client of clients) client.close();
    }
    assert.equal(await originCount(origin, path), 1);
  });

  it('completes the fetch for the waiters when the client that started it leaves',
    async () => {
      const path = '/_test/cache/leaving-leader';
      const target = `${path}?delay=1000`;
      const starter = await RawClient.open(proxy.port);
      let followers;
      try {
        starter.send(requestHead('GET', target, [hostOf(proxy.port)]));
        await waitFor(async () => (await originCount(origin, path)) === 1, { what: 'the fetch' });
        followers = concurrently(proxy.port, 10, target);
        await delay(300);  // as above: let the proxy read the followers' requests
      } finally {
        starter.close();
      }
      const { responses } = await followers;
      for (const r of responses) {
        assert.equal(r.status, 200, show(r));
        assert.equal(r.json?.n, 1, show(r));
      }
      assert.equal(await originCount(origin, path), 1);
      const later = await fetchCached(proxy.port, target);
      assert.equal(later.xCache, 'HIT', show(later));
      assert.equal(later.json?.n, 1);
    });

  it('sends waiters to the origin themselves after lock_timeout', async (t) => {
    const quick = await startProxy({ yaml: coalescingConfig(origin, await closedPort(),
      { lock_timeout: '1s' }) });
    t.after(() => quick.stop());
    const path = '/_test/cache/lock-timeout';
    // The origin holds the leader's fetch (and the waiters' own) until the waiters are all
    // there: only waiters that gave up on the fetch can reach it.
    const target = `${path}?hold=lock-timeout`;
    const started = Date.now();
    const leader = fetchCached(quick.port, target);
    await waitFor(async () => (await originCount(origin, path)) === 1, { what: 'the fetch' });
    const waiters = concurrently(quick.port, 4, target);
    await waitFor(async () => (await originCount(origin, path)) === 5,
      { timeoutMs: 30000, what: 'waiters to fetch themselves' });
    // A lower bound only: lock_timeout is a minimum wait, which load can only lengthen.
    const gaveUpAt = Date.now() - started;
    assert.ok(gaveUpAt >= 900, `waiters went upstream after ${gaveUpAt} ms (lock_timeout 1 s)`);
    await origin.openGate('lock-timeout');
    const [first, { responses }] = await Promise.all([leader, waiters]);
    assert.equal(first.status, 200);
    for (const r of responses) {
      assert.equal(r.status, 200, show(r));
      assert.equal(r.xCache, 'MISS', show(r));
      assert.equal(r.cs?.detail, 'lock-timeout', `Cache-Status: ${r.cacheStatus}`);
    }
  });
});
