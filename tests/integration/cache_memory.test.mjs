// cache.memory bounds the store: floods of distinct keys, small or large, keep the proxy's RSS
// bounded, evict what has not been used, and leave the cache working.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { rssKb, sampleRss } from './lib/rss.mjs';
import { fetchCached, originCount, describeResponse as show } from './lib/cache.mjs';

const RSS_LIMIT_KB = 64 * 1024;

function assertBounded(t, rss, limitKb, what) {
  t.diagnostic(`${what}: RSS ${rss.baselineKb} -> ${rss.maxKb} kB over ${rss.samples} samples`);
  assert.ok(rss.increaseKb < limitKb, `${what}: proxy RSS grew by ${rss.increaseKb} kB ` +
    `(from ${rss.baselineKb} to ${rss.maxKb} kB; limit ${limitKb} kB)`);
}

// Sends requests 0 .. count - 1 over `parallel` keep-alive connections: request(i) gives the
// path and headers, and each answer must be a 200 MISS (every key is new) whose body, as
// bodyOf(response) reads it, has expectedSize(i) bytes.
async function floodMisses(port, count, parallel, request, expectedSize, bodyOf = (r) => r.body) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  let next = 0;
  const failures = [];
  try {
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        const { path, headers } = request(i);
        const r = await fetchCached(port, path, { agent, headers });
        if (r.status !== 200 || bodyOf(r).length !== expectedSize(i) || r.xCache !== 'MISS') {
          failures.push(`${path}: ${show(r)}`);
        }
      }
    }));
  } finally {
    agent.destroy();
  }
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} bad answers`);
}

// GETs paths(0) .. paths(count - 1), each a 200 of `size` bytes from the origin.
const flood = (port, count, paths, { size, parallel = 32 }) =>
  floodMisses(port, count, parallel, (i) => ({ path: paths(i), headers: {} }), () => size);

// JSON API traffic: mostly 1 to 4 KB, every 20th 64 KB; every other client asks for gzip, so
// the gzip forms made on first demand are stored too.
const apiSize = (i) => (i % 20 === 19 ? 64 * 1024 : [1100, 1600, 2300, 3100, 4096][i % 5]);
const wantsGzip = (i) => i % 2 === 0;

// Like flood(), for the mix above; a body the proxy sent gzipped is measured gunzipped.
const apiFlood = (port, count, path, { parallel = 16 } = {}) => floodMisses(port, count, parallel,
  (i) => ({ path: path(i), headers: { 'accept-encoding': wantsGzip(i) ? 'gzip' : 'identity' } }),
  apiSize,
  (r) => (r.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(r.body) : r.body));

// ASan's allocator adds redzones to every block and keeps freed ones in quarantine, neither of
// which the budget counts (nor should): the ASan pass gets that much more room.
function underAsan(pid) {
  return /libasan|libclang_rt\.asan/.test(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

describe('cache memory', { timeout: 200000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  // A proxy per test, as in the streaming tests: an earlier flood would raise the baseline.
  async function freshProxy(t) {
    const proxy = await startProxy({ yaml: proxyConfig({
      servers: [origin.address],
      cache: { memory: '8m', shards: 4 },
      routeClasses: { flood: { ttl: '10m' } },
      routes: [{ match: { path_prefix: '/_test/cache/' }, upstream: 'app', class: 'flood' }],
    }) });
    t.after(() => proxy.stop());
    // Warm up connections, buffers and the allocator so the baseline includes them.
    await flood(proxy.port, 500, (i) => `/_test/cache/warm/${i}?size=2048`, { size: 2048 });
    return proxy;
  }

  it('keeps RSS bounded through 20k distinct 2 KB responses and evicts the oldest',
    async (t) => {
      const proxy = await freshProxy(t);
      const count = 20000;
      const size = 2048;
      const path = (i) => `/_test/cache/small/${i}?size=${size}`;
      const rss = sampleRss(proxy.pid);
      await flood(proxy.port, count, path, { size });
      const stats = rss.stop();
      assertBounded(t, stats, RSS_LIMIT_KB, `${count} x ${size} B with memory: 8m`);

      // The newest entry is kept; the first of ~40 MB of entries is gone from an 8 MB store.
      const newest = await fetchCached(proxy.port, path(count - 1));
      assert.equal(newest.xCache, 'HIT', show(newest));
      const oldest = await fetchCached(proxy.port, path(0));
      assert.equal(oldest.xCache, 'MISS', `an 8 MB store kept its first of ${count} ` +
        `${size} B entries: ${show(oldest)}`);
      assert.equal(await originCount(origin, '/_test/cache/small/0'), 2);
    });

  it('keeps RSS bounded through 300 distinct 256 KB responses', async (t) => {
    const proxy = await freshProxy(t);
    const count = 300;
    const size = 256 * 1024;
    const path = (i) => `/_test/cache/large/${i}?size=${size}`;
    const rss = sampleRss(proxy.pid);
    await flood(proxy.port, count, path, { size, parallel: 8 });
    const stats = rss.stop();
    assertBounded(t, stats, RSS_LIMIT_KB, `${count} x 256 KB with memory: 8m`);
    const newest = await fetchCached(proxy.port, path(count - 1));
    assert.equal(newest.xCache, 'HIT', show(newest));
    assert.equal(newest.body.length, size);
  });

  // Floods a 32 MB store with `count` API responses of the class `routeClass`; the RSS peak
  // must stay under `factor` x the budget plus the idle baseline (ASan gets 0.75 x the budget
  // more for its redzones and quarantine).
  async function apiFloodWithin(t, name, routeClass, factor, count = 5000) {
    const budgetKb = 32 * 1024;
    const proxy = await startProxy({ yaml: proxyConfig({
      servers: [origin.address],
      cache: { memory: '32m', shards: 16 },
      routeClasses: { api: routeClass },
      routes: [{ match: { path_prefix: '/_test/cache/' }, upstream: 'app', class: 'api' }],
    }) });
    t.after(() => proxy.stop());
    const idleKb = rssKb(proxy.pid);
    const asan = underAsan(proxy.pid);
    const limitFactor = asan ? factor + 0.75 : factor;
    const limitKb = limitFactor * budgetKb + idleKb;
    const path = (i) => `/_test/cache/${name}/${i}?size=${apiSize(i)}`;
    const rss = sampleRss(proxy.pid);
    await apiFlood(proxy.port, count, path);
    const { maxKb } = rss.stop();
    t.diagnostic(`${count} API responses, ${JSON.stringify(routeClass)}, memory: 32m` +
      `${asan ? ' (ASan)' : ''}: idle ${idleKb} kB, max ${maxKb} kB, limit ${limitKb} kB`);
    assert.ok(maxKb <= limitKb, `proxy RSS reached ${maxKb} kB; limit ${limitKb} kB ` +
      `(${limitFactor} x the ${budgetKb} kB budget + ${idleKb} kB idle)`);

    const newest = await fetchCached(proxy.port, path(count - 2));
    assert.equal(newest.xCache, 'HIT', show(newest));
    return { proxy, path };
  }

  // The budget counts what entries really cost (capacity, malloc blocks, index nodes): a store
  // at 32 MB used to hold about 85 MB, mostly gzip forms in 16 KB buffers counted at their size.
  // ~44 MB of bodies and ~4000 gzip forms clearly overfill the store. 5000 responses (~27 MB
  // of bodies) only just did, and once left the first entry in place under the ASan build.
  it('keeps RSS under 1.5 x the 32 MB budget plus the idle baseline through an API flood',
    async (t) => {
      const count = 8000;
      const { proxy, path } = await apiFloodWithin(t, 'api', { ttl: '10m' }, 1.5, count);
      const oldest = await fetchCached(proxy.port, path(0));
      assert.equal(oldest.xCache, 'MISS', `a 32 MB store kept the first of ${count} ` +
        `responses: ${show(oldest)}`);
    });

  // compress_on_store makes the gzip form at once and queues the Brotli form: the queue used
  // to keep every evicted entry alive until its turn (about 4 x the budget under this flood).
  // It now runs one encoding per worker and holds waiting entries weakly. The measured peak is
  // about 1.5 x (bench/memory_flood.sh --compress-on-store 1); the bound leaves room for load.
  it('keeps RSS under 2 x the budget plus the idle baseline when entries are compressed on store',
    (t) => apiFloodWithin(t, 'api-compressed', { ttl: '10m', compress_on_store: true }, 2,
      12000));
});
