// What the cache must never share: answers for requests with Authorization or Cookie (unless
// the origin allows it or the class scopes the key per credential or per tenant), one tenant's
// or credential's entry with another, one Vary variant with a request for another; alone and
// under concurrent misses that coalesce.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { fetchCached, originCount, concurrently, cacheRoutes, describeResponse as show }
  from './lib/cache.mjs';

const CLASSES = {
  shared: { ttl: '60s' },
  percred: { ttl: '60s', key: { per_credential: true } },
  tenant: { ttl: '60s', key: { tenant_header: 'x-org-id' } },
  keyhdr: { ttl: '60s', key: { headers: ['x-variant'] } },
};

const AUTH_A = { authorization: 'Bearer token-a' };
const AUTH_B = { authorization: 'Bearer token-b' };
const q = (params) => new URLSearchParams(params).toString();

describe('cache safety', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address], workers: 3,
      routeClasses: CLASSES, routes: cacheRoutes(CLASSES) }) });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (path, headers = {}) => fetchCached(proxy.port, path, { headers });

  async function expect(path, headers, { xCache, n, ...body }) {
    const r = await get(path, headers);
    const what = `${path} ${JSON.stringify(headers)}: ${show(r)}`;
    assert.equal(r.status, 200, what);
    if (xCache) assert.equal(r.xCache, xCache, what);
    if (n !== undefined) assert.equal(r.json?.n, n, what);
    for (const [name, value] of Object.entries(body)) assert.equal(r.json?.[name], value, what);
    return r;
  }

  it('does not answer requests with Authorization or Cookie from a shared entry', async () => {
    const path = '/_test/cache/shared/anon-first';
    await expect(path, {}, { xCache: 'MISS', n: 1, auth: false });
    await expect(path, {}, { xCache: 'HIT', n: 1 });
    const withAuth = await expect(path, AUTH_A, { n: 2, auth: true });
    assert.notEqual(withAuth.xCache, 'HIT');
    const withCookie = await expect(path, { cookie: 'sid=1' }, { n: 3, cookie: true });
    assert.notEqual(withCookie.xCache, 'HIT');
    // And the shared entry is still the anonymous one.
    await expect(path, {}, { xCache: 'HIT', n: 1, auth: false, cookie: false });
  });

  it('does not hand the answer to a credentialed request to anyone else', async () => {
    const path = '/_test/cache/shared/auth-first';
    await expect(path, AUTH_A, { n: 1, auth: true });
    await expect(path, {}, { auth: false, n: 2 });
    const other = await expect(path, AUTH_B, { auth: true });
    assert.notEqual(other.json.n, 1, `credential B got credential A's answer: ${show(other)}`);
    const cookie = await expect(path, { cookie: 'sid=2' }, { cookie: true, auth: false });
    assert.notEqual(cookie.json.n, 1, `a cookie request got credential A's answer`);
  });

  for (const cc of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) {
    it(`answers credentialed requests from an entry with ${cc}`, async () => {
      const path = `/_test/cache/shared/allowed-${cc.replace(/\W+/g, '-')}?${q({ cc })}`;
      await expect(path, {}, { xCache: 'MISS', n: 1 });
      await expect(path, AUTH_A, { xCache: 'HIT', n: 1 });
      await expect(path, { cookie: 'sid=3' }, { xCache: 'HIT', n: 1 });
    });
  }

  it('keeps one entry per credential with key.per_credential', async () => {
    const path = '/_test/cache/percred/me';
    await expect(path, AUTH_A, { xCache: 'MISS', n: 1, auth: true });
    await expect(path, AUTH_A, { xCache: 'HIT', n: 1 });
    await expect(path, AUTH_B, { xCache: 'MISS', n: 2, auth: true });
    await expect(path, AUTH_B, { xCache: 'HIT', n: 2 });
    await expect(path, AUTH_A, { xCache: 'HIT', n: 1 });
    await expect(path, {}, { xCache: 'MISS', n: 3, auth: false });
    await expect(path, {}, { xCache: 'HIT', n: 3, auth: false });
    await expect(path, { cookie: 'sid=1' }, { xCache: 'MISS', n: 4, cookie: true });
    await expect(path, { cookie: 'sid=2' }, { xCache: 'MISS', n: 5, cookie: true });
    await expect(path, { cookie: 'sid=1' }, { xCache: 'HIT', n: 4 });
    assert.equal(await originCount(origin, path), 5);
  });

  it('never gives one credential another credential\'s private answer', async (t) => {
    const path = `/_test/cache/percred/private?${q({ cc: 'private, max-age=60' })}`;
    const a = await expect(path, AUTH_A, { auth: true });
    const b = await expect(path, AUTH_B, { auth: true });
    assert.notEqual(b.json.n, a.json.n, `credential B got A's private answer: ${show(b)}`);
    const anon = await expect(path, {}, { auth: false });
    assert.ok(![a.json.n, b.json.n].includes(anon.json.n), `anonymous got a private answer`);
    const again = await expect(path, AUTH_A, { auth: true });
    assert.ok([a.json.n, 4].includes(again.json.n), show(again));
    t.diagnostic(`private answer stored per credential: ${again.xCache === 'HIT'}`);
  });

  it('keeps one entry per tenant with key.tenant_header, credentials or not', async () => {
    const path = '/_test/cache/tenant/list';
    const org = (id, extra = {}) => ({ 'x-org-id': id, ...extra });
    await expect(path, org('1'), { xCache: 'MISS', n: 1, org: '1' });
    await expect(path, org('2'), { xCache: 'MISS', n: 2, org: '2' });
    await expect(path, org('1'), { xCache: 'HIT', n: 1, org: '1' });
    await expect(path, org('2'), { xCache: 'HIT', n: 2, org: '2' });
    await expect(path, {}, { xCache: 'MISS', n: 3, org: null });
    // Credentialed requests share entries within their tenant only.
    await expect(path, org('1', AUTH_A), { xCache: 'HIT', n: 1, org: '1' });
    await expect(path, org('2', AUTH_B), { xCache: 'HIT', n: 2, org: '2' });
    const noTenant = await expect(path, AUTH_A, { auth: true, org: null });
    assert.notEqual(noTenant.json.n, 3, `a credentialed request without a tenant got the ` +
      `anonymous entry: ${show(noTenant)}`);
  });

  it('keys entries by the request headers named in key.headers', async () => {
    const path = '/_test/cache/keyhdr/item';
    await expect(path, { 'x-variant': 'a' }, { xCache: 'MISS', n: 1 });
    await expect(path, { 'x-variant': 'b' }, { xCache: 'MISS', n: 2 });
    await expect(path, { 'x-variant': 'a' }, { xCache: 'HIT', n: 1 });
    await expect(path, {}, { xCache: 'MISS', n: 3 });
    await expect(path, { 'x-variant': 'b' }, { xCache: 'HIT', n: 2 });
  });

  it('never answers with a variant selected by another Vary value', async () => {
    const path = `/_test/cache/shared/variants?${q({ cc: 'max-age=60', vary: 'Accept-Language' })}`;
    const sequence = ['de', null, 'en', 'de', null, 'en', 'fr', null];
    for (const lang of sequence) {
      const r = await get(path, lang ? { 'accept-language': lang } : {});
      assert.deepEqual(r.json?.varied, { 'accept-language': lang },
        `Accept-Language ${lang}: ${show(r)}`);
    }
  });

  it('coalesces concurrent misses per tenant, never across tenants', async () => {
    const path = '/_test/cache/tenant/herd';
    const orgOf = (i) => String(1 + (i % 2));
    const { responses } = await concurrently(proxy.port, 40, `${path}?delay=300`,
      (i) => ({ headers: { 'x-org-id': orgOf(i), ...(i % 4 < 2 ? AUTH_A : {}) } }));
    const nByOrg = new Map();
    responses.forEach((r, i) => {
      assert.equal(r.status, 200, show(r));
      assert.equal(r.json?.org, orgOf(i), `tenant ${orgOf(i)} got: ${show(r)}`);
      nByOrg.set(orgOf(i), new Set([...(nByOrg.get(orgOf(i)) ?? []), r.json.n]));
    });
    assert.equal(await originCount(origin, path), 2);
    assert.deepEqual([...nByOrg.values()].map((s) => s.size), [1, 1]);
  });

  it('coalesces concurrent misses per credential, never across credentials', async () => {
    const path = '/_test/cache/percred/herd';
    const creds = [AUTH_A, AUTH_B, {}, { cookie: 'sid=9' }];
    const { responses } = await concurrently(proxy.port, 40, `${path}?delay=300`,
      (i) => ({ headers: creds[i % 4] }));
    const nByCred = new Map();
    responses.forEach((r, i) => {
      const cred = i % 4;
      assert.equal(r.status, 200, show(r));
      assert.equal(r.json?.auth, cred < 2, `credential ${cred}: ${show(r)}`);
      assert.equal(r.json?.cookie, cred === 3, `credential ${cred}: ${show(r)}`);
      nByCred.set(cred, new Set([...(nByCred.get(cred) ?? []), r.json.n]));
    });
    assert.deepEqual([...nByCred.values()].map((s) => s.size), [1, 1, 1, 1],
      'one credential got answers of two fetches');
    const ns = [...nByCred.values()].map((s) => [...s][0]);
    assert.equal(new Set(ns).size, 4, `credentials shared an answer: ${ns}`);
    assert.equal(await originCount(origin, path), 4);
  });

  it('does not let anonymous and credentialed requests share a concurrent fetch', async () => {
    const path = '/_test/cache/shared/mixed-herd';
    const { responses } = await concurrently(proxy.port, 30, `${path}?delay=300`,
      (i) => ({ headers: [{}, AUTH_A, { cookie: 'sid=5' }][i % 3] }));
    const anonymousNs = new Set();
    const credentialedNs = new Set();
    responses.forEach((r, i) => {
      assert.equal(r.status, 200, show(r));
      assert.equal(r.json?.auth, i % 3 === 1, `request ${i}: ${show(r)}`);
      assert.equal(r.json?.cookie, i % 3 === 2, `request ${i}: ${show(r)}`);
      (i % 3 === 0 ? anonymousNs : credentialedNs).add(r.json.n);
    });
    const shared = [...credentialedNs].filter((n) => anonymousNs.has(n));
    assert.deepEqual(shared, [], 'an origin answer went to anonymous and credentialed clients');
  });

  it('does not let concurrent requests with different Vary values share a fetch', async () => {
    const path = `/_test/cache/shared/vary-herd?${q({ cc: 'max-age=60',
      vary: 'Accept-Language', delay: 300 })}`;
    const langs = ['de', 'en', null];
    const { responses } = await concurrently(proxy.port, 30, path,
      (i) => ({ headers: langs[i % 3] ? { 'accept-language': langs[i % 3] } : {} }));
    responses.forEach((r, i) => {
      assert.equal(r.status, 200, show(r));
      assert.deepEqual(r.json?.varied, { 'accept-language': langs[i % 3] },
        `Accept-Language ${langs[i % 3]}: ${show(r)}`);
    });
  });
});
