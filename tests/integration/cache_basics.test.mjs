// The response cache, basics: MISS then HIT with Age and Cache-Status, HEAD from a GET entry,
// the query string in the key, pass-through classes, unsafe methods purging, objects over
// max_object_size, storable statuses, Set-Cookie, and tagged classes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { fetchCached, originCount, cacheRoutes, describeResponse as show, waitUntil }
  from './lib/cache.mjs';

const CLASSES = {
  basic: { ttl: '60s' },
  off: { cache: false },
  small: { ttl: '60s', max_object_size: '64k' },
  cookies: { ttl: '60s', store_set_cookie: true },
  only200: { ttl: '60s', statuses: [200] },
  search: { ttl: '60s', key: { query_include: ['q', 'page'] } },
  tagged: { ttl: '60s', tags: ['org:{header.x-org-id}:item:{path.5}', 'all-items'] },
};

describe('cache basics', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address],
      routeClasses: CLASSES, routes: cacheRoutes(CLASSES) }) });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (path, options) => fetchCached(proxy.port, path, options);

  // The request is answered by the origin (a fresh body) and the cache says MISS.
  async function expectMiss(path, n, options) {
    const r = await get(path, options);
    assert.equal(r.xCache, 'MISS', `${path}: ${show(r)}`);
    if (n !== undefined) assert.equal(r.json?.n, n, `${path}: ${show(r)}`);
    return r;
  }

  async function expectHit(path, n, options) {
    const r = await get(path, options);
    assert.equal(r.xCache, 'HIT', `${path}: ${show(r)}`);
    if (n !== undefined) assert.equal(r.json?.n, n, `${path}: ${show(r)}`);
    return r;
  }

  it('answers a cold key from the origin (MISS, stored), then from the cache (HIT)', async () => {
    const path = '/_test/cache/basic/hit';
    const first = await expectMiss(path, 1);
    assert.equal(first.status, 200);
    assert.equal(first.cs?.cache, 'edge-proxy', `Cache-Status: ${first.cacheStatus}`);
    assert.equal(first.cs.fwd, 'uri-miss', `Cache-Status: ${first.cacheStatus}`);
    assert.equal(first.cs.stored, true, `Cache-Status: ${first.cacheStatus}`);

    const second = await expectHit(path, 1);
    assert.equal(second.status, 200);
    assert.equal(second.cs?.cache, 'edge-proxy', `Cache-Status: ${second.cacheStatus}`);
    assert.equal(second.cs.hit, true, `Cache-Status: ${second.cacheStatus}`);
    const ttl = Number(second.cs.ttl);
    assert.ok(ttl >= 58 && ttl <= 60, `Cache-Status ttl ${second.cs.ttl} (class ttl 60s)`);
    assert.ok(Number.isInteger(second.age) && second.age >= 0 && second.age <= 2,
      `Age ${second.headers.age}`);
    assert.equal(second.text, first.text);
    assert.equal(second.headers['content-type'], first.headers['content-type']);
    assert.equal(second.headers['x-origin-count'], '1');
    assert.equal(await originCount(origin, path), 1);
  });

  it('counts Age up, and the remaining ttl down, as the entry gets older', async () => {
    const path = '/_test/cache/basic/age';
    const sentAt = Date.now();
    await expectMiss(path, 1);
    const storedAt = Date.now();
    await waitUntil(storedAt, 2100);
    const r = await expectHit(path, 1);
    // At most the time since the miss was sent (measured, so a slow machine only raises the
    // bound), plus the second a whole-second Date can add.
    const maxAge = Math.floor((Date.now() - sentAt) / 1000) + 1;
    assert.ok(r.age >= 2 && r.age <= maxAge, `Age ${r.headers.age} after 2.1 s, at most ${maxAge}`);
    // The remaining ttl is what the age leaves of 60 s (each rounded to whole seconds).
    const ttl = Number(r.cs.ttl);
    assert.ok(Math.abs(ttl - (60 - r.age)) <= 1, `Cache-Status ttl ${r.cs.ttl} with Age ${r.age}`);
    assert.ok(ttl <= 58, `Cache-Status ttl ${r.cs.ttl} after 2.1 s of 60 s`);
    assert.equal(await originCount(origin, path), 1);
  });

  it('answers HEAD from the GET entry, with the GET headers and no body', async () => {
    const path = '/_test/cache/basic/head';
    const full = await expectMiss(path, 1);
    const head = await get(path, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.xCache, 'HIT', show(head));
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(full.body.length));
    assert.equal(head.headers['x-origin-count'], '1');
    assert.equal(head.headers['content-type'], full.headers['content-type']);
    assert.ok(Number.isInteger(head.age), `HEAD from the cache without Age: ${show(head)}`);
    assert.equal(await originCount(origin, path), 1);
  });

  it('answers a cold HEAD with the headers of the resource and no body', async () => {
    const path = '/_test/cache/basic/cold-head';
    const head = await get(path, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.match(head.headers['content-type'] ?? '', /^application\/json/);
    assert.ok(['MISS', 'HIT'].includes(head.xCache), show(head));
    const full = await get(path);
    assert.equal(full.status, 200);
    assert.equal(full.json?.path, path, show(full));
  });

  it('keys entries by the query string, normalised and without tracking parameters',
    async () => {
      const path = '/_test/cache/basic/query';
      await expectMiss(`${path}?a=1&b=2`, 1);
      await expectMiss(`${path}?a=2&b=2`, 2);
      await expectHit(`${path}?a=1&b=2`, 1);
      await expectHit(`${path}?a=2&b=2`, 2);
      await expectHit(`${path}?b=2&a=1`, 1);  // parameter order does not matter
      // The default query_ignore: fields, utm_*, gclid, fbclid, msclkid.
      await expectHit(`${path}?a=1&b=2&utm_source=news&utm_medium=mail&fbclid=x&gclid=y`, 1);
      await expectHit(`${path}?fields=n,path&a=1&msclkid=z&b=2`, 1);  // projected to n, path
      await expectMiss(`${path}?a=1&b=3`, 3);
      assert.equal(await originCount(origin, path), 3);
    });

  it('keys entries only by the parameters in query_include', async () => {
    const path = '/_test/cache/search/find';
    await expectMiss(`${path}?q=pump&page=1&session=a`, 1);
    await expectHit(`${path}?session=b&page=1&q=pump`, 1);
    await expectHit(`${path}?q=pump&page=1`, 1);
    await expectMiss(`${path}?q=pump&page=2`, 2);
    await expectMiss(`${path}?q=valve&page=1`, 3);
    assert.equal(await originCount(origin, path), 3);
  });

  it('passes every request of a cache: false class upstream (BYPASS)', async () => {
    const path = '/_test/cache/off/item?cc=public%2C%20max-age%3D600';
    for (const n of [1, 2, 3]) {
      const r = await get(path);
      assert.equal(r.status, 200);
      assert.equal(r.xCache, 'BYPASS', show(r));
      assert.equal(r.cs?.fwd, 'bypass', `Cache-Status: ${r.cacheStatus}`);
      assert.equal(r.json?.n, n, show(r));
    }
    assert.equal(await originCount(origin, '/_test/cache/off/item'), 3);
  });

  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    it(`passes ${method} upstream (BYPASS) and purges the entry of its URL`, async () => {
      const path = `/_test/cache/basic/purge-${method.toLowerCase()}`;
      await expectMiss(path, 1);
      await expectHit(path, 1);
      const r = await get(path, { method, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 200);
      assert.equal(r.xCache, 'BYPASS', show(r));
      assert.equal(r.cs?.fwd, 'bypass', `Cache-Status: ${r.cacheStatus}`);
      assert.equal(r.json?.method, method);
      assert.equal(r.json?.n, 2);
      await expectMiss(path, 3);
      await expectHit(path, 3);
    });
  }

  it('purges the Location and Content-Location a successful POST names on the same host',
    async () => {
      const base = '/_test/cache/basic/coll';
      const item = `${base}/item`;
      const other = `${base}/other`;
      const foreign = `${base}/foreign`;
      for (const path of [item, other, foreign]) await expectMiss(path, 1);
      for (const path of [item, other, foreign]) await expectHit(path, 1);
      const post = await get(`${base}?status=201&location=${encodeURIComponent(item)}` +
        `&content_location=${encodeURIComponent(`http://127.0.0.1:${proxy.port}${other}`)}`,
      { method: 'POST' });
      assert.equal(post.status, 201);
      assert.equal(post.headers.location, item);
      await expectMiss(item, 2);
      await expectMiss(other, 2);
      // Another host's URL is left alone (RFC 9111 section 4.4).
      const foreignPost = await get(`${base}?status=201&location=` +
        encodeURIComponent(`http://elsewhere.example${foreign}`), { method: 'POST' });
      assert.equal(foreignPost.status, 201);
      await expectHit(foreign, 1);
    });

  it('does not purge when the unsafe method fails', async () => {
    const path = '/_test/cache/basic/failed-post';
    await expectMiss(path, 1);
    await origin.script(path, { status: 500 });
    try {
      const post = await get(path, { method: 'POST' });
      assert.equal(post.status, 500);
      assert.equal(post.xCache, 'BYPASS', show(post));
      await expectHit(path, 1);
    } finally {
      await origin.unscript(path);
    }
  });

  it('streams an object over max_object_size through without storing it', async () => {
    const small = '/_test/cache/small/fits?size=1000';
    await expectMiss(small, 1);
    await expectHit(small, 1);

    const path = '/_test/cache/small/big';
    const size = 200 * 1024;
    for (const n of [1, 2]) {
      const r = await get(`${path}?size=${size}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, size);
      assert.equal(r.headers['content-length'], String(size));
      assert.equal(r.json?.n, n, `response ${n} not from the origin: ${show(r)}`);
      assert.notEqual(r.xCache, 'HIT', show(r));
    }
    assert.equal(await originCount(origin, path), 2);
  });

  it('does not store a chunked body that grows over max_object_size', async () => {
    const path = '/_test/cache/small/big-chunked';
    for (const n of [1, 2]) {
      const r = await get(`${path}?chunks=5&interval=10&size=32768`);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, 5 * 32768);
      assert.deepEqual(r.lines?.map((l) => [l.n, l.chunk]), [0, 1, 2, 3, 4].map((i) => [n, i]),
        show(r));
      assert.notEqual(r.xCache, 'HIT', show(r));
    }
    assert.equal(await originCount(origin, path), 2);
  });

  it('stores the statuses of the class list and passes the others through', async () => {
    const notFound = '/_test/cache/basic/gone?status=404';
    const first = await expectMiss(notFound, 1);
    assert.equal(first.status, 404);
    const again = await expectHit(notFound, 1);
    assert.equal(again.status, 404);

    for (const status of [500, 201]) {
      const path = `/_test/cache/basic/status-${status}`;
      for (const n of [1, 2]) {
        const r = await expectMiss(`${path}?status=${status}`, n);
        assert.equal(r.status, status);
      }
      assert.equal(await originCount(origin, path), 2);
    }

    const only200 = '/_test/cache/only200/gone';
    for (const n of [1, 2]) {
      const r = await expectMiss(`${only200}?status=404`, n);
      assert.equal(r.status, 404);
    }
  });

  it('does not store a response with Set-Cookie unless the class allows it', async () => {
    const plain = '/_test/cache/basic/cookie';
    for (const n of [1, 2]) {
      const r = await expectMiss(`${plain}?set_cookie=1`, n);
      assert.equal(r.headers['set-cookie']?.[0], `sid=s${n}; Path=/`);
    }
    const allowed = '/_test/cache/cookies/cookie';
    await expectMiss(`${allowed}?set_cookie=1`, 1);
    await expectHit(`${allowed}?set_cookie=1`, 1);
    assert.equal(await originCount(origin, allowed), 1);
  });

  it('stores responses of a tagged class, with origin Surrogate-Key and Cache-Tag', async () => {
    const path = '/_test/cache/tagged/items/7?surrogate=wo-7%20site-3&cache_tag=list';
    const headers = { 'x-org-id': '42' };
    const first = await expectMiss(path, 1, { headers });
    assert.equal(first.json.org, '42');
    const hit = await expectHit(path, 1, { headers });
    assert.equal(hit.text, first.text);
  });

  it('labels answers that cannot be stored: MISS with the reason in Cache-Status', async () => {
    const path = '/_test/cache/basic/no-store?cc=no-store';
    for (const n of [1, 2]) {
      const r = await expectMiss(path, n);
      assert.equal(r.cs?.cache, 'edge-proxy', `Cache-Status: ${r.cacheStatus}`);
      assert.equal(r.cs.fwd, 'uri-miss', `Cache-Status: ${r.cacheStatus}`);
      assert.equal(r.cs.stored, undefined, `Cache-Status: ${r.cacheStatus}`);
      assert.equal(r.age, undefined, `an origin answer carries no Age: ${show(r)}`);
    }
  });
});
