// Several servers per upstream: round-robin, retrying idempotent requests past a dead server,
// ejecting it for fail_timeout, and bringing it back afterwards.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { proxyConfig } from './lib/config.mjs';
import { RawClient, requestHead } from './lib/raw.mjs';
import { request } from './lib/http.mjs';
import { closedPort } from './lib/ports.mjs';
import { waitFor } from './lib/wait.mjs';

const cleanup = [];
const stopLater = (thing) => {
  cleanup.push(thing);
  return thing;
};

async function getMany(port, count, path = '/health') {
  const statuses = [];
  for (let i = 0; i < count; i++) statuses.push((await request(port, { path })).status);
  return statuses;
}

describe('upstream servers', { timeout: 240000 }, () => {
  after(async () => {
    await Promise.all(cleanup.map((thing) => thing.stop()));
  });

  // One kept-alive upstream connection, warmed by a first request, then reused for a path
  // on which the origin drops reused connections without answering.
  async function reuseDroppedConnection(method) {
    const origin = stopLater(await startOrigin());
    const proxy = stopLater(await startProxy({ yaml: proxyConfig({
      servers: [origin.address], workers: 1 }) }));
    const client = await RawClient.open(proxy.port);
    try {
      client.send(requestHead('GET', '/_test/status/200'));
      assert.equal((await client.next()).statusCode, 200);
      const before = await origin.stats();
      client.send(requestHead(method, '/_test/close-on-reuse',
        [['Host', 'localhost'], ['Content-Length', '0']]));
      const response = await client.next();
      const after = await origin.stats();
      return { response, attempts: after.byPath['/_test/close-on-reuse'],
        newConnections: after.connections - before.connections };
    } finally {
      client.close();
    }
  }

  it('retries an idempotent request once on a fresh connection when a reused one drops it',
    async () => {
      const { response, attempts, newConnections } = await reuseDroppedConnection('GET');
      assert.equal(response.statusCode, 200, response.body.toString());
      assert.deepEqual(JSON.parse(response.body.toString()), { fresh: true });
      assert.equal(attempts, 2, 'dropped once on the reused connection, answered on a fresh one');
      assert.equal(newConnections, 1);
    });

  it('does not retry a POST when a reused connection drops it: 502 with a reason', async () => {
    const { response, attempts } = await reuseDroppedConnection('POST');
    assert.equal(response.statusCode, 502);
    assert.match(response.body.toString(), /upstream/);
    assert.equal(attempts, 1);
  });

  it('spreads requests over all servers round-robin', async () => {
    const [a, b] = [stopLater(await startOrigin()), stopLater(await startOrigin())];
    const proxy = stopLater(await startProxy({ yaml: proxyConfig({
      servers: [a.address, b.address] }) }));
    const client = await RawClient.open(proxy.port);
    try {
      for (let i = 0; i < 20; i++) {
        client.send(requestHead('GET', '/health'));
        assert.equal((await client.next()).statusCode, 200);
      }
    } finally {
      client.close();
    }
    const [sa, sb] = [await a.stats(), await b.stats()];
    assert.equal(sa.requests + sb.requests, 20);
    assert.ok(sa.requests >= 6 && sb.requests >= 6,
      `uneven split over one client connection: ${sa.requests} / ${sb.requests}`);
    // Separate client connections (possibly on different workers) reach both servers too.
    await Promise.all([a.reset(), b.reset()]);
    assert.deepEqual(await getMany(proxy.port, 10), Array(10).fill(200));
    const [ca, cb] = [await a.stats(), await b.stats()];
    assert.ok(ca.requests > 0 && cb.requests > 0, `split ${ca.requests} / ${cb.requests}`);
  });

  it('retries GETs on the next server and ejects a dead one for fail_timeout', async () => {
    const live = stopLater(await startOrigin());
    const deadPort = await closedPort();
    // One worker, so one balancer sees every failure.
    const proxy = stopLater(await startProxy({ yaml: proxyConfig({ workers: 1,
      servers: [`127.0.0.1:${deadPort}`, live.address],
      upstream: { max_fails: 1, fail_timeout: '60s', connect_timeout: '1s' } }) }));
    assert.deepEqual(await getMany(proxy.port, 10), Array(10).fill(200));
    assert.equal((await live.stats()).requests, 10);
    // The dead server comes back, but stays ejected until fail_timeout has passed.
    const revived = stopLater(await startOrigin({ port: deadPort }));
    assert.deepEqual(await getMany(proxy.port, 10), Array(10).fill(200));
    assert.equal((await revived.stats()).requests, 0, 'an ejected server received requests');
    assert.equal((await live.stats()).requests, 20);
  });

  it('sends traffic to an ejected server again after fail_timeout', async () => {
    const live = stopLater(await startOrigin());
    const deadPort = await closedPort();
    const proxy = stopLater(await startProxy({ yaml: proxyConfig({ workers: 1,
      servers: [`127.0.0.1:${deadPort}`, live.address],
      upstream: { max_fails: 1, fail_timeout: '1s', connect_timeout: '1s' } }) }));
    assert.deepEqual(await getMany(proxy.port, 4), Array(4).fill(200));
    const revived = stopLater(await startOrigin({ port: deadPort }));
    await waitFor(async () => {
      assert.equal((await request(proxy.port, { path: '/health' })).status, 200);
      return (await revived.stats()).requests > 0;
    }, { timeoutMs: 30000, intervalMs: 100, what: 'the revived server to get requests' });
  });

  it('answers 502 when every server of the upstream is down', async () => {
    const ports = [await closedPort(), await closedPort()];
    const proxy = stopLater(await startProxy({ yaml: proxyConfig({
      servers: ports.map((p) => `127.0.0.1:${p}`), upstream: { connect_timeout: '1s' } }) }));
    const r = await request(proxy.port, { path: '/api/v1/sites' });
    assert.equal(r.status, 502);
    assert.ok(r.body.length > 0);
  });
});
