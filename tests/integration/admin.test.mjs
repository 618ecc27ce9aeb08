// The admin API: its own loopback listener, a bearer token from the environment, purges by
// key, tag and pattern (hard or soft), statistics and one entry's metadata. It never serves
// proxied traffic. Runs without Redis: purging does not need it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy, runProxy, writeTempFile } from './lib/proxy.mjs';
import { fetchCached, fetchSent, originCount, describeResponse as show } from './lib/cache.mjs';
import { waitFor } from './lib/wait.mjs';
import { invalidationConfig, adminOf, ADMIN_TOKEN, storeHit } from './lib/redis.mjs';

const CLASSES = {
  plain: { ttl: '60s', tags: ['site:{query.site}'] },
  swr: { ttl: '60s', stale_while_revalidate: '30s' },
};

describe('admin API', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  let admin;

  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: invalidationConfig({ origin, classes: CLASSES,
      admin: { max_body: '1k' } }) });
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (path) => fetchCached(proxy.port, path);
  const store = (path) => storeHit(proxy.port, path);
  const keyOf = (path, cls = 'plain') => `127.0.0.1:${proxy.port}|${path}|${cls}`;
  const waitForFollowers = (count) => waitFor(
    async () => (await admin.stats()).coalescing.followers >= count,
    { timeoutMs: 30000, what: `${count} requests following a fetch` });

  it('answers 401 without the token or with another, on every path', async () => {
    const path = '/_test/cache/plain/protected';
    await store(path);
    for (const [method, target] of [['GET', '/stats'], ['POST', '/purge?pattern=*'],
      ['GET', `/entry?key=${encodeURIComponent(keyOf(path))}`], ['GET', '/nothing']]) {
      for (const token of [null, 'wrong', ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`]) {
        const r = await admin.call(method, target, { token });
        assert.equal(r.status, 401, `${method} ${target} with ${token}`);
        assert.match(r.headers['www-authenticate'], /^Bearer realm="edge-proxy admin"/);
        assert.equal(r.json.error, 'a valid bearer token is required');
      }
    }
    const basic = await admin.call('GET', '/stats',
      { token: null, headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    assert.equal(basic.status, 401);
    assert.equal((await get(path)).xCache, 'HIT', 'nothing was purged');
  });

  it('purges by key, tag and pattern from query parameters', async () => {
    const byKey = '/_test/cache/plain/by-key';
    const byTag = '/_test/cache/plain/by-tag?site=9';
    const byPattern = '/_test/cache/plain/by-pattern';
    const kept = '/_test/cache/plain/kept?site=8';
    for (const path of [byKey, byTag, byPattern, kept]) await store(path);
    const r1 = await admin.call('POST', `/purge?key=${encodeURIComponent(keyOf(byKey))}`);
    assert.deepEqual(r1.json, { purged: 1, soft: false, keys: 1, tags: 0, patterns: 0 });
    const r2 = await admin.call('POST', '/purge?tag=site%3A9');
    assert.equal(r2.json.purged, 1);
    const r3 = await admin.call('POST', `/purge?pattern=${encodeURIComponent('*|*/by-pat*')}`);
    assert.equal(r3.json.purged, 1);
    for (const path of [byKey, byTag, byPattern]) assert.equal((await get(path)).xCache, 'MISS');
    assert.equal((await get(kept)).xCache, 'HIT');
  });

  it('purges softly from a JSON body: stale once while one refresh runs', async () => {
    const path = '/_test/cache/swr/soft';
    const n = await store(path);
    const r = await admin.call('POST', '/purge', { body: JSON.stringify({
      keys: [keyOf(path, 'swr')], soft: true }), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { purged: 1, soft: true, keys: 1, tags: 0, patterns: 0 });
    const entry = await admin.call('GET', `/entry?key=${encodeURIComponent(keyOf(path, 'swr'))}`);
    assert.equal(entry.json.variants[0].invalidated, true);
    const stale = await get(path);
    assert.equal(stale.xCache, 'STALE', show(stale));
    assert.equal(stale.json.n, n);
  });

  it('reports an entry\'s metadata, and 404 for a key that is not stored', async () => {
    const path = '/_test/cache/plain/meta?site=3';
    await store(path);
    const r = await admin.call('GET', `/entry?key=${encodeURIComponent(keyOf(path))}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.key, keyOf(path));
    const [v] = r.json.variants;
    assert.equal(v.status, 200);
    assert.equal(v.fresh, true);
    assert.equal(v.invalidated, false);
    assert.deepEqual(v.tags, ['site:3']);
    assert.ok(v.ttl_s > 50 && v.ttl_s <= 60, `ttl ${v.ttl_s}`);
    assert.ok(v.size > 0 && v.stored_at_ms > Date.now() - 60000);
    const missing = await admin.call('GET', '/entry?key=nothing-here');
    assert.equal(missing.status, 404);
    assert.match(missing.json.error, /no entry/);
  });

  it('reports store, coalescing and invalidation statistics', async () => {
    const stats = await admin.stats();
    assert.equal(typeof stats.coalescing.followers, 'number');
    assert.equal(typeof stats.coalescing.in_flight, 'number');
    assert.ok(stats.store.entries > 0);
    assert.ok(stats.store.purged >= 3);
    assert.equal(stats.invalidation.configured, false, 'no Redis in this config');
    assert.ok(stats.invalidation.admin_purges >= 4);
  });

  it('never hands a response fetched before a purge to requests that wait on it after',
    async () => {
      const name = '/_test/cache/plain/in-flight';
      // The origin holds the leader's fetch until the purge is done and the late request sent.
      const path = `${name}?site=5&hold=in-flight`;
      await origin.reset();
      const early = get(path);  // leads the fetch
      await waitFor(async () => (await originCount(origin, name)) === 1,
        { timeoutMs: 30000, what: "the leader's fetch at the origin" });
      const purge = await admin.call('POST', '/purge?tag=site%3A5');
      assert.equal(purge.status, 200);
      // After the purge: must not get the pre-purge response. The gate opens once the proxy
      // has the late request waiting on the fetch (its follower count moved), not merely once
      // the request left this process.
      const followers = (await admin.stats()).coalescing.followers;
      const late = fetchSent(proxy.port, path);
      await waitForFollowers(followers + 1);
      await origin.openGate('in-flight');
      const [first, second] = [await early, await late.response];
      // Both fetch again for themselves, the leader included: its answer, too, arrives after
      // the purge was processed. The pre-purge fetch (n = 1) reaches nobody.
      for (const r of [first, second]) {
        assert.equal(r.status, 200, show(r));
        assert.ok(r.json.n > 1, `a request got the pre-purge fetch: ${show(r)}`);
        assert.match(r.cacheStatus, /purged-while-fetching/);
      }
      assert.equal(await originCount(origin, name), 3);
      // Without a purge in between, a second request still joins the first one's fetch.
      const other = '/_test/cache/plain/in-flight-kept';
      const target = `${other}?hold=in-flight-kept`;
      const leader = get(target);
      await waitFor(async () => (await originCount(origin, other)) === 1,
        { timeoutMs: 30000, what: "the first request's fetch at the origin" });
      const joined = (await admin.stats()).coalescing.followers;
      const follower = fetchSent(proxy.port, target);
      await waitForFollowers(joined + 1);
      await origin.openGate('in-flight-kept');
      const [a, b] = [await leader, await follower.response];
      assert.equal(a.json.n, 1);
      assert.equal(b.json.n, 1, show(b));
      assert.equal(b.xCache, 'COALESCED', show(b));
      assert.equal(await originCount(origin, other), 1);
    });

  it('answers wrong paths, methods and bodies with JSON errors', async () => {
    const count = await originCount(origin, '/_test/cache/plain/not-proxied');
    const proxied = await admin.call('GET', '/_test/cache/plain/not-proxied');
    assert.equal(proxied.status, 404);
    assert.equal(await originCount(origin, '/_test/cache/plain/not-proxied'), count,
      'the admin listener never proxies');
    const wrong = await admin.call('GET', '/purge?tag=x');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'POST');
    const bad = await admin.call('POST', '/purge', { body: '{"tags":"x"}' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, '"tags" must be an array of strings');
    const empty = await admin.call('POST', '/purge');
    assert.equal(empty.status, 400);
    const big = await admin.call('POST', '/purge', { body: JSON.stringify({ tags: ['x'.repeat(2000)] }) });
    assert.equal(big.status, 413);
    assert.equal((await admin.call('GET', '/stats')).status, 200, 'still serving');
  });

  it('refuses to start when the token variable is unset or empty', async () => {
    const yaml = invalidationConfig({ origin, classes: CLASSES,
      admin: { token_env: 'EDGE_TEST_UNSET_ADMIN_TOKEN' } });
    const r = await runProxy(['--config', writeTempFile('edge.yaml', yaml)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EDGE_TEST_UNSET_ADMIN_TOKEN is unset or empty/);
  });

  it('checks the admin and invalidation sections with --check-config', async () => {
    const yaml = invalidationConfig({ origin, classes: CLASSES, admin: { listen: '0.0.0.0:9999' },
      invalidation: { gap_policy: 'revalidate', redis: { address: 'localhost' } } });
    const r = await runProxy(['--check-config', writeTempFile('edge.yaml', yaml)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalidation\.redis\.address: expected host:port/);
    assert.match(r.stderr, /invalidation\.gap_policy: expected revalidate_all, purge_all or ignore/);
    assert.match(r.stderr, /admin\.listen: the admin listener binds loopback addresses only/);
  });
});
