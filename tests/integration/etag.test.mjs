// Conditional requests answered by the cache: origin and generated ETags, If-None-Match
// (lists, weak comparison, "*"), If-Modified-Since (ignored when If-None-Match is present),
// the headers a 304 carries, and a client's conditional request on a cold key.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { fetchCached, originCount, describeResponse as show } from './lib/cache.mjs';

const q = (params) => new URLSearchParams(params).toString();
const HOUR_MS = 3600 * 1000;

describe('ETag and 304 from the cache', { timeout: 240000 }, () => {
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

  const get = (path, headers = {}) => fetchCached(proxy.port, path, { headers });

  async function expectNotModified(path, headers, xCache = 'HIT') {
    const r = await get(path, headers);
    assert.equal(r.status, 304, show(r));
    assert.equal(r.body.length, 0, 'a 304 has no body');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.xCache, xCache, show(r));
    return r;
  }

  it('generates a strong ETag for a cached 200 without one, stable across hits', async () => {
    const path = `/_test/cache/etag/generated?${q({ cc: 'max-age=60' })}`;
    await get(path);
    const hit = await get(path);
    assert.equal(hit.xCache, 'HIT', show(hit));
    const etag = hit.headers.etag;
    assert.match(etag ?? '', /^"[A-Za-z0-9_-]{22}"$/, `generated ETag: ${etag}`);
    assert.equal((await get(path)).headers.etag, etag);
    const other = await get(`/_test/cache/etag/other?${q({ cc: 'max-age=60' })}`);
    await get(`/_test/cache/etag/other?${q({ cc: 'max-age=60' })}`);
    assert.notEqual((await get(`/_test/cache/etag/other?${q({ cc: 'max-age=60' })}`)).headers.etag,
      etag, `different bodies, different tags (${other.headers.etag})`);
    const r = await expectNotModified(path, { 'if-none-match': etag });
    assert.equal(r.headers.etag, etag);
    assert.equal(await originCount(origin, '/_test/cache/etag/generated'), 1);
  });

  it('answers 304 to an origin ETag in a list, weakly compared, and to "*"', async () => {
    const path = `/_test/cache/etag/origin?${q({ cc: 'max-age=60', etag: 'v7' })}`;
    const first = await get(path);
    assert.equal(first.headers.etag, '"v7"');
    const r = await expectNotModified(path, { 'if-none-match': '"x", W/"v7" , "y"' });
    assert.equal(r.headers['cache-control'], 'max-age=60');
    assert.ok(r.headers.date, 'a 304 carries Date');
    assert.ok(r.headers.age !== undefined, 'answered from the cache: Age');
    await expectNotModified(path, { 'if-none-match': '*' });
    const changed = await get(path, { 'if-none-match': '"v6"' });
    assert.equal(changed.status, 200);
    assert.equal(changed.json?.n, 1, show(changed));
  });

  it('uses If-Modified-Since only without If-None-Match', async () => {
    const path = `/_test/cache/etag/lm?${q({ cc: 'max-age=60', lm: '-3600' })}`;
    const first = await get(path);
    assert.ok(first.headers['last-modified'], show(first));
    const now = new Date().toUTCString();
    await expectNotModified(path, { 'if-modified-since': now });
    const older = new Date(Date.parse(first.headers['last-modified']) - HOUR_MS).toUTCString();
    assert.equal((await get(path, { 'if-modified-since': older })).status, 200);
    // If-None-Match decides when present, even against a matching date.
    const both = await get(path, { 'if-none-match': '"nope"', 'if-modified-since': now });
    assert.equal(both.status, 200, show(both));
  });

  it('answers a conditional request on a cold key with 304 once the origin\'s answer matches',
    async () => {
      const path = `/_test/cache/etag/cold?${q({ cc: 'max-age=60', etag: 'c1' })}`;
      const r = await expectNotModified(path, { 'if-none-match': '"c1"' }, 'MISS');
      assert.equal(r.headers.etag, '"c1"');
      // The full answer was still stored for everyone else.
      const full = await get(path);
      assert.equal(full.status, 200);
      assert.equal(full.xCache, 'HIT', show(full));
      assert.equal(await originCount(origin, '/_test/cache/etag/cold'), 1);
    });
});
