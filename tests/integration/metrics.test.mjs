// GET /metrics on the admin listener: the Prometheus text format (checked by promtool), behind
// the admin token, and counters that move exactly with the requests made. Counts land in each
// request's log phase, just after its response, so the test waits for them on /metrics.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { connect, requestOnce } from './lib/raw.mjs';
import { waitFor } from './lib/wait.mjs';
import { adminOf } from './lib/redis.mjs';

// "name{a="x",b="y"} 3" lines -> Map of 'name{a="x",b="y"}' -> 3 (comments skipped).
function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const series = (name, labels = {}) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
};

describe('metrics', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  let admin;

  before(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ yaml: toYaml({
      listen: ['127.0.0.1:0'],
      workers: 2,
      upstreams: { app: { servers: [origin.address] } },
      route_classes: { api: { ttl: '60s' }, pass: { cache: false } },
      routes: [
        { match: { path_prefix: '/_test/cache/api/' }, upstream: 'app', class: 'api' },
        { match: { path_prefix: '/_test/echo' }, upstream: 'app', class: 'pass' },
      ],
      admin: { listen: '127.0.0.1:0' },
    }) });
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  const scrape = async () => {
    const res = await admin.call('GET', '/metrics');
    assert.equal(res.status, 200, res.text);
    return res;
  };
  const read = async () => parseMetrics((await scrape()).text);
  const value = (samples, name, labels) => samples.get(series(name, labels)) ?? 0;

  // Waits until every series in `expected` has exactly its value; on a timeout, shows them.
  const metricsBecome = async (expected, what) => {
    let last;
    const matches = () => Object.entries(expected).every(([key, v]) => (last.get(key) ?? 0) === v);
    try {
      await waitFor(async () => { last = await read(); return matches(); }, { what });
    } catch (err) {
      const seen = Object.fromEntries(Object.keys(expected).map((k) => [k, last.get(k) ?? 0]));
      assert.deepEqual(seen, expected, err.message);
    }
    return last;
  };

  // One request on a connection of its own; the bytes the proxy wrote back.
  const send = (method, target, body) => requestOnce(proxy.port, method, target, body);

  it('refuses a scrape without the token or with another one', async () => {
    const without = await admin.call('GET', '/metrics', { token: null });
    assert.equal(without.status, 401);
    assert.match(without.text, /bearer token/);
    const wrong = await admin.call('GET', '/metrics', { token: 'not-the-token' });
    assert.equal(wrong.status, 401);
    const post = await admin.call('POST', '/metrics');
    assert.equal(post.status, 405);
  });

  it('passes promtool check metrics, with the text format content type', async () => {
    await send('GET', '/_test/cache/api/promtool');  // some per-class series and histograms
    await waitFor(async () => (await scrape()).text.includes('edge_proxy_request_duration_seconds_count{class="api"}'),
      { what: 'the api class histogram' });
    const res = await scrape();
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    for (const line of res.text.split('\n')) {
      if (line.startsWith('# TYPE ') || (line !== '' && !line.startsWith('#'))) {
        assert.match(line, /^(# TYPE )?edge_proxy_/, 'every name has the prefix');
      }
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool runs (package prometheus)');
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint findings');
  });

  it('moves the class, status and cache series, the histogram and the bytes exactly', async () => {
    const path = '/_test/cache/api/counted';
    const before = await read();
    const hit = { class: 'api', status: '2xx', cache: 'hit' };
    const miss = { class: 'api', status: '2xx', cache: 'miss' };
    const unrouted = { class: 'none', status: '4xx', cache: 'none' };
    const bypass = { class: 'pass', status: '2xx', cache: 'bypass' };

    const first = await send('GET', path);
    assert.equal(first.xCache, 'MISS');
    let bytesOut = first.bytes;
    for (let i = 0; i < 10; ++i) {
      const r = await send('GET', path);
      assert.equal(r.xCache, 'HIT');
      bytesOut += r.bytes;
    }
    const echoed = await send('POST', '/_test/echo', 'twelve bytes');
    assert.equal(echoed.status, 200);
    bytesOut += echoed.bytes;
    const missing = await send('GET', '/no/route/here');
    assert.equal(missing.status, 404);  // the proxy's own reply: its bytes are not counted

    const at = (name, labels) => value(before, name, labels);
    const expected = {
      [series('edge_proxy_requests_total', hit)]: at('edge_proxy_requests_total', hit) + 10,
      [series('edge_proxy_requests_total', miss)]: at('edge_proxy_requests_total', miss) + 1,
      [series('edge_proxy_requests_total', unrouted)]: at('edge_proxy_requests_total', unrouted) + 1,
      [series('edge_proxy_requests_total', bypass)]: at('edge_proxy_requests_total', bypass) + 1,
      [series('edge_proxy_request_duration_seconds_count', { class: 'api' })]:
        at('edge_proxy_request_duration_seconds_count', { class: 'api' }) + 11,
      [series('edge_proxy_request_duration_seconds_bucket', { class: 'api', le: '+Inf' })]:
        at('edge_proxy_request_duration_seconds_bucket', { class: 'api', le: '+Inf' }) + 11,
      // Only the miss and the pass-through went upstream.
      [series('edge_proxy_upstream_response_seconds_count', { class: 'api' })]:
        at('edge_proxy_upstream_response_seconds_count', { class: 'api' }) + 1,
      [series('edge_proxy_upstream_response_seconds_count', { class: 'pass' })]:
        at('edge_proxy_upstream_response_seconds_count', { class: 'pass' }) + 1,
      [series('edge_proxy_request_body_bytes_total')]: at('edge_proxy_request_body_bytes_total') + 12,
      [series('edge_proxy_response_bytes_total')]: at('edge_proxy_response_bytes_total') + bytesOut,
      [series('edge_proxy_cache_inserts_total')]: at('edge_proxy_cache_inserts_total') + 1,
    };
    const after = await metricsBecome(expected, 'the thirteen requests in /metrics');
    assert.equal(value(after, 'edge_proxy_cache_entries'), value(before, 'edge_proxy_cache_entries') + 1);
    assert.ok(value(after, 'edge_proxy_cache_memory_bytes') > value(before, 'edge_proxy_cache_memory_bytes'));
  });

  it('shows client connections open now', async () => {
    const base = value(await read(), 'edge_proxy_client_connections');
    const sockets = await Promise.all([connect(proxy.port), connect(proxy.port)]);
    try {
      await metricsBecome({ edge_proxy_client_connections: base + 2 }, 'two more open connections');
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    await metricsBecome({ edge_proxy_client_connections: base }, 'the connections closed');
  });
});
