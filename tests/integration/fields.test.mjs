// Sparse fieldsets (?fields=...) cut from the cache: projections of the envelope's resources
// with the envelope's siblings kept, one cached copy for every selection, a strong ETag per
// projection (and per encoding of it) with 304s, compression after projection, 400s that say
// where a selection is malformed, and non-JSON or invalid JSON passed on unchanged.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig, toYaml } from './lib/config.mjs';
import { adminOf } from './lib/redis.mjs';
import { request } from './lib/http.mjs';
import { patternBytes } from './lib/pattern.mjs';
import { fetchCached, originCount, describeResponse as show } from './lib/cache.mjs';

const LIST = '/api/v1/work-orders';
const q = (params) => new URLSearchParams(params).toString();

// The projection the proxy must produce, computed here from the origin's own body.
function pick(resource, paths) {
  const out = {};
  for (const key of Object.keys(resource)) {
    const wanted = paths.filter((p) => p[0] === key);
    if (wanted.length === 0) continue;
    const value = resource[key];
    if (wanted.some((p) => p.length === 1) || value === null || typeof value !== 'object') {
      out[key] = value;
    } else if (Array.isArray(value)) {
      out[key] = value.map((v) => pick(v, wanted.map((p) => p.slice(1))));
    } else {
      out[key] = pick(value, wanted.map((p) => p.slice(1)));
    }
  }
  return out;
}

function project(document, fields) {
  const paths = fields.split(',').map((f) => f.split('.'));
  return { ...document, data: document.data.map((r) => pick(r, paths)) };
}

