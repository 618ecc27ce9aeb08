// Compressed answers from the cache: gzip and Brotli negotiated from Accept-Encoding, decoded
// bodies byte for byte equal to the origin's, one ETag per encoding with 304s per encoding,
// Vary: Accept-Encoding, and the cases that stay identity.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { request } from './lib/http.mjs';
import { waitFor } from './lib/wait.mjs';
import { createHash } from 'node:crypto';

const run = promisify(execFile);
const LIST = '/api/v1/work-orders?per_page=50';  // ~17 KB of JSON from the demo API

describe('compression of cached responses', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  let identity;  // the origin's own bytes
  let firstBrEncoding;  // what the first br request got while the Brotli form was being made
  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: proxyConfig({ servers: [origin.address],
      routeClasses: { api: { ttl: '60s' }, pass: { cache: false } },
      routes: [
        { match: { path: '/api/v1/sites' }, upstream: 'app', class: 'pass' },
        { match: { path_prefix: '/_test/cache/pass/' }, upstream: 'app', class: 'pass' },
        { match: { path_prefix: '/' }, upstream: 'app', class: 'api' },
      ] }) });
    identity = (await request(origin.port, { path: LIST })).body;
    await request(proxy.port, { path: LIST });  // store it
    // The stored Brotli form is made on a background thread after the first br request.
    const first = await request(proxy.port, { path: LIST, headers: { 'accept-encoding': 'br' } });
    firstBrEncoding = first.headers['content-encoding'];
    await waitFor(async () => (await request(proxy.port, { path: LIST,
      headers: { 'accept-encoding': 'br' } })).headers['content-encoding'] === 'br',
    { what: 'the stored Brotli form' });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const get = (headers) => request(proxy.port, { path: LIST, headers });

  for (const [coding, decode] of [['gzip', gunzipSync], ['br', brotliDecompressSync]]) {
    it(`answers Accept-Encoding: ${coding} with a ${coding} body that decodes to the origin's`,
      async () => {
        const r = await get({ 'accept-encoding': coding });
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-encoding'], coding);
        assert.equal(r.headers['x-cache'], 'HIT');
        assert.equal(Number(r.headers['content-length']), r.body.length);
        assert.ok(r.body.length < identity.length / 3, `${coding}: ${r.body.length} bytes`);
        assert.ok(decode(r.body).equals(identity), 'decoded body differs from the origin\'s');
        assert.match(r.headers.vary ?? '', /accept-encoding/i);
      });
  }

  it('answers the first Brotli request without waiting for the Brotli form', async () => {
    assert.equal(firstBrEncoding, undefined, 'a br-only client gets identity meanwhile');
  });

  it('decodes byte for byte with curl --compressed for gzip and br', async () => {
    for (const coding of ['gzip', 'br']) {
      const { stdout } = await run('curl', ['-s', '--compressed', '-H', `Accept-Encoding: ${coding}`,
        `http://127.0.0.1:${proxy.port}${LIST}`], { encoding: 'buffer', maxBuffer: 1 << 24 });
      assert.ok(stdout.equals(identity), `curl --compressed (${coding}) differs`);
    }
  });

  it('prefers Brotli when both are equally acceptable and follows q-values', async () => {
    assert.equal((await get({ 'accept-encoding': 'gzip, br' })).headers['content-encoding'], 'br');
    assert.equal((await get({ 'accept-encoding': 'br;q=0.5, gzip' })).headers['content-encoding'],
      'gzip');
    assert.equal((await get({ 'accept-encoding': '*' })).headers['content-encoding'], 'br');
    const none = await get({});
    assert.equal(none.headers['content-encoding'], undefined);
    assert.ok(none.body.equals(identity));
    const refused = await get({ 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  it('gives each encoding its own ETag and answers 304 only for the tag of what it would send',
    async () => {
      const tags = {};
      for (const coding of ['identity', 'gzip', 'br']) {
        tags[coding] = (await get({ 'accept-encoding': coding })).headers.etag;
      }
      assert.equal(new Set(Object.values(tags)).size, 3, JSON.stringify(tags));
      for (const coding of ['identity', 'gzip', 'br']) {
        const same = await get({ 'accept-encoding': coding, 'if-none-match': tags[coding] });
        assert.equal(same.status, 304, `${coding} with its own tag`);
        assert.equal(same.headers.etag, tags[coding]);
      }
      const other = await get({ 'accept-encoding': 'br', 'if-none-match': tags.gzip });
      assert.equal(other.status, 200, 'the client holds the gzip copy, not the br one');
    });

  it('leaves small bodies uncompressed', async () => {
    const r = await request(proxy.port, { path: '/api/v1/sites/3',
      headers: { 'accept-encoding': 'gzip, br' } });
    await request(proxy.port, { path: '/api/v1/sites/3', headers: { 'accept-encoding': 'br' } });
    assert.equal(r.headers['content-encoding'], undefined, `${r.body.length} bytes`);
  });

  it('serves every encoding from the one stored entry: the origin is asked once', async () => {
    const stats = await origin.stats();
    assert.equal(stats.byPath['/api/v1/work-orders'], 2, 'one direct fetch, one through the proxy');
  });
  for (const [coding, decode] of [['gzip', gunzipSync]]) {
    it(`answers a cold miss with ${coding} already`, async () => {
        const path = `/api/v1/work-orders?per_page=40&miss=${coding}`;
        const direct = (await request(origin.port, { path })).body;
        const r = await request(proxy.port, { path, headers: { 'accept-encoding': coding } });
        assert.equal(r.headers['x-cache'], 'MISS');
        assert.equal(r.headers['content-encoding'], coding);
        assert.ok(decode(r.body).equals(direct), 'decoded miss differs from the origin\'s');
    });
  }

  it('compresses uncached pass-through responses on the fly', async () => {
    const direct = (await request(origin.port, { path: '/api/v1/sites' })).body;
    const r = await request(proxy.port, { path: '/api/v1/sites',
      headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.headers['x-cache'], 'BYPASS');
    assert.ok(direct.length >= 1000, `the sites list is ${direct.length} bytes`);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['transfer-encoding'], 'chunked', 'compressed length is unknown');
    assert.ok(gunzipSync(r.body).equals(direct));
  });


  it('decodes a gzip origin body for a client that does not accept gzip', async () => {
    const path = '/_test/gzip-json?items=300';
    const plain = await request(proxy.port, { path });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(createHash('sha256').update(plain.body).digest('hex'),
      plain.headers['x-identity-sha256'], 'decoded body differs from what the origin gzipped');
    assert.equal(JSON.parse(plain.body).data.length, 300);
    const gz = await request(proxy.port, { path, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip', 'a gzip client gets the origin\'s bytes');
    assert.ok(gunzipSync(gz.body).equals(plain.body));
  });

  it('sends the origin its own tag when a client presents one of our encoding tags', async () => {
    const path = '/_test/cache/pass/tagged?etag=v7&cc=no-cache';
    const r = await request(proxy.port, { path, headers: { 'if-none-match': '"v7-ep-gz"' } });
    assert.equal(r.status, 304, 'the origin saw "v7" and answered 304');
    const plain = await request(proxy.port, { path, headers: { 'if-none-match': '"v6-ep-br"' } });
    assert.equal(plain.status, 200);
    assert.equal(JSON.parse(plain.body).inm, '"v6"', 'the origin received the base tag');
  });
});

describe('compression switched off', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  before(async () => {
    origin = await startOrigin();
    const yaml = proxyConfig({ servers: [origin.address],
      routeClasses: { api: { ttl: '60s' } },
      routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'api' }] }) +
      '\ncompression:\n  enabled: false\n';
    proxy = await startProxy({ yaml });
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  it('sends hits and misses as they are', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await request(proxy.port, { path: LIST, headers: { 'accept-encoding': 'gzip, br' } });
      assert.equal(r.headers['content-encoding'], undefined, `request ${i + 1}`);
      assert.equal(r.headers['x-cache'], i === 0 ? 'MISS' : 'HIT');
    }
  });
});
