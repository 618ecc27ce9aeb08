// Request counters: each request a worker finishes is counted once in the admin API's /stats
// `requests`, summed over the workers: by cache outcome, status class and error kind, with the
// request body bytes read and the response bytes written. The counts land in the log phase,
// just after the response, so the test waits for them on /stats.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { closedPort } from './lib/ports.mjs';
import { requestOnce } from './lib/raw.mjs';
import { waitFor } from './lib/wait.mjs';
import { adminOf } from './lib/redis.mjs';

const zeros = (names) => Object.fromEntries(names.map((name) => [name, 0]));
const OUTCOMES = ['none', 'hit', 'miss', 'stale', 'revalidated', 'coalesced', 'bypass'];
const STATUSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];
const ERRORS = ['bad_request', 'connect_refused', 'connect_timeout', 'upstream_tls', 'first_byte_timeout',
  'upstream_reset', 'upstream_protocol', 'over_limit', 'encoding_failed', 'aborted'];

describe('request counters', { timeout: 240000 }, () => {
  let origin;
  let proxy;
  let admin;

  before(async () => {
    origin = await startOrigin();
    const dead = await closedPort();
    proxy = await startProxy({ yaml: toYaml({
      listen: ['127.0.0.1:0'],
      workers: 2,
      upstreams: {
        app: { servers: [origin.address] },
        dead: { servers: [`127.0.0.1:${dead}`] },
      },
      route_classes: { plain: { ttl: '60s' }, no_cache: { cache: false } },
      routes: [
        { match: { path_prefix: '/_test/cache/plain/' }, upstream: 'app', class: 'plain' },
        { match: { path_prefix: '/_test/echo' }, upstream: 'app', class: 'no_cache' },
        { match: { path_prefix: '/dead/' }, upstream: 'dead', class: 'no_cache' },
        { match: { path_prefix: '/dead-cached/' }, upstream: 'dead', class: 'plain' },
      ],
      admin: { listen: '127.0.0.1:0' },
    }) });
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  // One request on a connection of its own; every byte the proxy wrote back.
  const send = (method, target, body) => requestOnce(proxy.port, method, target, body);

  // The counters are added in each request's log phase, on its worker: wait until /stats
  // shows exactly `expected`, and show the difference if it never does.
  const statsBecome = async (expected, what) => {
    let last;
    try {
      await waitFor(async () => {
        last = (await admin.stats()).requests;
        return isDeepStrictEqual(last, expected);
      }, { what });
    } catch (err) {
      assert.deepEqual(last, expected, err.message);
    }
  };

  it('counts a known mix exactly, summed over two workers', async () => {
    const before = (await admin.stats()).requests;
    assert.equal(before.total, 0, JSON.stringify(before));

    const cached = '/_test/cache/plain/counted';
    const miss = await send('GET', cached);
    assert.equal(miss.xCache, 'MISS');
    const hits = [await send('GET', cached), await send('GET', cached)];
    for (const hit of hits) assert.equal(hit.xCache, 'HIT');
    const passed = await send('POST', '/_test/echo', 'hello world');
    assert.equal(passed.status, 200);
    assert.equal(passed.xCache, 'BYPASS');
    const unrouted = await send('GET', '/no/route/here');
    assert.equal(unrouted.status, 404);
    const unreachable = await send('GET', '/dead/x');
    assert.equal(unreachable.status, 502);

    const expected = {
      total: 6,
      cache: { ...zeros(OUTCOMES), none: 1, hit: 2, miss: 1, bypass: 2 },
      status: { ...zeros(STATUSES), '2xx': 4, '4xx': 1, '5xx': 1 },
      errors: { ...zeros(ERRORS), bad_request: 1, connect_refused: 1 },
      bytes_in: 11,
      // Everything the streams wrote: heads, framing and bodies. The proxy's own short error
      // replies (the 404 and the 502) are not counted.
      bytes_out: miss.bytes + hits[0].bytes + hits[1].bytes + passed.bytes,
    };
    await statsBecome(expected, 'the six requests in /stats');
  });

  // A cacheable request fails through the shared fetch: its kind comes with the failure, as
  // exact as a pass-through's.
  it('counts a shared fetch\'s failure with its kind', async () => {
    const before = (await admin.stats()).requests;
    const failed = await send('GET', '/dead-cached/x');
    assert.equal(failed.status, 502);
    assert.equal(failed.xCache, 'MISS');
    const expected = structuredClone(before);
    expected.total += 1;
    expected.cache.miss += 1;
    expected.status['5xx'] += 1;
    expected.errors.connect_refused += 1;
    await statsBecome(expected, 'the failed fetch in /stats');
  });
});
