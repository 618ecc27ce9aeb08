// Serving stale: stale-while-revalidate (class or origin) answers at once and refreshes each
// key exactly once in the background; stale-if-error covers an origin answering 5xx, timing
// out or down; both end with their window; must-revalidate and proxy-revalidate (and s-maxage,
// which implies proxy-revalidate) forbid both.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { waitFor } from './lib/wait.mjs';
import { fetchCached, originCount, concurrently, describeResponse as show, waitUntil, tally }
  from './lib/cache.mjs';

const CLASSES = {
  swr: { ttl: '1s', stale_while_revalidate: '30s' },
  sie: { ttl: '1s', stale_if_error: '30s' },
  both: { ttl: '1s', stale_while_revalidate: '30s', stale_if_error: '30s' },
  plain: { ttl: '30s' },
};
const STALE_AFTER_MS = 1300;  // freshness of 1 s, and a margin

describe('cache serving stale', { timeout: 240000 }, () => {
  let origin;
  let doomed;  // an origin the stale-if-error test stops
  let proxy;
  before(async () => {
    origin = await startOrigin();
    doomed = await startOrigin();
    proxy = await startProxy({ yaml: proxyConfig({
      upstreams: {
        app: { servers: [origin.address] },
        impatient: { servers: [origin.address], first_byte_timeout: '1s' },
        doomed: { servers: [doomed.address], connect_timeout: '1s' },
      },
      routeClasses: CLASSES,
      routes: [
        { match: { path_prefix: '/_test/cache/down/' }, upstream: 'doomed', class: 'sie' },
        { match: { path_prefix: '/_test/cache/timeout/' }, upstream: 'impatient', class: 'sie' },
        ...Object.keys(CLASSES).map((name) => ({
          match: { path_prefix: `/_test/cache/${name}/` }, upstream: 'app', class: name })),
      ],
    }) });
  });
  after(async () => {
    await proxy?.stop();
    await doomed?.stop();
    await origin?.stop();
  });

  const get = (path, options) => fetchCached(proxy.port, path, options);

  // Stores `path` (first origin answer) and returns when it was stored.
  async function store(path) {
    const r = await get(path);
    assert.equal(r.xCache, 'MISS', `${path}: ${show(r)}`);
    assert.equal(r.json?.n, 1, show(r));
    return Date.now();
  }

  it('serves 20 concurrent requests stale at once and revalidates exactly once', async (t) => {
    const path = '/_test/cache/swr/popular';
    const storedAt = await store(path);
    // The origin holds the refresh until the test opens the gate, so every stale answer below
    // provably came without waiting for it; its answer then stays fresh for a minute.
    await origin.script(path, { cc: 'max-age=60', hold: 'popular' });
    await waitUntil(storedAt, STALE_AFTER_MS);
    const { responses } = await concurrently(proxy.port, 20, path);
    t.diagnostic(`X-Cache ${JSON.stringify(tally(responses.map((r) => r.xCache)))}`);
    for (const r of responses) {
      assert.equal(r.status, 200);
      assert.equal(r.xCache, 'STALE', show(r));
      assert.equal(r.json?.n, 1, show(r));
      assert.ok(r.age >= 1, `stale answer with Age ${r.headers.age}`);
    }
    await waitFor(async () => (await originCount(origin, path)) === 2,
      { timeoutMs: 30000, what: 'the background revalidation' });
    await origin.openGate('popular');
    const refreshed = await waitFor(async () => {
      const r = await get(path);
      return r.json?.n === 2 && r;
    }, { timeoutMs: 30000, what: 'the refreshed entry' });
    assert.equal(refreshed.xCache, 'HIT', show(refreshed));
    assert.equal(await originCount(origin, path), 2);
  });

  it('revalidates in the background with validators; a 304 refreshes the entry', async () => {
    const path = '/_test/cache/swr/etag?etag=e1';
    const storedAt = await store(path);
    // The 304 carries max-age=60, so the refreshed entry stays fresh far longer than the
    // requests below take, however slow the machine: none of them can find it stale again
    // and start a second refresh. (With the class ttl of 1 s, a stall of a second after the
    // 304 did exactly that.)
    await origin.script('/_test/cache/swr/etag', { cc: 'max-age=60' });
    await waitUntil(storedAt, STALE_AFTER_MS);
    const stale = await get(path);
    assert.equal(stale.xCache, 'STALE', show(stale));
    assert.equal(stale.json?.n, 1, show(stale));
    await waitFor(async () => (await originCount(origin, '/_test/cache/swr/etag')) === 2,
      { timeoutMs: 30000, what: 'the background revalidation' });
    // Fresh again for the 304's max-age, with the body kept from the first answer.
    const fresh = await waitFor(async () => {
      const r = await get(path);
      return r.xCache === 'HIT' && r;
    }, { timeoutMs: 30000, what: 'the refreshed entry' });
    assert.equal(fresh.json?.n, 1, show(fresh));
    assert.ok(Number(fresh.cs?.ttl) > 30, `refreshed lifetime: ${show(fresh)}`);
    assert.equal(await originCount(origin, '/_test/cache/swr/etag'), 2);
  });

  it('serves stale while revalidating when the origin says stale-while-revalidate',
    async () => {
      const path = '/_test/cache/plain/origin-swr';
      await origin.script(path, { cc: 'max-age=1, stale-while-revalidate=30' });
      const storedAt = await store(path);
      // The refresh is held, so all five requests find the entry stale; then fresh for a minute.
      await origin.script(path, { cc: 'max-age=60', hold: 'origin-swr' });
      await waitUntil(storedAt, STALE_AFTER_MS);
      const { responses } = await concurrently(proxy.port, 5, path);
      for (const r of responses) {
        assert.equal(r.xCache, 'STALE', show(r));
        assert.equal(r.json?.n, 1, show(r));
      }
      await waitFor(async () => (await originCount(origin, path)) === 2,
        { timeoutMs: 30000, what: 'the background revalidation' });
      await origin.openGate('origin-swr');
      const refreshed = await waitFor(async () => {
        const r = await get(path);
        return r.json?.n === 2 && r;
      }, { timeoutMs: 30000, what: 'the refreshed entry' });
      assert.equal(refreshed.xCache, 'HIT', show(refreshed));
      assert.equal(await originCount(origin, path), 2);
    });

  it('fetches before answering once the stale-while-revalidate window has passed',
    async () => {
      const path = '/_test/cache/plain/swr-over';
      await origin.script(path, { cc: 'max-age=1, stale-while-revalidate=1' });
      const storedAt = await store(path);
      await waitUntil(storedAt, 2300);
      const r = await get(path);
      assert.notEqual(r.xCache, 'STALE', show(r));
      assert.equal(r.json?.n, 2, show(r));
    });

  it('serves stale when the origin answers 5xx (stale-if-error)', async () => {
    const path = '/_test/cache/sie/error';
    const storedAt = await store(path);
    await origin.script(path, { status: 500 });
    await waitUntil(storedAt, STALE_AFTER_MS);
    for (const count of [2, 3]) {
      const r = await get(path);
      assert.equal(r.status, 200, show(r));
      assert.equal(r.xCache, 'STALE', show(r));
      assert.equal(r.json?.n, 1, show(r));
      assert.equal(await originCount(origin, path), count);
    }
  });

  it('serves stale when the origin times out (stale-if-error)', async (t) => {
    const path = '/_test/cache/timeout/item';
    const storedAt = await store(path);
    // Held until after the assertions: the stale answer can only come from the proxy giving
    // up at its first_byte_timeout, never from an origin that answered late.
    await origin.script(path, { hold: 'timeout-item' });
    await waitUntil(storedAt, STALE_AFTER_MS);
    try {
      const started = Date.now();
      const r = await get(path);
      t.diagnostic(`stale answer after ${Date.now() - started} ms`);
      assert.equal(r.status, 200, show(r));
      assert.equal(r.xCache, 'STALE', show(r));
      assert.equal(r.json?.n, 1, show(r));
      assert.equal(await originCount(origin, path), 2);
    } finally {
      await origin.openGate('timeout-item');
    }
  });

  it('serves stale when the origin is down (stale-if-error)', async () => {
    const path = '/_test/cache/down/item';
    const r0 = await fetchCached(proxy.port, path);
    assert.equal(r0.json?.n, 1, show(r0));
    const storedAt = Date.now();
    await doomed.stop();
    await waitUntil(storedAt, STALE_AFTER_MS);
    const r = await get(path);
    assert.equal(r.status, 200, show(r));
    assert.equal(r.xCache, 'STALE', show(r));
    assert.equal(r.text, r0.text);
  });

  it('passes the error on once the stale-if-error window has passed', async () => {
    const path = '/_test/cache/plain/sie-over';
    await origin.script(path, { cc: 'max-age=1, stale-if-error=1' });
    const storedAt = await store(path);
    await origin.script(path, { cc: 'max-age=1, stale-if-error=1', status: 500 });
    await waitUntil(storedAt, 2300);
    const r = await get(path);
    assert.equal(r.status, 500, show(r));
    assert.notEqual(r.xCache, 'STALE', show(r));
  });

  for (const directive of ['must-revalidate', 'proxy-revalidate', 's-maxage=1']) {
    it(`serves nothing stale for ${directive}, not even with both stale windows`, async () => {
      const path = `/_test/cache/both/${directive.replace(/\W+/g, '-')}`;
      const cc = directive.startsWith('s-maxage') ? directive : `max-age=1, ${directive}`;
      await origin.script(path, { cc });
      let storedAt = await store(path);
      await waitUntil(storedAt, STALE_AFTER_MS);
      const refetched = await get(path);
      assert.notEqual(refetched.xCache, 'STALE', show(refetched));
      assert.equal(refetched.json?.n, 2, show(refetched));
      storedAt = Date.now();

      await origin.script(path, { cc, status: 500 });
      await waitUntil(storedAt, STALE_AFTER_MS);
      const failed = await get(path);
      assert.ok(failed.status >= 500, `stale answer despite ${directive}: ${show(failed)}`);
      assert.notEqual(failed.xCache, 'STALE', show(failed));
    });
  }
});
