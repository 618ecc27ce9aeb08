// Purges from Redis pub/sub messages: on every proxy instance subscribed to the channel, by
// class-template tags, origin tags (Surrogate-Key, Cache-Tag), key and tag globs, soft and
// hard; malformed messages are counted and purge nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { fetchCached, describeResponse as show } from './lib/cache.mjs';
import { waitFor } from './lib/wait.mjs';
import { startRedis, invalidationConfig, adminOf, waitForMessages, waitForSubscribed, storeHit }
  from './lib/redis.mjs';

const CLASSES = {
  list: { ttl: '60s', tags: ['org:{header.x-org-id}:list'], key: { tenant_header: 'x-org-id' } },
  swr: { ttl: '60s', stale_while_revalidate: '30s' },
  plain: { ttl: '60s' },
};

describe('purge on Redis invalidation messages', { timeout: 240000 }, () => {
  let origin;
  let redis;
  const proxies = [];
  const admins = [];
  let published = 0;  // messages each proxy has received so far

  before(async () => {
    origin = await startOrigin();
    redis = await startRedis();
    for (let i = 0; i < 2; i++) {
      const proxy = await startProxy({ yaml: invalidationConfig({ origin, classes: CLASSES,
        invalidation: { redis: { address: redis.address } } }) });
      proxies.push(proxy);
      admins.push(await adminOf(proxy));
      await waitForSubscribed(admins[i]);
    }
  });
  after(async () => {
    for (const proxy of proxies) await proxy.stop();
    await redis?.stop();
    await origin?.stop();
  });

  const get = (proxy, path, headers = {}) => fetchCached(proxy.port, path, { headers });

  const store = (proxy, path, headers) => storeHit(proxy.port, path, headers);

  // Publishes and waits until every proxy has handled the message.
  async function publish(message) {
    const receivers = await redis.command('PUBLISH', 'cache_invalidation', message);
    assert.equal(receivers, proxies.length, 'every proxy is subscribed');
    published += 1;
    for (const admin of admins) await waitForMessages(admin, published);
  }

  it('purges the entries a glob over class-template tags names, on both instances', async () => {
    const a = '/_test/cache/list/wo';
    const org42 = { 'x-org-id': '42' };
    const org7 = { 'x-org-id': '7' };
    for (const proxy of proxies) {
      await store(proxy, a, org42);
      await store(proxy, a, org7);
    }
    await publish('org:42:*');
    for (const proxy of proxies) {
      const purged = await get(proxy, a, org42);
      assert.equal(purged.xCache, 'MISS', show(purged));
      const kept = await get(proxy, a, org7);
      assert.equal(kept.xCache, 'HIT', show(kept));
    }
  });

  it('a hard purge removes; a soft purge serves stale once while one refresh runs', async () => {
    const hard = '/_test/cache/swr/hard';
    const soft = '/_test/cache/swr/soft';
    const proxy = proxies[0];
    const nHard = await store(proxy, hard);
    const nSoft = await store(proxy, soft);
    await publish(JSON.stringify({ patterns: [`*|${hard}|*`] }));
    await publish(JSON.stringify({ patterns: [`*|${soft}|*`], soft: true }));
    const gone = await get(proxy, hard);
    assert.equal(gone.xCache, 'MISS', show(gone));
    assert.equal(gone.json.n, nHard + 1);
    const stale = await get(proxy, soft);
    assert.equal(stale.xCache, 'STALE', show(stale));
    assert.equal(stale.json.n, nSoft, 'the stale copy itself');
    let last;
    const refreshed = await waitFor(async () => {
      last = await get(proxy, soft);
      return last.xCache === 'HIT' && last;
    }, { what: 'the background refresh', timeoutMs: 30000 }).catch((err) => {
      throw new Error(`${err.message}; last answer: ${show(last)}`);
    });
    assert.equal(refreshed.json.n, nSoft + 1, 'exactly one refresh');
  });

  it('a soft purge without a stale window revalidates before serving', async () => {
    const path = '/_test/cache/plain/soft';
    const proxy = proxies[1];
    const n = await store(proxy, path);
    await publish(JSON.stringify({ patterns: [`*|${path}|*`], soft: true }));
    const r = await get(proxy, path);
    assert.notEqual(r.xCache, 'HIT', show(r));
    assert.equal(r.json.n, n + 1, 'the origin was asked again');
  });

  it('purges by origin tags from Surrogate-Key and Cache-Tag', async () => {
    const one = '/_test/cache/plain/sk1?surrogate=prod-1%20prod-2';
    const two = '/_test/cache/plain/sk2?cache_tag=prod-2,prod-3';
    const other = '/_test/cache/plain/sk3?surrogate=prod-9';
    const proxy = proxies[0];
    for (const path of [one, two, other]) await store(proxy, path);
    await publish(JSON.stringify({ tags: ['prod-2'] }));
    assert.equal((await get(proxy, one)).xCache, 'MISS');
    assert.equal((await get(proxy, two)).xCache, 'MISS');
    assert.equal((await get(proxy, other)).xCache, 'HIT');
  });

  it('purges exact keys and key globs from plain and JSON messages', async () => {
    const proxy = proxies[1];
    const paths = ['/_test/cache/plain/pat-1', '/_test/cache/plain/pat-2',
      '/_test/cache/plain/key-1', '/_test/cache/plain/other'];
    for (const path of paths) await store(proxy, path);
    const key = `127.0.0.1:${proxy.port}|${paths[2]}|plain`;  // host|target|class
    const entry = await admins[1].call('GET', `/entry?key=${encodeURIComponent(key)}`);
    assert.equal(entry.status, 200, `the key format: ${entry.text}`);
    await publish('*|/_test/cache/plain/pat-*');
    await publish(JSON.stringify({ keys: [key] }));
    for (const path of paths.slice(0, 3)) {
      assert.equal((await get(proxy, path)).xCache, 'MISS', path);
    }
    assert.equal((await get(proxy, paths[3])).xCache, 'HIT');
  });

  it('counts malformed messages, logs why, and purges nothing for them', async () => {
    const path = '/_test/cache/plain/survivor';
    const proxy = proxies[0];
    await store(proxy, path);
    const before = (await admins[0].stats()).invalidation;
    const bad = ['', '   ', '{"tags":"x"}', '{"tags":["x"]', '{"tag":["x"]}', 'a\nb',
      JSON.stringify({ patterns: ['x'.repeat(70000)] })];
    for (const message of bad) await publish(message);
    const stats = (await admins[0].stats()).invalidation;
    assert.equal(stats.malformed - before.malformed, bad.length);
    assert.equal(stats.purges, before.purges, 'no purge ran');
    assert.match(stats.last_malformed_reason, /larger than the limit/);
    assert.equal((await get(proxy, path)).xCache, 'HIT');
    assert.match(proxy.stderr, /ignoring malformed message from channel cache_invalidation: "tags" must be an array of strings/);
    await publish('*|/_test/cache/plain/survivor|*');  // and the feed still works
    assert.equal((await get(proxy, path)).xCache, 'MISS');
  });
});
