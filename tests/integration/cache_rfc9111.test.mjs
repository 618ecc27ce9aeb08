// The response cache against RFC 9111: where freshness comes from (s-maxage, max-age, Expires,
// Age, heuristics, class ttl, override_origin), what is never stored, Vary, revalidation with
// ETag and Last-Modified (304 refreshes, 200 replaces), and the request's own Cache-Control
// (no-cache, max-age, min-fresh, max-stale, only-if-cached).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { fetchCached, originCount, cacheRoutes, describeResponse as show, waitUntil }
  from './lib/cache.mjs';

const CLASSES = {
  origin: {},                                           // freshness only from the origin
  ttl: { ttl: '30s' },
  override: { ttl: '30s', override_origin: true },
  heuristic: { ttl: '30s', heuristic_freshness: true },
  novary: { ttl: '30s', vary: [] },
};

const HOUR = 3600 * 1000;
const q = (params) => new URLSearchParams(params).toString();
// A Last-Modified `ms` ago; whole seconds, as HTTP dates are.
const ago = (ms) => new Date(Math.floor((Date.now() - ms) / 1000) * 1000).toUTCString();

describe('cache and RFC 9111', { timeout: 240000 }, () => {
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
  const withCc = (cc) => ({ headers: { 'cache-control': cc } });

  async function expectOutcome(label, path, n, options) {
    const r = await get(path, options);
    assert.equal(r.xCache, label, `${path}: ${show(r)}`);
    if (n !== undefined) assert.equal(r.json?.n, n, `${path}: ${show(r)}`);
    return r;
  }
  const expectMiss = (...args) => expectOutcome('MISS', ...args);
  const expectHit = (...args) => expectOutcome('HIT', ...args);

  // The freshness lifetime the cache gave an entry, read from the ttl of the hit after it.
  const lifetimes = [
    ['s-maxage over max-age and Expires', 'ttl',
      { cc: 'max-age=10, s-maxage=40', expires: '+100' }, 40],
    ['max-age over Expires', 'ttl', { cc: 'max-age=10', expires: '+100' }, 10],
    ['Expires minus Date', 'ttl', { expires: '+100' }, 100],
    ['the class ttl when the origin says nothing', 'ttl', {}, 30],
    ['max-age without a class ttl', 'origin', { cc: 'max-age=10' }, 10],
    ['the class ttl over max-age with override_origin', 'override', { cc: 'max-age=10' }, 30],
    ['the class ttl over s-maxage with override_origin', 'override',
      { cc: 's-maxage=100' }, 30],
    ['10% of the time since Last-Modified (heuristic)', 'heuristic', { lm: ago(10 * HOUR) }, 3600],
    ['at most one day of heuristic freshness', 'heuristic', { lm: ago(100 * 24 * HOUR) }, 86400],
    ['explicit freshness over the heuristic', 'heuristic',
      { cc: 'max-age=10', lm: ago(10 * HOUR) }, 10],
    ['the class ttl, not a heuristic, when the class does not allow one', 'ttl',
      { lm: ago(10 * HOUR) }, 30],
    ['max-age minus the Age the origin reports', 'origin', { cc: 'max-age=60', age: '20' }, 40],
  ];
  lifetimes.forEach(([what, cls, params, expected], i) => {
    it(`takes freshness from ${what}`, async () => {
      const path = `/_test/cache/${cls}/lifetime-${i}?${q(params)}`;
      const sentAt = Date.now();
      await expectMiss(path, 1);
      const hit = await expectHit(path, 1);
      // Less the time the two requests took (measured: a slow machine widens the bound, not
      // the test) and the second a whole-second Date can add.
      const spent = Math.ceil((Date.now() - sentAt) / 1000) + 1;
      const ttl = Number(hit.cs?.ttl);
      assert.ok(ttl >= expected - spent && ttl <= expected + 1,
        `Cache-Status ttl ${hit.cs?.ttl}, expected about ${expected}: ${show(hit)}`);
    });
  });

  it('counts the Age the origin reported in the Age it sends', async () => {
    const path = `/_test/cache/origin/origin-age?${q({ cc: 'max-age=60', age: '20' })}`;
    const sentAt = Date.now();
    await expectMiss(path, 1);
    const hit = await expectHit(path, 1);
    // 20 s plus the time since the miss was sent, plus a second for a whole-second Date.
    const maxAge = 20 + Math.floor((Date.now() - sentAt) / 1000) + 1;
    assert.ok(hit.age >= 20 && hit.age <= maxAge, `Age ${hit.headers.age}, at most ${maxAge}`);
  });

  it('fetches again once an entry without validators is stale', async () => {
    // Without Date the entry starts at age 0, not up to a second old, so the hit right after
    // the miss has the whole second.
    const path = `/_test/cache/origin/expires?${q({ cc: 'max-age=1', date: 'omit' })}`;
    await expectMiss(path, 1);
    const storedAt = Date.now();
    await expectHit(path, 1);
    // The second answer stays fresh long enough for the hit after it, however slow the machine.
    await origin.script('/_test/cache/origin/expires', { cc: 'max-age=60' });
    await waitUntil(storedAt, 1300);
    await expectMiss(path, 2);
    await expectHit(path, 2);
  });

  for (const [what, params, validator] of [
    ['ETag', { cc: 'max-age=1', etag: 'v1' }, 'if-none-match'],
    ['Last-Modified', { cc: 'max-age=1', lm: ago(HOUR) }, 'if-modified-since'],
  ]) {
    it(`revalidates a stale entry with its ${what}; a 304 refreshes it`, async () => {
      const path = `/_test/cache/origin/revalidate-${what}?${q(params)}`;
      const first = await expectMiss(path, 1);
      assert.equal(first.json[validator === 'if-none-match' ? 'inm' : 'ims'], null);
      const storedAt = Date.now();
      // The 304 carries max-age=60: the refreshed entry is still fresh at the hit below even
      // if the machine stalls (with max-age=1 and a whole-second Date it could be stale again
      // within milliseconds).
      await origin.script(path.split('?')[0], { cc: 'max-age=60' });
      await waitUntil(storedAt, 1300);
      const revalidated = await expectOutcome('REVALIDATED', path, 1);
      assert.equal(revalidated.status, 200);
      assert.equal(revalidated.text, first.text);
      assert.equal(revalidated.cs?.fwd, 'stale', `Cache-Status: ${revalidated.cacheStatus}`);
      assert.equal(revalidated.cs['fwd-status'], '304', `Cache-Status: ${revalidated.cacheStatus}`);
      // The origin only answers 304 to a request carrying the matching validator.
      assert.equal(await originCount(origin, path.split('?')[0]), 2);
      // Refreshed: fresh again for the 304's max-age, with no further origin request.
      const hit = await expectHit(path, 1);
      assert.ok(Number(hit.cs?.ttl) > 30, `refreshed lifetime: ${show(hit)}`);
      assert.equal(await originCount(origin, path.split('?')[0]), 2);
    });
  }

  it('replaces a stale entry when the origin answers the revalidation with a 200', async () => {
    const path = '/_test/cache/origin/replace';
    await origin.script(path, { cc: 'max-age=1', etag: 'v1' });
    const first = await expectMiss(path, 1);
    assert.equal(first.headers.etag, '"v1"');
    const storedAt = Date.now();
    await origin.script(path, { cc: 'max-age=60', etag: 'v2' });
    await waitUntil(storedAt, 1300);
    const fetched = await get(path);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.json?.n, 2, show(fetched));
    assert.equal(fetched.json?.inm, '"v1"', 'the revalidation did not send If-None-Match');
    assert.equal(fetched.headers.etag, '"v2"');
    assert.ok(!['HIT', 'REVALIDATED', 'STALE'].includes(fetched.xCache), show(fetched));
    const hit = await expectHit(path, 2);
    assert.equal(hit.headers.etag, '"v2"');
    assert.equal(hit.text, fetched.text);
  });

  for (const [what, cls, params] of [
    ['Cache-Control: no-cache', 'ttl', { cc: 'no-cache', etag: 'nc' }],
    ['max-age=0', 'ttl', { cc: 'max-age=0', etag: 'z' }],
    ['no freshness in a class without ttl', 'origin', { etag: 'only-validator' }],
  ]) {
    it(`stores a response with ${what} and a validator, and revalidates it before each use`,
      async () => {
        const path = `/_test/cache/${cls}/always-revalidate-${what.replace(/\W+/g, '-')}`;
        const full = `${path}?${q(params)}`;
        const first = await expectMiss(full, 1);
        for (const count of [2, 3]) {
          const r = await expectOutcome('REVALIDATED', full, 1);
          assert.equal(r.text, first.text);
          assert.equal(await originCount(origin, path), count);
        }
      });
  }

  const neverStored = [
    ['no-store', 'ttl', { cc: 'no-store' }],
    ['private', 'ttl', { cc: 'private, max-age=60' }],
    ['Vary: *', 'ttl', { cc: 'max-age=60', vary: '*' }],
    ['Vary on a header outside the class vary list', 'ttl',
      { cc: 'max-age=60', vary: 'X-Custom' }],
    ['Vary: Accept-Encoding when the class vary list is empty', 'novary',
      { cc: 'max-age=60', vary: 'Accept-Encoding' }],
    ['no freshness and no validator in a class without ttl', 'origin', {}],
  ];
  neverStored.forEach(([what, cls, params], i) => {
    it(`does not store a response with ${what}`, async () => {
      const path = `/_test/cache/${cls}/never-${i}`;
      for (const n of [1, 2, 3]) {
        const r = await expectMiss(`${path}?${q(params)}`, n,
          { headers: { 'x-custom': 'a', 'accept-encoding': 'gzip' } });
        assert.equal(r.status, 200);
      }
      assert.equal(await originCount(origin, path), 3);
    });
  });

  it('keeps one variant per value of a Vary header in the class vary list', async () => {
    const path = `/_test/cache/ttl/vary?${q({ cc: 'max-age=60', vary: 'Accept-Language' })}`;
    const lang = (value) => ({ headers: { 'accept-language': value } });
    const de = await expectMiss(path, 1, lang('de'));
    assert.deepEqual(de.json.varied, { 'accept-language': 'de' });
    await expectHit(path, 1, lang('de'));
    const en = await expectMiss(path, 2, lang('en'));
    assert.deepEqual(en.json.varied, { 'accept-language': 'en' });
    const enHit = await expectHit(path, 2, lang('en'));
    assert.deepEqual(enHit.json.varied, { 'accept-language': 'en' });
    const deHit = await expectHit(path, 1, lang('de'));
    assert.deepEqual(deHit.json.varied, { 'accept-language': 'de' });
    const none = await expectMiss(path, 3);
    assert.deepEqual(none.json.varied, { 'accept-language': null });
    assert.equal(await originCount(origin, '/_test/cache/ttl/vary'), 3);
  });

  it('revalidates a fresh entry for a request with Cache-Control: no-cache', async () => {
    const path = `/_test/cache/ttl/req-no-cache?${q({ cc: 'max-age=60', etag: 'e1' })}`;
    const first = await expectMiss(path, 1);
    await expectHit(path, 1);
    const r = await expectOutcome('REVALIDATED', path, 1, withCc('no-cache'));
    assert.equal(r.text, first.text);
    assert.equal(await originCount(origin, '/_test/cache/ttl/req-no-cache'), 2);
    await expectHit(path, 1);
  });

  it('fetches anew for no-cache when the entry has no validator, and stores the answer',
    async () => {
      const path = `/_test/cache/ttl/req-no-cache-plain?${q({ cc: 'max-age=60' })}`;
      await expectMiss(path, 1);
      await expectMiss(path, 2, withCc('no-cache'));
      await expectHit(path, 2);
    });

  it('honours the request max-age: an entry older than it is not used', async () => {
    // The origin reports Age: 20, so the entry is 20 s old from the start.
    const path = `/_test/cache/origin/req-max-age?${q({ cc: 'max-age=600', age: '20' })}`;
    await expectMiss(path, 1);
    await expectHit(path, 1, withCc('max-age=60'));
    const tooOld = await get(path, withCc('max-age=10'));
    assert.equal(tooOld.json?.n, 2, `max-age=10 answered from a 20 s old entry: ${show(tooOld)}`);
    assert.notEqual(tooOld.xCache, 'HIT');
    assert.equal(await originCount(origin, '/_test/cache/origin/req-max-age'), 2);
  });

  it('honours the request min-fresh', async () => {
    const path = `/_test/cache/origin/min-fresh?${q({ cc: 'max-age=60' })}`;
    await expectMiss(path, 1);
    await expectHit(path, 1, withCc('min-fresh=30'));
    const r = await get(path, withCc('min-fresh=120'));
    assert.equal(r.json?.n, 2, `min-fresh=120 answered by an entry fresh for 60 s: ${show(r)}`);
    assert.notEqual(r.xCache, 'HIT');
  });

  it('honours the request max-stale, and only-if-cached on stale and cold keys', async () => {
    const base = '/_test/cache/origin/max-stale';
    const path = `${base}?${q({ cc: 'max-age=1', date: 'omit' })}`;  // fresh for all of 1 s
    const cold = await get(`${base}-cold?${q({ cc: 'max-age=60' })}`, withCc('only-if-cached'));
    assert.equal(cold.status, 504, `only-if-cached on a cold key: ${show(cold)}`);
    assert.ok(cold.body.length > 0, '504 without a body');
    assert.equal(await originCount(origin, `${base}-cold`), 0);

    const first = await expectMiss(path, 1);
    const cached = await get(path, withCc('only-if-cached'));
    assert.equal(cached.status, 200);
    assert.equal(cached.xCache, 'HIT', show(cached));
    const storedAt = Date.now();
    await waitUntil(storedAt, 2300);  // stale by more than a second

    const stale = await get(path, withCc('only-if-cached'));
    assert.equal(stale.status, 504, `only-if-cached answered with a stale entry: ${show(stale)}`);
    for (const cc of ['max-stale=60', 'max-stale', 'max-stale=60, only-if-cached']) {
      const r = await get(path, withCc(cc));
      assert.equal(r.status, 200);
      assert.ok(['STALE', 'HIT'].includes(r.xCache), `${cc}: ${show(r)}`);
      assert.equal(r.text, first.text, `${cc}: ${show(r)}`);
      assert.ok(r.age >= 2, `${cc}: Age ${r.headers.age}`);
    }
    assert.equal(await originCount(origin, base), 1);
    const tooStale = await get(path, withCc('max-stale=0'));
    assert.equal(tooStale.json?.n, 2, `max-stale=0 answered with a stale entry: ${show(tooStale)}`);
    assert.equal(await originCount(origin, base), 2);
  });

  it('labels the only-if-cached 504 with X-Cache and Cache-Status', async () => {
    const r = await get(`/_test/cache/origin/only-if-cached-label?${q({ cc: 'max-age=60' })}`,
      withCc('only-if-cached'));
    assert.equal(r.status, 504, show(r));
    assert.equal(r.xCache, 'MISS', show(r));
    assert.equal(r.cs?.cache, 'edge-proxy', show(r));
    assert.equal(r.cs.fwd, 'miss', show(r));
  });
});
