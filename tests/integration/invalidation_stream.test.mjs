// Stream mode: the proxy XREADs a Redis Stream from the last id it saw, so messages added
// while it was disconnected (its connection killed, or Redis restarted) are still applied,
// and no gap policy is needed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { fetchCached } from './lib/cache.mjs';
import { waitFor } from './lib/wait.mjs';
import { startRedis, invalidationConfig, adminOf, waitForMessages, waitForSubscribed, storeHit }
  from './lib/redis.mjs';

const CLASSES = { plain: { ttl: '60s' } };
const STREAM = 'inv';

describe('invalidation from a Redis stream', { timeout: 240000 }, () => {
  let origin;
  let redis;
  let proxy;
  let admin;
  let added = 0;

  before(async () => {
    origin = await startOrigin();
    redis = await startRedis();
    // Entries from before the proxy started are not replayed.
    await redis.command('XADD', STREAM, '*', 'msg', '*');
    proxy = await startProxy({ yaml: invalidationConfig({ origin, classes: CLASSES,
      invalidation: { redis: { address: redis.address }, mode: 'stream',
        stream: { key: STREAM, block: '1s' }, reconnect: { min_delay: '100ms', max_delay: '300ms' } } }) });
    admin = await adminOf(proxy);
    await waitForSubscribed(admin);
  });
  after(async () => {
    await proxy?.stop();
    await redis?.stop();
    await origin?.stop();
  });

  const get = (path) => fetchCached(proxy.port, path);
  const store = (path) => storeHit(proxy.port, path);
  const entry = (message, field = 'msg') => ['XADD', STREAM, '*', field, message];

  it('applies entries as they are added, and counts entries without the field', async () => {
    await store('/_test/cache/plain/s1');
    await store('/_test/cache/plain/s2');
    await redis.pipeline([entry('*|/_test/cache/plain/s1|*'), entry('x', 'other'),
      entry(JSON.stringify({ patterns: ['*|/_test/cache/plain/s2|*'], soft: true }))]);
    added += 3;
    await waitForMessages(admin, added);
    assert.equal((await get('/_test/cache/plain/s1')).xCache, 'MISS');
    assert.notEqual((await get('/_test/cache/plain/s2')).xCache, 'HIT');
    const stats = (await admin.stats()).invalidation;
    assert.equal(stats.malformed, 1);
    assert.match(stats.last_malformed_reason, /no field "msg"/);
    assert.equal(stats.messages, 3, 'the entry from before the start was not replayed');
  });

  it('loses nothing added while its connection was down', async () => {
    const paths = ['/_test/cache/plain/k1', '/_test/cache/plain/k2', '/_test/cache/plain/keep'];
    for (const path of paths) await store(path);
    const before = (await admin.stats()).invalidation;
    const replies = await redis.pipeline([['CLIENT', 'KILL', 'TYPE', 'normal'],
      entry(`*|${paths[0]}|*`), entry(`*|${paths[1]}|*`)]);
    assert.ok(replies[0] >= 1, 'the proxy connection was killed');
    added += 2;
    await waitForMessages(admin, added);
    const stats = (await admin.stats()).invalidation;
    assert.ok(stats.reconnects > before.reconnects, 'it did reconnect');
    assert.equal(stats.last_gap.count, 0, 'no gap policy in stream mode');
    assert.equal((await get(paths[0])).xCache, 'MISS');
    assert.equal((await get(paths[1])).xCache, 'MISS');
    assert.equal((await get(paths[2])).xCache, 'HIT');
  });

  it('loses nothing across a Redis restart', async () => {
    const paths = ['/_test/cache/plain/r1', '/_test/cache/plain/keep-too'];
    for (const path of paths) await store(path);
    await redis.kill();
    await waitFor(async () => !(await admin.stats()).invalidation.connected,
      { what: 'the proxy to notice' });
    await redis.restart();
    await redis.command(...entry(`*|${paths[0]}|*`));  // most likely before it is back
    added += 1;
    await waitForMessages(admin, added);
    assert.equal((await get(paths[0])).xCache, 'MISS');
    assert.equal((await get(paths[1])).xCache, 'HIT');
    assert.equal((await admin.stats()).invalidation.last_gap.count, 0);
  });
});
