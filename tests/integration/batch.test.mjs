// Batch fan-out: POST /api/v1/batch runs each item as a request of its own through the same
// pipeline (routing, cache, coalescing, conditional requests), concurrently under a cap and
// after the items it depends on, and answers every item in request order. Also every way a
// batch or an item is refused, and limits on sizes and time.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { request } from './lib/http.mjs';
import { RawClient, requestHead, chunked } from './lib/raw.mjs';
import { fetchCached, originCount, concurrently, describeResponse as show }
  from './lib/cache.mjs';
import { patternBytes } from './lib/pattern.mjs';
import { delay, waitFor } from './lib/wait.mjs';

const BATCH = '/api/v1/batch';
const ITEM_TIMEOUT_MS = 2000;
const MAX_REQUEST = 4096;
const MAX_RESPONSE = 64 * 1024;

function batchConfig(origin, batch) {
  return proxyConfig({
    servers: [origin.address],
    batch,
    routeClasses: {
      api: { ttl: '60s' },
      co: { ttl: '60s' },
      tenant: { ttl: '60s', key: { tenant_header: 'x-org-id' } },
      no_cache: { cache: false },
    },
    // No catch-all: a path outside these has no route.
    routes: [
      { match: { path_prefix: '/api/v1/' }, upstream: 'app', class: 'api' },
      { match: { path_prefix: '/_test/cache/tenant/' }, upstream: 'app', class: 'tenant' },
      { match: { path_prefix: '/_test/cache/' }, upstream: 'app', class: 'co' },
      { match: { path_prefix: '/_test/' }, upstream: 'app', class: 'no_cache' },
    ],
  });
}

// POSTs a batch: {status, headers, body, text, json, elapsedMs}. `requests` is sent as
// {"requests": requests} unless `raw` gives the body text.
async function postBatch(port, requests, { headers = {}, raw, method = 'POST' } = {}) {
  const body = raw ?? JSON.stringify({ requests });
  const started = Date.now();
  const res = await request(port, { method, path: BATCH, body,
    headers: { 'Content-Type': 'application/json', ...headers } });
  const text = res.body.toString('utf8');
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { ...res, text, json, elapsedMs: Date.now() - started };
}

// The batch's responses by id, after checking the batch answered 200 with one response per
// item, in request order.
function responsesOf(res, requests) {
  assert.equal(res.status, 200, `batch: ${res.status} ${res.text.slice(0, 300)}`);
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.ok(Array.isArray(res.json?.responses), res.text.slice(0, 300));
  assert.deepEqual(res.json.responses.map((r) => r.id), requests.map((r) => r.id),
    'one response per item, in request order');
  return Object.fromEntries(res.json.responses.map((r) => [r.id, r]));
}

// Checks the batch as a whole was refused with `status` and an error naming `pattern`.
function assertRefused(res, status, pattern) {
  assert.equal(res.status, status, res.text.slice(0, 300));
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(typeof res.json?.error, 'string', res.text.slice(0, 300));
  assert.match(res.json.error, pattern);
}

const itemError = (item) => `${item.status} ${JSON.stringify(item.body)}`;