describe('sparse fieldsets', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  let full;  // the origin's list of 10 work orders, parsed
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address],
      routeClasses: {
        api: { ttl: '60s' },
        flat: { ttl: '60s', fields: { envelope: null } },
        pass: { cache: false },
        off: { ttl: '60s', fields: false },
        unmemoized: { ttl: '60s', fields: { memoize: false } },
      },
      routes: [
        { match: { path: '/api/v1/sites' }, upstream: 'app', class: 'pass' },
        { match: { path: '/api/v1/filter-options' }, upstream: 'app', class: 'off' },
        { match: { path_prefix: '/_test/cache/unmemo/' }, upstream: 'app', class: 'unmemoized' },
        { match: { path_prefix: '/_test/cache/' }, upstream: 'app', class: 'flat' },
        { match: { path_prefix: '/' }, upstream: 'app', class: 'api' },
      ] }) });
    full = JSON.parse((await request(origin.port, { path: `${LIST}?per_page=10` })).body);
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (path, headers = {}) => fetchCached(proxy.port, path, { headers });

  it('keeps only the selected fields of each resource, nested ones included, and the meta',
    async () => {
      const fields = 'id,number,title,status,site.name';
      const r = await get(`${LIST}?per_page=10&fields=${fields}`);
      assert.equal(r.status, 200, show(r));
      assert.deepEqual(r.json, project(full, fields));
      assert.deepEqual(Object.keys(r.json.data[0]), ['id', 'number', 'title', 'status', 'site']);
      assert.deepEqual(Object.keys(r.json.data[0].site), ['name']);
      assert.deepEqual(r.json.meta, full.meta);
      assert.equal(Number(r.headers['content-length']), r.body.length);
    });

  it('caches the whole response once and cuts every selection from it', async () => {
    const path = `${LIST}?per_page=7`;
    await origin.reset();
    const a = await get(`${path}&fields=id`);
    const b = await get(`${path}&fields=title,assignee.name`);
    const whole = await get(path);
    assert.equal(a.xCache, 'MISS', show(a));
    assert.equal(b.xCache, 'HIT', show(b));
    assert.equal(whole.xCache, 'HIT', show(whole));
    assert.equal((await origin.stats()).byPath[LIST], 1, 'one origin request for all three');
    assert.deepEqual(a.json.data.map((r) => Object.keys(r)), whole.json.data.map(() => ['id']));
    assert.deepEqual(b.json, project(whole.json, 'title,assignee.name'));
  });

  it('never sends the fields parameters to the origin', async () => {
    const r = await get(`/_test/cache/fields/upstream?a=1&fields=query,path&b=2`);
    assert.deepEqual(Object.keys(r.json), ['path', 'query']);
    assert.equal(r.json.query, '?a=1&b=2');
  });

  it('gives each projection its own strong ETag, equal for equal selections, with 304s',
    async () => {
      const path = `${LIST}?per_page=5`;
      const whole = await get(path);
      const a = await get(`${path}&fields=id,title`);
      const same = await get(`${path}&fields=title,id,id`);
      const other = await get(`${path}&fields=id,status`);
      assert.match(a.headers.etag, /^"[^"]+-f[A-Za-z0-9_-]{12}"$/, a.headers.etag);
      assert.equal(same.headers.etag, a.headers.etag);
      assert.notEqual(other.headers.etag, a.headers.etag);
      assert.notEqual(whole.headers.etag, a.headers.etag);
      const nm = await get(`${path}&fields=id,title`, { 'if-none-match': a.headers.etag });
      assert.equal(nm.status, 304, show(nm));
      assert.equal(nm.headers.etag, a.headers.etag);
      const wrong = await get(`${path}&fields=id,title`, { 'if-none-match': whole.headers.etag });
      assert.equal(wrong.status, 200, 'the full representation\'s tag names other bytes');
      const parenthesised = await get(`${path}&fields=${encodeURIComponent('site(name),id')}`);
      const dotted = await get(`${path}&fields=id,site.name`);
      assert.equal(parenthesised.headers.etag, dotted.headers.etag);
      assert.deepEqual(parenthesised.json, dotted.json);
    });

  it('compresses after projecting, with a per-encoding tag and 304', async () => {
    const path = `${LIST}?per_page=50&fields=id,title,site.name`;
    const identity = await get(path);
    const gz = await get(path, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip', show(gz));
    assert.ok(gunzipSync(gz.body).equals(identity.body), 'gzip of the projection differs');
    assert.equal(gz.headers.etag, identity.headers.etag.replace(/"$/, '-ep-gz"'));
    const nm = await get(path, { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag });
    assert.equal(nm.status, 304, show(nm));
  });

  it('answers a malformed selection with 400 and a JSON body saying where', async () => {
    const r = await get(`${LIST}?fields=id,,title`);
    assert.equal(r.status, 400, show(r));
    assert.match(r.headers['content-type'], /application\/json/);
    assert.equal(r.json.parameter, 'fields');
    assert.equal(r.json.position, 3);
    assert.match(r.json.error, /position 3/);
    for (const bad of ['id,(', 'a.', 'site(name']) {
      const b = await get(`${LIST}?fields=${encodeURIComponent(bad)}`);
      assert.equal(b.status, 400, `${bad}: ${show(b)}`);
      assert.equal(typeof b.json.position, 'number');
    }
  });

  it('leaves out fields that do not exist', async () => {
    const r = await get(`${LIST}?per_page=3&fields=id,no_such_field,site.nope`);
    assert.deepEqual(r.json.data.map((d) => d), full.data.slice(0, 3).map((d) => ({
      id: d.id, site: {} })));
  });

  it('passes non-JSON and invalid JSON on unchanged', async () => {
    const binary = await get('/_test/bytes/3000?fields=id');
    assert.ok(binary.body.equals(patternBytes(3000)));
    const invalid = await get('/_test/bytes/3000?type=json&fields=id');
    assert.equal(invalid.status, 200);
    assert.ok(invalid.body.equals(patternBytes(3000)), 'invalid JSON must pass unchanged');
  });

  it('leaves a no-transform response whole, and answers HEAD with the projection\'s length',
    async () => {
      const whole = await get(`/_test/cache/fields/nt?${q({ cc: 'max-age=60, no-transform',
        fields: 'path' })}`);
      assert.ok('n' in whole.json && 'pad' in whole.json, `no-transform was projected: ${whole.text}`);
      const path = `${LIST}?per_page=5&fields=id`;
      const body = await get(path);
      const head = await fetchCached(proxy.port, path, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(body.body.length));
      assert.equal(head.headers.etag, body.headers.etag);
    });

  it('projects uncached responses (pass-through) held back in full, with 304s', async () => {
    const r = await get('/api/v1/sites?fields=id,name');
    assert.equal(r.xCache, 'BYPASS', show(r));
    const expected = JSON.parse((await request(origin.port, { path: '/api/v1/sites' })).body);
    assert.deepEqual(r.json, { ...expected,
      data: expected.data.map((s) => ({ id: s.id, name: s.name })) });
    assert.ok(r.headers.etag, 'a projection has a tag');
    const nm = await get('/api/v1/sites?fields=id,name', { 'if-none-match': r.headers.etag });
    assert.equal(nm.status, 304, show(nm));
  });

  it('projects for coalesced requests with different selections from one origin request',
    async () => {
      const path = `/_test/cache/fields/slow?${q({ delay: 400, size: 2000 })}`;
      await origin.reset();
      const [a, b] = await Promise.all([get(`${path}&fields=path`), get(`${path}&fields=n,status`)]);
      assert.deepEqual(a.json, { path: '/_test/cache/fields/slow' }, show(a));
      assert.deepEqual(b.json, { n: 1, status: 200 }, show(b));
      assert.equal(await originCount(origin, '/_test/cache/fields/slow'), 1);
    });

  it('sends the parameter to the origin when the class turns fields off', async () => {
    const r = await get('/api/v1/filter-options?fields=id');
    const direct = await request(origin.port, { path: '/api/v1/filter-options?fields=id' });
    assert.ok(r.body.equals(direct.body), 'the origin\'s answer must pass as it is');
  });

  it('projects without memoising when the class says so', async () => {
    const path = `/_test/cache/unmemo/x?${q({ size: 3000, fields: 'path,pad' })}`;
    const r1 = await get(path);
    const r2 = await get(path, { 'accept-encoding': 'gzip' });
    assert.equal(r1.status, 200, show(r1));
    assert.deepEqual(Object.keys(r1.json), ['path', 'pad']);
    assert.equal(r2.xCache, 'HIT', show(r2));
    assert.equal(r2.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(r2.body).equals(r1.body));
    assert.ok(r1.headers.etag);
    assert.equal(r2.headers.etag, r1.headers.etag.replace(/"$/, '-ep-gz"'));
  });

  it('projects batch items like single requests, from the same cache entry', async () => {
    const path = `${LIST}?per_page=4`;
    const single = await get(`${path}&fields=id,status`);
    const batch = await request(proxy.port, { method: 'POST', path: '/api/v1/batch',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [
        { id: 'a', path: `${path}&fields=id,status` },
        { id: 'b', path: `${path}&fields=id,,status` },
      ] }) });
    assert.equal(batch.status, 200);
    const [a, b] = JSON.parse(batch.body).responses;
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, single.json);
    assert.equal(a.headers.etag, single.headers.etag);
    assert.equal(a.headers['x-cache'], 'HIT');
    assert.equal(b.status, 400, 'a malformed selection in one item');
    assert.equal(b.body.position, 3);
  });

  it('counts the invalid JSON it passed on unprojected, in the admin statistics', async (t) => {
    const counted = await startProxy({ yaml: toYaml({ listen: ['127.0.0.1:0'], workers: 1,
      upstreams: { app: { servers: [origin.address] } },
      route_classes: { api: { ttl: '60s' } },
      routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'api' }],
      admin: { listen: '127.0.0.1:0' } }) });
    t.after(() => counted.stop());
    const admin = await adminOf(counted);
    const before = (await admin.stats()).fields.invalid_json;
    for (let i = 0; i < 2; i++) {
      const r = await request(counted.port, { path: '/_test/bytes/2000?type=json&fields=id' });
      assert.ok(r.body.equals(patternBytes(2000)));
    }
    await request(counted.port, { path: `${LIST}?fields=id` });  // valid: not counted
    assert.equal((await admin.stats()).fields.invalid_json - before, 2);
  });
});
