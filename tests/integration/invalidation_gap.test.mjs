// Gaps in the pub/sub feed: Redis killed while the proxy serves traffic and restarted, a
// message published while the proxy was not subscribed, Redis down at startup, each gap
// policy, and SIGTERM with Redis up or down.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { fetchCached, describeResponse as show } from './lib/cache.mjs';
import { waitFor } from './lib/wait.mjs';
import { closedPort } from './lib/ports.mjs';
import { startRedis, invalidationConfig, adminOf, waitForSubscribed, storeHit }
  from './lib/redis.mjs';

const CLASSES = { plain: { ttl: '60s' } };
const RECONNECT = { min_delay: '50ms', max_delay: '200ms' };

describe('gaps in the invalidation feed', { timeout: 240000 }, () => {
  let origin;
  let redis;
  const started = [];

  before(async () => {
    origin = await startOrigin();
    redis = await startRedis();
  });
  after(async () => {
    for (const proxy of started) await proxy.stop();
    await redis?.stop();
    await origin?.stop();
  });

  async function proxyWith(invalidation) {
    const proxy = await startProxy({ yaml: invalidationConfig({ origin, classes: CLASSES,
      invalidation: { reconnect: RECONNECT, ...invalidation } }) });
    started.push(proxy);
    return { proxy, admin: await adminOf(proxy) };
  }

  const get = (proxy, path) => fetchCached(proxy.port, path);

  const store = (proxy, path) => storeHit(proxy.port, path);

  // Drops every pub/sub connection and publishes in the same breath: nobody receives it.
  async function publishDuringGap(message) {
    const [killed, receivers] = await redis.pipeline([['CLIENT', 'KILL', 'TYPE', 'pubsub'],
      ['PUBLISH', 'cache_invalidation', message]]);
    assert.ok(killed >= 1, `CLIENT KILL: ${killed}`);
    assert.equal(receivers, 0, 'published while no proxy was subscribed');
  }

  async function waitForGap(admin, count) {
    return waitFor(async () => {
      const stats = (await admin.stats()).invalidation;
      return stats.subscribed && stats.last_gap.count >= count && stats;
    }, { timeoutMs: 30000, what: `gap policy run ${count}` });
  }

  it('keeps serving while Redis is killed, then resubscribes and revalidates', async () => {
    const { proxy, admin } = await proxyWith({ redis: { address: redis.address } });
    await waitForSubscribed(admin);
    const n = await store(proxy, '/_test/cache/plain/before');
    await redis.kill();
    await waitFor(async () => !(await admin.stats()).invalidation.connected,
      { what: 'the proxy to notice' });
    const during = [];
    for (let i = 0; i < 30; i++) {
      during.push(await get(proxy, `/_test/cache/plain/during-${i % 3}`));
      during.push(await get(proxy, '/_test/cache/plain/before'));
    }
    for (const r of during) assert.equal(r.status, 200, show(r));
    await redis.restart();
    const stats = await waitForGap(admin, 1);
    assert.equal(stats.last_gap.action, 'revalidate_all');
    assert.ok(stats.reconnects >= 1 && stats.disconnects >= 1, JSON.stringify(stats));
    assert.ok(stats.last_gap.down_ms > 0);
    for (const path of ['/_test/cache/plain/before', '/_test/cache/plain/during-0']) {
      const r = await get(proxy, path);
      assert.notEqual(r.xCache, 'HIT', `${path} stored before the gap ended: ${show(r)}`);
    }
    assert.equal((await get(proxy, '/_test/cache/plain/before')).json.n, n + 1);
    assert.equal((await get(proxy, '/_test/cache/plain/before')).xCache, 'HIT');
    assert.match(proxy.stderr, /lost redis .*reconnecting with backoff/);
    assert.doesNotMatch(proxy.stderr, /cannot reach redis/, 'one line per outage, not per retry');
    assert.ok((proxy.stderr.match(/is back after/g) ?? []).length >= 1);
  });

  it('covers a message published while it was not subscribed, with each policy', async () => {
    const revalidate = await proxyWith({ redis: { address: redis.address } });
    const purge = await proxyWith({ redis: { address: redis.address }, gap_policy: 'purge_all' });
    const ignore = await proxyWith({ redis: { address: redis.address }, gap_policy: 'ignore' });
    const all = [revalidate, purge, ignore];
    for (const { admin } of all) await waitForSubscribed(admin);
    const path = '/_test/cache/plain/changed-in-gap';
    for (const { proxy } of all) await store(proxy, path);
    const gaps = await Promise.all(all.map(async ({ admin }) =>
      (await admin.stats()).invalidation.reconnects));
    await publishDuringGap(`*|${path}|*`);
    for (const [i, { admin }] of all.entries()) {
      await waitFor(async () => {
        const stats = (await admin.stats()).invalidation;
        return stats.subscribed && stats.reconnects > gaps[i];
      }, { timeoutMs: 30000, what: 'the resubscription' });
    }
    const r1 = await get(revalidate.proxy, path);
    assert.notEqual(r1.xCache, 'HIT', `revalidate_all: ${show(r1)}`);
    const r2 = await get(purge.proxy, path);
    assert.equal(r2.xCache, 'MISS', `purge_all: ${show(r2)}`);
    const r3 = await get(ignore.proxy, path);
    assert.equal(r3.xCache, 'HIT', `ignore: ${show(r3)}`);
    assert.equal((await revalidate.admin.stats()).invalidation.last_gap.action, 'revalidate_all');
    assert.equal((await purge.admin.stats()).invalidation.last_gap.action, 'purge_all');
  });

  it('serves without Redis at startup and applies the gap policy once it comes', async () => {
    const port = await closedPort();
    const { proxy, admin } = await proxyWith({ redis: { address: `127.0.0.1:${port}` } });
    await store(proxy, '/_test/cache/plain/no-redis-yet');
    await waitFor(async () => (await admin.stats()).invalidation.connect_failures >= 2,
      { what: 'failed attempts' });
    assert.equal(proxy.stderr.match(/cannot reach redis/g).length, 1, 'logged once');
    const late = await startRedis({ port });
    try {
      const stats = await waitForGap(admin, 1);
      assert.equal(stats.last_gap.action, 'revalidate_all');
      assert.notEqual((await get(proxy, '/_test/cache/plain/no-redis-yet')).xCache, 'HIT');
    } finally {
      await late.stop();
    }
  });

  it('exits 0 promptly on SIGTERM with Redis up or down', async () => {
    const up = await proxyWith({ redis: { address: redis.address } });
    await waitForSubscribed(up.admin);
    const down = await proxyWith({ redis: { address: `127.0.0.1:${await closedPort()}` } });
    for (const { proxy } of [up, down]) {
      const t0 = Date.now();
      const exit = await proxy.stop('SIGTERM', 5000);
      assert.equal(exit.code, 0, JSON.stringify(exit));
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    }
  });
});