describe('batch', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: batchConfig(origin, {
      max_items: 8, concurrency: 2, item_timeout: `${ITEM_TIMEOUT_MS}ms`,
      max_request_size: MAX_REQUEST, max_response_size: MAX_RESPONSE }) });
  });
  after(async () => {
    const exit = await proxy?.stop();
    await origin?.stop();
    // Under the sanitizers a report ends the process with an error; leaks show at exit.
    assert.deepEqual([exit?.code, exit?.forced], [0, undefined], JSON.stringify(exit));
    assert.doesNotMatch(proxy?.stderr ?? '', /Sanitizer|runtime error/);
  });

  describe('answers', () => {
    it('answers the example batch in request order with JSON embedded as JSON', async () => {
      const requests = [
        { id: 'site', method: 'GET', path: '/api/v1/sites/1' },
        { id: 'orders', path: '/api/v1/work-orders?per_page=2&status=open' },
        { id: 'new', method: 'POST', path: '/api/v1/work-orders',
          body: { title: 'Replace filter', priority: 'high' } },
        { id: 'missing', path: '/api/v1/sites/999999' },
      ];
      const res = await postBatch(proxy.port, requests);
      const by = responsesOf(res, requests);
      assert.equal(res.headers['cache-control'], 'no-store');

      assert.equal(by.site.status, 200, itemError(by.site));
      assert.equal(by.site.body.data.id, 1, 'the body is embedded as a JSON object');
      assert.match(by.site.headers['content-type'], /^application\/json/);
      assert.ok(by.site.headers.etag, 'origin headers are kept');
      assert.equal(by.site.headers['content-length'], undefined, 'framing headers are dropped');
      assert.equal(by.site.bodyEncoding, undefined);

      assert.equal(by.orders.status, 200, itemError(by.orders));
      assert.equal(by.orders.body.data.length, 2);
      assert.ok(by.orders.body.data.every((o) => o.status === 'open'), 'the query reached it');

      assert.equal(by.new.status, 201, itemError(by.new));
      assert.equal(by.new.body.data.title, 'Replace filter', 'the JSON body reached the origin');
      assert.equal(by.new.body.data.priority, 'high');

      assert.equal(by.missing.status, 404);
      assert.equal(by.missing.body.error.code, 'not_found', 'origin errors are answers too');
    });

    it('embeds JSON bodies byte for byte as the origin sent them', async () => {
      const requests = [{ id: 'a', path: '/api/v1/sites/2' }];
      const direct = await request(proxy.port, { path: '/api/v1/sites/2' });
      const res = await postBatch(proxy.port, requests);
      responsesOf(res, requests);
      assert.ok(res.text.includes(`"body":${direct.body.toString('utf8')}`), res.text);
    });

    it('embeds text as a string and binary as base64 with a marker', async () => {
      const requests = [
        { id: 'text', path: '/_test/status/200' },
        { id: 'teapot', path: '/_test/status/418' },
        { id: 'bin', path: '/_test/bytes/1000' },
        { id: 'empty', path: '/_test/status/204' },
      ];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      assert.equal(by.text.status, 200);
      assert.equal(by.text.body, '200 OK\n');
      assert.equal(by.text.bodyEncoding, undefined);
      assert.equal(by.teapot.status, 418);
      assert.match(by.teapot.body, /^418 /);
      assert.equal(by.bin.status, 200);
      assert.equal(by.bin.bodyEncoding, 'base64');
      assert.deepEqual(Buffer.from(by.bin.body, 'base64'), patternBytes(1000));
      assert.equal(by.empty.status, 204);
      assert.equal('body' in by.empty, false, 'an empty body is left out');
    });

    it('sends JSON item bodies minified as application/json and string bodies as they are',
      async () => {
        const json = { a: [1, 2, { b: 'c d' }], e: null };
        const requests = [
          { id: 'json', method: 'POST', path: '/_test/echo', body: json },
          { id: 'form', method: 'PUT', path: '/_test/echo', body: 'a=1&b=2',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
          { id: 'typed', method: 'PATCH', path: '/_test/echo', body: { x: 1 },
            headers: { 'content-type': 'application/merge-patch+json' } },
        ];
        const by = responsesOf(await postBatch(proxy.port, requests), requests);
        const header = (item, name) => item.body.headers
          .filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
        const sha = (text) => createHash('sha256').update(text).digest('hex');

        assert.equal(by.json.status, 200, itemError(by.json));
        assert.equal(by.json.body.method, 'POST');
        assert.deepEqual(header(by.json, 'content-type'), ['application/json']);
        assert.equal(by.json.body.bodySha256, sha(JSON.stringify(json)));
        assert.deepEqual(header(by.json, 'content-length'), [String(JSON.stringify(json).length)]);

        assert.equal(by.form.body.method, 'PUT');
        assert.deepEqual(header(by.form, 'content-type'), ['application/x-www-form-urlencoded']);
        assert.equal(by.form.body.bodySha256, sha('a=1&b=2'));

        assert.equal(by.typed.body.method, 'PATCH');
        assert.deepEqual(header(by.typed, 'content-type'), ['application/merge-patch+json'],
          'the item\'s own Content-Type wins');
        assert.equal(by.typed.body.bodySha256, sha('{"x":1}'));
      });

    it('answers HEAD items without a body', async () => {
      const requests = [{ id: 'h', method: 'HEAD', path: '/api/v1/sites/3' }];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      assert.equal(by.h.status, 200);
      assert.equal('body' in by.h, false);
      assert.match(by.h.headers['content-type'], /^application\/json/);
    });

    it('compresses the batch response for a client that accepts gzip', async () => {
      const requests = [{ id: 'big', path: '/_test/cache/gz/big?size=4000' }];
      const res = await request(proxy.port, { method: 'POST', path: BATCH,
        body: JSON.stringify({ requests }),
        headers: { 'Content-Type': 'application/json', 'Accept-Encoding': 'gzip' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], 'gzip');
      const json = JSON.parse(gunzipSync(res.body).toString('utf8'));
      assert.equal(json.responses[0].status, 200);
      assert.equal(json.responses[0].body.path, '/_test/cache/gz/big');
      assert.ok(res.body.length < 4000, `compressed to ${res.body.length} bytes`);
    });
  });

  describe('cache and coalescing', () => {
    it('serves fresh GET items from the cache', async () => {
      const path = '/_test/cache/co/warm';
      const first = await fetchCached(proxy.port, path);
      assert.equal(first.xCache, 'MISS', show(first));
      const requests = [{ id: 'a', path }, { id: 'b', path: '/api/v1/sites/4' },
        { id: 'null-body', path, body: null }];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      assert.equal(by.a.status, 200);
      assert.equal(by.a.headers['x-cache'], 'HIT');
      assert.equal(by.a.body.n, 1, 'the body the origin made for the first request');
      assert.equal(by['null-body'].headers['x-cache'], 'HIT', 'a null body is no body');
      assert.equal(await originCount(origin, path), 1);
    });

    it('fills the cache for ordinary requests', async () => {
      const path = '/_test/cache/co/filled-by-batch';
      const requests = [{ id: 'a', path }];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      assert.equal(by.a.headers['x-cache'], 'MISS');
      const after = await fetchCached(proxy.port, path);
      assert.equal(after.xCache, 'HIT', show(after));
      assert.equal(after.json.n, 1);
      assert.equal(await originCount(origin, path), 1);
    });

    it('coalesces items with concurrent ordinary requests into one origin request',
      async () => {
        const path = '/_test/cache/co/herd';
        const target = `${path}?delay=500`;
        const requests = [{ id: 'a', path: target }, { id: 'b', path: target }];
        const [plain, batch] = await Promise.all([
          concurrently(proxy.port, 6, target),
          postBatch(proxy.port, requests),
        ]);
        const by = responsesOf(batch, requests);
        for (const r of plain.responses) assert.equal(r.json?.n, 1, show(r));
        assert.equal(by.a.body.n, 1, JSON.stringify(by.a));
        assert.equal(by.b.body.n, 1, JSON.stringify(by.b));
        assert.equal(await originCount(origin, path), 1);
      });

    it('leaves waiting clients their answer when an item leading the fetch times out',
      async () => {
        const path = '/_test/cache/co/lead';
        // The origin holds the fetch until the item has timed out: no late timer can see the
        // answer arrive first.
        const target = `${path}?hold=co-lead`;
        const requests = [{ id: 'leader', path: target }];
        const batch = postBatch(proxy.port, requests);
        await waitFor(async () => (await originCount(origin, path)) === 1,
          { what: 'the item reaching the origin' });
        const plain = concurrently(proxy.port, 3, target);
        let by;
        try {
          by = responsesOf(await batch, requests);
        } finally {
          await origin.openGate('co-lead');
        }
        assert.equal(by.leader.status, 504, itemError(by.leader));
        for (const r of (await plain).responses) {
          assert.equal(r.status, 200, show(r));
          assert.equal(r.json?.path, path, show(r));
        }
      });

    it('answers an item with If-None-Match matching the cached entry with 304', async () => {
      const path = '/_test/cache/co/cond?etag=v1';
      const first = await fetchCached(proxy.port, path);
      assert.equal(first.status, 200);
      const etag = first.headers.etag;
      assert.ok(etag, 'the response has an ETag');
      const requests = [
        { id: 'same', path, headers: { 'If-None-Match': etag } },
        { id: 'other', path, headers: { 'If-None-Match': '"nope"' } },
      ];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      assert.equal(by.same.status, 304, JSON.stringify(by.same));
      assert.equal(by.same.headers.etag, etag);
      assert.equal('body' in by.same, false);
      assert.equal(by.other.status, 200);
      assert.equal(by.other.body.n, 1);
      assert.equal(await originCount(origin, '/_test/cache/co/cond'), 1);
    });
  });

  describe('dependsOn', () => {
    it('starts an item only after the items it depends on have finished', async () => {
      // chunks=1: each body is one JSON line stamped with the origin's clock when written;
      // "first" writes its line after its delay, at its very end.
      const requests = [
        { id: 'then', path: '/_test/cache/dep/then?chunks=1', dependsOn: ['first'] },
        { id: 'first', path: '/_test/cache/dep/first?chunks=1&delay=400' },
      ];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      const line = (item) => JSON.parse(Buffer.from(item.body, item.bodyEncoding === 'base64'
        ? 'base64' : 'utf8').toString('utf8'));
      assert.equal(by.first.status, 200);
      assert.equal(by.then.status, 200);
      const firstAt = line(by.first).at;
      const thenAt = line(by.then).at;
      assert.ok(thenAt >= firstAt, `"then" ran at ${thenAt}, before "first" ended at ${firstAt}`);
    });

    it('fails items whose dependency failed with 424, transitively, and runs the rest',
      async () => {
        const requests = [
          { id: 'bad', path: '/_test/status/500' },
          { id: 'child', path: '/_test/cache/dep/child', dependsOn: ['bad'] },
          { id: 'grandchild', path: '/_test/cache/dep/grandchild', dependsOn: ['child'] },
          { id: 'unrouted', path: '/nowhere' },
          { id: 'orphan', path: '/_test/cache/dep/orphan', dependsOn: ['unrouted'] },
          { id: 'fine', path: '/_test/cache/dep/fine' },
          { id: 'after-fine', path: '/_test/cache/dep/after-fine', dependsOn: ['fine'] },
        ];
        const by = responsesOf(await postBatch(proxy.port, requests), requests);
        assert.equal(by.bad.status, 500);
        assert.equal(by.unrouted.status, 404);
        for (const id of ['child', 'grandchild', 'orphan']) {
          assert.equal(by[id].status, 424, `${id}: ${itemError(by[id])}`);
          assert.match(by[id].body.error, /depends on failed/);
        }
        assert.equal(by.fine.status, 200);
        assert.equal(by['after-fine'].status, 200);
        for (const name of ['child', 'grandchild', 'orphan']) {
          assert.equal(await originCount(origin, `/_test/cache/dep/${name}`), 0,
            `${name} must not reach the origin`);
        }
      });
  });

  describe('inherited headers', () => {
    it('gives every item the batch request\'s credentials and tenant', async () => {
      const requests = [
        { id: 'echo', path: '/_test/echo' },
        { id: 'post', method: 'POST', path: '/_test/echo', body: { a: 1 } },
        { id: 'cached', path: '/_test/cache/co/inherit' },
      ];
      const res = await postBatch(proxy.port, requests, { headers: {
        Authorization: 'Bearer secret-token', Cookie: 'sid=abc', 'X-Org-Id': '42',
        'Accept-Language': 'de', 'X-Not-Inherited': 'no' } });
      const by = responsesOf(res, requests);
      for (const id of ['echo', 'post']) {
        const headers = Object.fromEntries(by[id].body.headers
          .map(([n, v]) => [n.toLowerCase(), v]));
        assert.equal(headers.authorization, 'Bearer secret-token', id);
        assert.equal(headers.cookie, 'sid=abc', id);
        assert.equal(headers['x-org-id'], '42', id);
        assert.equal(headers['accept-language'], 'de', id);
        assert.equal(headers['x-not-inherited'], undefined, `${id}: only the configured headers`);
      }
      assert.equal(by.cached.body.org, '42');
      assert.equal(by.cached.body.auth, true);
      assert.equal(by.cached.body.cookie, true);
    });

    it('refuses an item that sets an inherited or framing header, and runs the others',
      async () => {
        const requests = [
          { id: 'auth', path: '/_test/echo', headers: { Authorization: 'Bearer other' } },
          { id: 'org', path: '/_test/echo', headers: { 'x-org-id': '7' } },
          { id: 'host', path: '/_test/echo', headers: { Host: 'evil.example' } },
          { id: 'length', path: '/_test/echo', headers: { 'Content-Length': '5' } },
          { id: 'ok', path: '/_test/echo', headers: { 'X-Trace': 't1' } },
        ];
        const before = await originCount(origin, '/_test/echo');
        const by = responsesOf(await postBatch(proxy.port, requests,
          { headers: { 'X-Org-Id': '1' } }), requests);
        for (const id of ['auth', 'org', 'host', 'length']) {
          assert.equal(by[id].status, 400, `${id}: ${itemError(by[id])}`);
          assert.match(by[id].body.error, /header/);
        }
        assert.match(by.org.body.error, /x-org-id/);
        assert.equal(by.ok.status, 200);
        assert.ok(by.ok.body.headers.some(([n, v]) => n.toLowerCase() === 'x-trace' && v === 't1'));
        assert.equal(await originCount(origin, '/_test/echo'), before + 1,
          'only the accepted item reached the origin');
      });

    it('keeps a cache entry per tenant for items of batches from different tenants',
      async () => {
        const path = '/_test/cache/tenant/list';
        const requests = [{ id: 't', path }];
        const forOrg = async (org) => responsesOf(await postBatch(proxy.port, requests,
          { headers: { 'X-Org-Id': org } }), requests).t;
        const one = await forOrg('1');
        assert.deepEqual([one.headers['x-cache'], one.body.org, one.body.n], ['MISS', '1', 1]);
        const two = await forOrg('2');
        assert.deepEqual([two.headers['x-cache'], two.body.org, two.body.n], ['MISS', '2', 2]);
        const again = await forOrg('1');
        assert.deepEqual([again.headers['x-cache'], again.body.org, again.body.n],
          ['HIT', '1', 1]);
        const plain = await fetchCached(proxy.port, path, { headers: { 'x-org-id': '2' } });
        assert.deepEqual([plain.xCache, plain.json.org, plain.json.n], ['HIT', '2', 2]);
      });
  });

  describe('refused batches', () => {
    it('answers invalid JSON with 400 and the byte of the error', async () => {
      const raw = '{"requests":[{"id":"a","path":"/x",}]}';
      const res = await postBatch(proxy.port, null, { raw });
      assertRefused(res, 400, /^invalid JSON at byte 35\b/);
    });

    it('refuses batches of the wrong shape', async () => {
      const cases = [
        ['[]', /expected an object with a "requests" array/],
        ['{}', /expected an object with a "requests" array/],
        ['{"requests":{"id":"a"}}', /expected an object with a "requests" array/],
        ['{"requests":[]}', /no items/],
        ['{"requests":[{"path":"/x"}]}', /requests\[0\]\.id: missing/],
        ['{"requests":[{"id":"a","path":"/x","method":"TRACE"}]}', /unsupported method/],
        ['{"requests":[{"id":"a","path":"/x"}],"more":1}', /unknown member "more"/],
      ];
      for (const [raw, pattern] of cases) {
        assertRefused(await postBatch(proxy.port, null, { raw }), 400, pattern);
      }
    });

    it('answers a POST without a body with 400', async () => {
      assertRefused(await postBatch(proxy.port, null, { raw: '' }), 400, /JSON/);
    });

    it('refuses more items than max_items', async () => {
      const requests = Array.from({ length: 9 }, (_, i) =>
        ({ id: `i${i}`, path: '/_test/echo' }));
      const before = await originCount(origin, '/_test/echo');
      assertRefused(await postBatch(proxy.port, requests), 400,
        /9 items, more than the limit of 8/);
      assert.equal(await originCount(origin, '/_test/echo'), before, 'no item ran');
    });

    it('refuses duplicate ids, unknown dependsOn ids and cycles', async () => {
      const path = '/_test/cache/refused/never';
      assertRefused(await postBatch(proxy.port, [{ id: 'a', path }, { id: 'a', path }]), 400,
        /requests\[1\]\.id: "a" is used twice/);
      assertRefused(await postBatch(proxy.port, [{ id: 'a', path, dependsOn: ['b'] }]), 400,
        /requests\[0\]\.dependsOn: "b" is not an id of this batch/);
      assertRefused(await postBatch(proxy.port, [{ id: 'a', path, dependsOn: ['a'] }]), 400,
        /is the item itself/);
      assertRefused(await postBatch(proxy.port, [{ id: 'a', path, dependsOn: ['b'] },
        { id: 'b', path, dependsOn: ['a'] }]), 400, /cycle: "a" -> "b" -> "a"/);
      assert.equal(await originCount(origin, path), 0);
    });

    it('answers other methods on the batch path with 405 and Allow: POST', async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await request(proxy.port, { method, path: BATCH });
        assert.equal(res.status, 405, method);
        assert.equal(res.headers.allow, 'POST', method);
      }
    });

    it('answers 413 to a batch whose Content-Length is over max_request_size', async () => {
      const client = await RawClient.open(proxy.port);
      try {
        client.send(requestHead('POST', BATCH, [['Host', 'x'],
          ['Content-Type', 'application/json'], ['Content-Length', String(MAX_REQUEST + 1)]]));
        const resp = await client.next({ timeoutMs: 30000 });
        assert.equal(resp.statusCode, 413);
        assert.match(resp.body.toString(), /larger than its limit of 4096 bytes/);
        assert.notEqual(await client.waitEnd({ timeoutMs: 30000 }), 'timeout',
          'the unread body makes the connection unusable: it is closed');
      } finally {
        client.close();
      }
    });

    it('answers 413 to a chunked batch growing over max_request_size', async () => {
      const client = await RawClient.open(proxy.port);
      try {
        client.send(requestHead('POST', BATCH, [['Host', 'x'],
          ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']]));
        const piece = `{"requests":[${'{"id":"x","path":"/"},'.repeat(100)}`;
        const body = chunked([piece, piece, piece]);
        client.socket.write(body.subarray(0, body.length - 5));  // no last-chunk yet
        const resp = await client.next({ timeoutMs: 30000 });
        assert.equal(resp.statusCode, 413);
        assert.notEqual(await client.waitEnd({ timeoutMs: 30000 }), 'timeout');
      } finally {
        client.close();
      }
    });

    it('takes a batch sent in absolute form', async () => {
      const client = await RawClient.open(proxy.port);
      try {
        const body = JSON.stringify({ requests: [{ id: 'a', path: '/_test/echo' }] });
        client.send(requestHead('POST', `http://x${BATCH}`, [['Host', 'x'],
          ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]) + body);
        const resp = await client.next({ timeoutMs: 30000 });
        assert.equal(resp.statusCode, 200);
        const [a] = JSON.parse(resp.body.toString()).responses;
        assert.equal(a.id, 'a');
        assert.equal(a.body.url, '/_test/echo', 'the item reached the origin, not the batch');
      } finally {
        client.close();
      }
    });

    it('accepts a batch just under max_request_size', async () => {
      const requests = [{ id: 'a', path: `/_test/echo?pad=${'x'.repeat(200)}` }];
      const raw = JSON.stringify({ requests }).padEnd(MAX_REQUEST, ' ');
      assert.equal(raw.length, MAX_REQUEST);
      responsesOf(await postBatch(proxy.port, null, { raw }), requests);
    });

    it('answers a batch and the request pipelined behind it in order', async () => {
      const client = await RawClient.open(proxy.port);
      try {
        const body = JSON.stringify({ requests: [
          { id: 'a', path: '/_test/cache/pipe/a?delay=200' }] });
        client.send(requestHead('POST', BATCH, [['Host', 'x'],
          ['Content-Length', String(body.length)]]) + body +
          requestHead('GET', '/_test/echo', [['Host', 'x']]), { requests: 2 });
        const first = await client.next();
        assert.equal(first.statusCode, 200);
        assert.equal(JSON.parse(first.body).responses[0].body.path, '/_test/cache/pipe/a');
        const second = await client.next();
        assert.equal(second.statusCode, 200);
        assert.equal(JSON.parse(second.body).url, '/_test/echo');
      } finally {
        client.close();
      }
    });

    it('keeps the connection open after a batch answered at once', async () => {
      // Refused batches and batches whose items all come from the cache are answered while
      // the request's end is being read; the connection must stay reusable all the same.
      const client = await RawClient.open(proxy.port);
      const send = (body) => client.send(requestHead('POST', BATCH, [['Host', 'x'],
        ['Content-Length', String(Buffer.byteLength(body))]]) + body);
      try {
        send('{"requests":[');
        assert.equal((await client.next()).statusCode, 400);
        const good = JSON.stringify({ requests: [{ id: 'a', path: '/api/v1/sites/5' }] });
        send(good);
        const first = await client.next();
        assert.equal(first.statusCode, 200);
        assert.equal(JSON.parse(first.body).responses[0].headers['x-cache'], 'MISS');
        send(good);
        const hit = await client.next();
        assert.equal(JSON.parse(hit.body).responses[0].headers['x-cache'], 'HIT');
        send(good);
        assert.equal((await client.next()).statusCode, 200);
        assert.equal(client.ended, null, 'the connection is still open');
      } finally {
        client.close();
      }
    });
  });

  describe('refused and failing items', () => {
    it('refuses item paths with a scheme, a host, dot segments or the batch path', async () => {
      const requests = [
        { id: 'scheme', path: `http://127.0.0.1:${origin.port}/_test/echo` },
        { id: 'authority', path: `//127.0.0.1:${origin.port}/_test/echo` },
        { id: 'relative', path: '_test/echo' },
        { id: 'dots', path: '/api/v1/../../_test/echo' },
        { id: 'encoded', path: '/api/v1/%2e%2e/_test/echo' },
        { id: 'fragment', path: '/_test/echo#x' },
        { id: 'nested', method: 'POST', path: BATCH,
          body: { requests: [{ id: 'x', path: '/_test/echo' }] } },
        { id: 'ok', path: '/_test/echo?q=../x' },
      ];
      const before = await originCount(origin, '/_test/echo');
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      for (const { id } of requests.slice(0, -1)) {
        assert.equal(by[id].status, 400, `${id}: ${itemError(by[id])}`);
        assert.match(by[id].body.error, /^path /, id);
      }
      assert.match(by.nested.body.error, /batch/);
      assert.equal(by.ok.status, 200, itemError(by.ok));
      assert.equal(by.ok.body.url, '/_test/echo?q=../x');
      assert.equal(await originCount(origin, '/_test/echo'), before + 1);
    });

    it('answers an item without a route with 404', async () => {
      const requests = [{ id: 'none', path: '/no/route/here' },
        { id: 'ok', path: '/api/v1/sites/1' }];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      assert.equal(by.none.status, 404);
      assert.match(by.none.body.error, /no route/);
      assert.equal(by.ok.status, 200);
    });

    it('answers an item that takes too long with 504, in about item_timeout', async () => {
      const requests = [{ id: 'hang', path: '/_test/hang' }, { id: 'ok', path: '/_test/echo' },
        { id: 'after', path: '/_test/echo', dependsOn: ['hang'] }];
      const res = await postBatch(proxy.port, requests);
      const by = responsesOf(res, requests);
      assert.equal(by.hang.status, 504);
      assert.match(by.hang.body.error, /longer than 2000 ms/);
      assert.equal(by.ok.status, 200);
      assert.equal(by.after.status, 424);
      assert.ok(res.elapsedMs >= ITEM_TIMEOUT_MS - 100, `answered after ${res.elapsedMs} ms`);
      assert.ok(res.elapsedMs < ITEM_TIMEOUT_MS + 8000, `answered after ${res.elapsedMs} ms`);
    });

    it('fails an item that would take the batch over max_response_size, not the others',
      async () => {
        const requests = [
          { id: 'small', path: '/api/v1/sites/1' },
          { id: 'huge', path: `/_test/bytes/${MAX_RESPONSE + 1000}` },
          { id: 'small2', path: '/_test/status/200' },
        ];
        const by = responsesOf(await postBatch(proxy.port, requests), requests);
        assert.equal(by.small.status, 200);
        assert.equal(by.small2.status, 200);
        assert.equal(by.huge.status, 502, itemError(by.huge));
        assert.match(by.huge.body.error, /max_response_size/);
      });

    it('counts every item against max_response_size', async () => {
      const third = Math.floor(MAX_RESPONSE / 3) + 100;
      const requests = ['a', 'b', 'c'].map((id) => ({ id, path: `/_test/bytes/${third}` }));
      const res = await postBatch(proxy.port, requests);
      const by = responsesOf(res, requests);
      const statuses = requests.map(({ id }) => by[id].status);
      assert.deepEqual(statuses.filter((s) => s === 200).length, 2, JSON.stringify(statuses));
      assert.deepEqual(statuses.filter((s) => s === 502).length, 1, JSON.stringify(statuses));
    });

    it('keeps the batch answer within max_response_size, base64 and escapes included',
      async () => {
        // 60000 bytes of binary fit the limit raw but take 80000 as base64.
        const requests = [{ id: 'a', path: '/_test/bytes/40000' },
          { id: 'b', path: '/_test/bytes/20000' }];
        const res = await postBatch(proxy.port, requests);
        const by = responsesOf(res, requests);
        assert.deepEqual([by.a.status, by.b.status].sort(), [200, 502],
          `${by.a.status} ${by.b.status}`);
        assert.ok(res.body.length <= MAX_RESPONSE + 1024,
          `a ${res.body.length}-byte answer for a limit of ${MAX_RESPONSE}`);
      });

    it('runs at most `concurrency` items at once', async () => {
      const requests = Array.from({ length: 6 }, (_, i) =>
        ({ id: `c${i}`, path: `/_test/cache/cap/c${i}?delay=300` }));
      const res = await postBatch(proxy.port, requests);
      const by = responsesOf(res, requests);
      for (const { id } of requests) assert.equal(by[id].status, 200);
      // Two at a time: three rounds of 300 ms (a little less for timer rounding); three or
      // more at a time would take about 600 ms.
      assert.ok(res.elapsedMs >= 850, `6 items of 300 ms took ${res.elapsedMs} ms`);
    });

    it('survives a client that leaves mid-batch', async () => {
      const body = JSON.stringify({ requests: [
        { id: 'slow', path: '/_test/cache/gone/slow?delay=300' },
        { id: 'hang', path: '/_test/hang' },
        { id: 'next', path: '/_test/cache/gone/next', dependsOn: ['slow'] },
      ] });
      for (let i = 0; i < 3; i++) {
        const client = await RawClient.open(proxy.port);
        client.send(requestHead('POST', BATCH, [['Host', 'x'],
          ['Content-Length', String(body.length)]]) + body);
        await delay(50 + 150 * i);
        client.close();
      }
      await delay(600);  // the slow item ends after its client left
      const requests = [{ id: 'a', path: '/api/v1/sites/1' }];
      const by = responsesOf(await postBatch(proxy.port, requests), requests);
      assert.equal(by.a.status, 200);
      assert.doesNotMatch(proxy.stderr, /AddressSanitizer|runtime error|Assertion/);
    });
  });
});

describe('batch configuration', { timeout: 240000 }, () => {
  let origin;
  before(async () => {
    origin = await startOrigin();
  });
  after(async () => {
    await origin?.stop();
  });

  it('takes batches on the configured path only', async () => {
    const proxy = await startProxy({ yaml: batchConfig(origin, { path: '/bulk' }) });
    try {
      const body = JSON.stringify({ requests: [{ id: 'a', path: '/api/v1/sites/1' },
        { id: 'nested', method: 'POST', path: '/bulk', body: { requests: [] } }] });
      const res = await request(proxy.port, { method: 'POST', path: '/bulk', body });
      assert.equal(res.status, 200);
      const json = JSON.parse(res.body);
      assert.equal(json.responses[0].status, 200);
      assert.equal(json.responses[1].status, 400);
      const old = await request(proxy.port, { method: 'POST', path: BATCH, body });
      assert.notEqual(old.status, 200, 'the default path is an ordinary route now');
    } finally {
      await proxy.stop();
    }
  });

  it('routes the batch path like any other when batches are disabled', async () => {
    const proxy = await startProxy({ yaml: batchConfig(origin, { enabled: false }) });
    try {
      const res = await request(proxy.port, { method: 'POST', path: BATCH, body: '{}' });
      assert.equal(res.status, 404, 'the origin has no batch endpoint');
      assert.equal(JSON.parse(res.body).error.code, 'not_found');
    } finally {
      await proxy.stop();
    }
  });

  it('inherits only the configured headers', async () => {
    const proxy = await startProxy({ yaml: batchConfig(origin,
      { inherit_headers: ['x-tenant'] }) });
    try {
      const requests = [
        { id: 'e', path: '/_test/echo', headers: { Authorization: 'Bearer item' } },
        { id: 'spoof', path: '/_test/echo', headers: { 'X-Tenant': 'other' } }];
      const res = await postBatch(proxy.port, requests,
        { headers: { Authorization: 'Bearer parent', 'X-Tenant': 't9' } });
      const by = responsesOf(res, requests);
      const headers = Object.fromEntries(by.e.body.headers.map(([n, v]) => [n.toLowerCase(), v]));
      assert.equal(headers['x-tenant'], 't9');
      assert.equal(headers.authorization, 'Bearer item', 'not inherited, so the item may set it');
      assert.equal(by.spoof.status, 400);
    } finally {
      await proxy.stop();
    }
  });
});
