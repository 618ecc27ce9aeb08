// The class options around validators and stored encodings: generate_etag (strong ETags and
// 304s for uncached JSON responses held back until complete), compress_on_store (encoded
// forms made when the entry is stored), revalidation upstream when the client holds an
// encoded variant's tag, and encoded forms counted in the cache's memory budget.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { patternBytes } from './lib/pattern.mjs';
import { fetchCached, originCount, describeResponse as show } from './lib/cache.mjs';

const q = (params) => new URLSearchParams(params).toString();
const LIST = '/api/v1/work-orders?per_page=50';  // ~17 KB of JSON from the demo API

// The tag generateEtag makes: the first 128 bits of the body's SHA-256, base64url, quoted.
const sha256Tag = (body) =>
  `"${createHash('sha256').update(body).digest().subarray(0, 16).toString('base64url')}"`;

describe('generate_etag: uncached JSON responses', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address],
      routeClasses: {
        tagged: { cache: false, generate_etag: true, max_object_size: '16k' },
        plain: { cache: false },
      },
      routes: [
        { match: { path_prefix: '/_test/bytes/' }, upstream: 'app', class: 'tagged' },
        { match: { path_prefix: '/_test/cache/plain/' }, upstream: 'app', class: 'plain' },
        { match: { path_prefix: '/' }, upstream: 'app', class: 'tagged' },
      ] }) });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (path, headers = {}) => fetchCached(proxy.port, path, { headers });

  it('gives a JSON 200 without an ETag a strong tag of its bytes, with Content-Length',
    async () => {
      for (const path of ['/_test/bytes/3000?type=json', '/_test/bytes/3000?type=json&chunked=1']) {
        const r = await get(path);
        assert.equal(r.status, 200, show(r));
        assert.ok(r.body.equals(patternBytes(3000)), `${path}: body differs from the origin's`);
        assert.equal(r.headers.etag, sha256Tag(r.body), path);
        assert.equal(r.headers['content-length'], '3000', path);
        assert.equal(r.headers['transfer-encoding'], undefined, path);
      }
    });

  it('answers If-None-Match with the generated tag with a 304 though nothing is stored',
    async () => {
      const path = '/_test/bytes/3000?type=json';
      const tag = sha256Tag(patternBytes(3000));
      const r = await get(path, { 'if-none-match': `"other", ${tag}` });
      assert.equal(r.status, 304, show(r));
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, tag);
      assert.equal((await get(path, { 'if-none-match': '"other"' })).status, 200);
    });

  it('compresses the held body in one piece: strong per-encoding tag, Content-Length, 304',
    async () => {
      const path = '/_test/bytes/3000?type=json';
      const tag = sha256Tag(patternBytes(3000));
      for (const [coding, decode] of [['gzip', gunzipSync], ['br', brotliDecompressSync]]) {
        const r = await get(path, { 'accept-encoding': coding });
        assert.equal(r.headers['content-encoding'], coding, show(r));
        assert.equal(r.headers.etag, tag.replace(/"$/, `-ep-${coding === 'gzip' ? 'gz' : 'br'}"`));
        assert.equal(Number(r.headers['content-length']), r.body.length);
        assert.match(r.headers.vary ?? '', /accept-encoding/i);
        assert.ok(decode(r.body).equals(patternBytes(3000)), `${coding} body decodes differently`);
        const again = await get(path, { 'accept-encoding': coding, 'if-none-match': r.headers.etag });
        assert.equal(again.status, 304, `${coding}: ${show(again)}`);
        // The identity tag names other bytes than the ones this client would get.
        const other = await get(path, { 'accept-encoding': coding, 'if-none-match': tag });
        assert.equal(other.status, 200, `${coding}: ${show(other)}`);
      }
    });

  it('leaves non-JSON, oversized and ETag-carrying responses and other classes alone',
    async () => {
      const binary = await get('/_test/bytes/3000');
      assert.equal(binary.headers.etag, undefined, 'octet-stream got a tag');
      const large = await get('/_test/bytes/40000?type=json');
      assert.equal(large.status, 200);
      assert.ok(large.body.equals(patternBytes(40000)), 'a released body must stay intact');
      assert.equal(large.headers.etag, undefined, 'a body over max_object_size was held back');
      const tagged = await get(`/_test/cache/own?${q({ etag: 'origin-tag', size: 2000 })}`);
      assert.equal(tagged.headers.etag, '"origin-tag"');
      const plain = await get(`/_test/cache/plain/x?${q({ size: 2000, cc: 'no-store' })}`);
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.etag, undefined, 'a class without generate_etag got a tag');
    });

  it('gives a clean 502 when the origin breaks off a held-back body', async () => {
    const r = await get('/_test/close-mid-body?bytes=2000&type=json');
    assert.equal(r.status, 502, show(r));
    assert.match(r.text, /upstream|origin/i);
    const next = await get('/_test/bytes/3000?type=json');
    assert.equal(next.status, 200, 'the proxy still answers');
  });
});

describe('compress_on_store and stored encoded forms', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address],
      cache: { memory: '1m', shards: 1 },
      routeClasses: {
        eager: { ttl: '60s', compress_on_store: true },
        lazy: { ttl: '60s' },
      },
      routes: [
        { match: { path: '/api/v1/work-orders' }, upstream: 'app', class: 'eager' },
        { match: { path_prefix: '/' }, upstream: 'app', class: 'lazy' },
      ] }) });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (path, headers = {}) => fetchCached(proxy.port, path, { headers });

  it('makes the gzip form at store time and the Brotli form right after it', async () => {
    const miss = await get(LIST);
    assert.equal(miss.xCache, 'MISS', show(miss));
    const gzip = await get(LIST, { 'accept-encoding': 'gzip' });
    assert.equal(gzip.xCache, 'HIT');
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(gzip.body).equals(miss.body));
    // Quality 11 on a background thread: give it time, then the very first br request gets br
    // (without compress_on_store the first one starts the work and falls back to gzip).
    await sleep(3000);
    const br = await get(LIST, { 'accept-encoding': 'br' });
    assert.equal(br.headers['content-encoding'], 'br', show(br));
    assert.ok(brotliDecompressSync(br.body).equals(miss.body));
  });

  it('makes the Brotli form of a lazy class only when asked for it', async () => {
    const path = `/_test/cache/lazy/one?${q({ size: 4000 })}`;
    await get(path);
    await sleep(1000);
    const first = await get(path, { 'accept-encoding': 'br' });
    assert.equal(first.xCache, 'HIT');
    // The first br hit of a lazy class starts the Brotli work and gets identity meanwhile
    // (gzip is not acceptable to this client).
    assert.equal(first.headers['content-encoding'], undefined, show(first));
  });

  it('counts encoded forms in the memory budget: adding them evicts older entries', async () => {
    // Seven 100 KB entries of poorly compressible JSON fit in 1 MB; their gzip forms (about
    // 75 KB each) do not fit beside them.
    const paths = Array.from({ length: 7 },
      (_, i) => `/_test/cache/lazy/mem${i}?${q({ size: 100000, pad: 'noise' })}`);
    for (const path of paths) {
      assert.equal((await get(path)).xCache, 'MISS');
    }
    for (const path of paths) {
      assert.equal((await get(path)).xCache, 'HIT', `${path}: identity entries alone must fit`);
    }
    for (const path of paths) {
      const r = await get(path, { 'accept-encoding': 'gzip' });
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.ok(r.body.length > 60000, `gzip form of noise is ${r.body.length} bytes`);
    }
    const before = await Promise.all(paths.map((p) => originCount(origin, p.split('?')[0])));
    const outcomes = [];
    for (const path of paths) outcomes.push((await get(path)).xCache);
    const after = await Promise.all(paths.map((p) => originCount(origin, p.split('?')[0])));
    const refetched = after.reduce((sum, n, i) => sum + n - before[i], 0);
    assert.ok(refetched >= 1, `no entry was evicted after adding 7 gzip forms: ${outcomes}`);
  });
});

describe('revalidation upstream when the client holds an encoded variant tag',
  { timeout: 240000 }, () => {
    let origin;
    let proxy;
    before(async () => {
      origin = await startOrigin();
      proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address],
        routeClasses: { api: { ttl: '60s' } },
        routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'api' }] }) });
    });
    after(async () => {
      await proxy?.stop();
      await origin?.stop();
    });

    it('sends the origin its own tag and answers the client in the client\'s variant',
      async () => {
        const name = '/_test/cache/reval/suffixed';
        const path = `${name}?${q({ cc: 'max-age=1', etag: 'v1', size: 3000 })}`;
        const gz = { 'accept-encoding': 'gzip' };
        const first = await fetchCached(proxy.port, path, { headers: gz });
        assert.equal(first.headers.etag, '"v1-ep-gz"', show(first));
        await sleep(1500);  // stale now
        const held = { ...gz, 'if-none-match': '"v1-ep-gz"' };
        const revalidated = await fetchCached(proxy.port, path, { headers: held });
        assert.equal(revalidated.status, 304, show(revalidated));
        assert.equal(revalidated.headers.etag, '"v1-ep-gz"');
        assert.equal(revalidated.xCache, 'REVALIDATED');
        assert.equal(await originCount(origin, name), 2, 'the stale entry was not revalidated');

        // The origin moves on: its 200 shows which validator it was asked about.
        await origin.script(name, { etag: 'v2' });
        await sleep(1500);
        const changed = await fetchCached(proxy.port, path, { headers: held });
        assert.equal(changed.status, 200, show(changed));
        assert.equal(changed.headers.etag, '"v2-ep-gz"');
        const seen = JSON.parse(gunzipSync(changed.body).toString());
        assert.equal(seen.inm, '"v1"', 'the origin must get its own tag, without our suffix');
      });
  });
