// 100 MB bodies both ways and slow peers on either side: data arrives intact and the proxy's
// memory stays bounded, i.e. it streams with backpressure instead of buffering whole bodies.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import http from 'node:http';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { configFor } from './lib/config.mjs';
import { connect, requestHead } from './lib/raw.mjs';
import { ResponseDecoder } from './lib/response_decoder.mjs';
import { request } from './lib/http.mjs';
import { patternChunks, patternSha256 } from './lib/pattern.mjs';
import { sampleRss } from './lib/rss.mjs';
import { delay, withTimeout } from './lib/wait.mjs';

const MB = 1 << 20;
const BIG = 100 * MB;
const RSS_LIMIT_KB = 64 * 1024;

function assertBounded(t, rss, limitKb, what) {
  t.diagnostic(`${what}: RSS ${rss.baselineKb} -> ${rss.maxKb} kB over ${rss.samples} samples`);
  assert.ok(rss.increaseKb < limitKb, `${what}: proxy RSS grew by ${rss.increaseKb} kB ` +
    `(from ${rss.baselineKb} to ${rss.maxKb} kB; limit ${limitKb} kB)`);
}

describe('streaming', { timeout: 240000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  // A proxy per test: memory freed by an earlier transfer would otherwise raise the baseline
  // and hide growth in a later one.
  async function freshProxy(t) {
    const proxy = await startProxy({ yaml: configFor(origin,
      { limits: { max_request_body: '200m' } }) });
    t.after(() => proxy.stop());
    // Warm up buffers and pools so the baseline includes them.
    await request(proxy.port, { path: '/_test/bytes/1048576' });
    return proxy;
  }

  for (const [name, query] of [['Content-Length', ''], ['chunked', '?chunked=1']]) {
    it(`downloads 100 MB (${name}) intact with bounded proxy memory`, async (t) => {
      const proxy = await freshProxy(t);
      const rss = sampleRss(proxy.pid);
      const r = await request(proxy.port, { path: `/_test/bytes/${BIG}${query}`,
        keepBody: false, timeoutMs: 60000 });
      const stats = rss.stop();
      assert.equal(r.status, 200);
      assert.equal(r.bytes, BIG);
      assert.equal(r.sha256, patternSha256(BIG));
      assertBounded(t, stats, RSS_LIMIT_KB, 'download');
    });
  }

  for (const [name, headers] of [['Content-Length', { 'content-length': BIG }], ['chunked', {}]]) {
    it(`uploads 100 MB (${name}) intact with bounded proxy memory`, async (t) => {
      const proxy = await freshProxy(t);
      const rss = sampleRss(proxy.pid);
      const r = await request(proxy.port, { method: 'POST', path: '/_test/echo', headers,
        body: patternChunks(BIG, 64 * 1024), timeoutMs: 60000 });
      const stats = rss.stop();
      assert.equal(r.status, 200, r.body.toString());
      const echo = JSON.parse(r.body);
      assert.equal(echo.bodyBytes, BIG);
      assert.equal(echo.bodySha256, patternSha256(BIG));
      assertBounded(t, stats, RSS_LIMIT_KB, 'upload');
    });
  }

  it('holds a response for a client that stops reading, then delivers it intact', async (t) => {
    const proxy = await freshProxy(t);
    const socket = await connect(proxy.port);
    try {
      const hash = createHash('sha256');
      let status;
      const done = new Promise((resolve, reject) => {
        const decoder = new ResponseDecoder({ keepBody: false,
          onResponse: (resp) => { status = resp.statusCode; },
          onBody: (resp, chunk) => hash.update(chunk),
          onComplete: resolve });
        socket.on('data', (d) => {
          try {
            decoder.push(d);
          } catch (err) {
            reject(err);
          }
        });
        socket.on('end', () => reject(new Error('connection ended before the body did')));
        socket.on('error', reject);
      });
      socket.pause();
      const rss = sampleRss(proxy.pid);
      socket.write(requestHead('GET', `/_test/bytes/${BIG}`));
      await delay(2000);  // the point of the test: a client that reads nothing for a while
      const paused = rss.stop();
      assertBounded(t, paused, RSS_LIMIT_KB, 'while the client was not reading');
      socket.resume();
      const resp = await withTimeout(done, 60000, 'reading the held response');
      assert.equal(status, 200);
      assert.equal(resp.bodyBytes, BIG);
      assert.equal(hash.digest('hex'), patternSha256(BIG));
    } finally {
      socket.destroy();
    }
  });

  it('pushes back on a fast uploader while the origin reads slowly', async (t) => {
    const proxy = await freshProxy(t);
    const size = 50 * MB;
    const rate = 12.5 * MB;
    const rss = sampleRss(proxy.pid);
    const r = await request(proxy.port, { method: 'POST',
      path: `/_test/consume-slowly?bytes_per_sec=${rate}`, headers: { 'content-length': size },
      body: patternChunks(size, 64 * 1024), timeoutMs: 60000 });
    const stats = rss.stop();
    assert.equal(r.status, 200, r.body.toString());
    const result = JSON.parse(r.body);
    assert.equal(result.bodyBytes, size);
    assert.equal(result.bodySha256, patternSha256(size));
    assert.ok(result.elapsed_ms >= 3000, `origin read 50 MB in ${result.elapsed_ms} ms`);
    // Half the body: a proxy that buffered the upload would exceed this.
    assertBounded(t, stats, 24 * 1024, 'slow upstream upload');
  });

  it('compresses a 100 MB stream on the fly with bounded memory, and it decodes intact',
    async (t) => {
      const proxy = await freshProxy(t);
      const rss = sampleRss(proxy.pid);
      const { encoding, sha, bytes } = await new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: proxy.port, agent: false,
          path: `/_test/bytes/${BIG}?chunked=1&type=json`,
          headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const hash = createHash('sha256');
          let count = 0;
          const gunzip = createGunzip();
          gunzip.on('data', (chunk) => {
            count += chunk.length;
            hash.update(chunk);
          });
          gunzip.on('end', () => resolve({ encoding: res.headers['content-encoding'],
            sha: hash.digest('hex'), bytes: count }));
          gunzip.on('error', reject);
          res.pipe(gunzip);
        });
        req.on('error', reject);
      });
      const stats = rss.stop();
      assert.equal(encoding, 'gzip');
      assert.equal(bytes, BIG);
      assert.equal(sha, patternSha256(BIG), 'decoded stream differs from the origin\'s bytes');
      assertBounded(t, stats, RSS_LIMIT_KB, 'gzip stream');
    });
});
