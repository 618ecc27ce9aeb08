// Graceful shutdown: in-flight exchanges finish, new connections are refused, idle ones close,
// and the drain timeout bounds how long the proxy waits.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startOrigin } from './lib/origin.mjs';
import { startProxy } from './lib/proxy.mjs';
import { configFor } from './lib/config.mjs';
import { RawClient, requestHead } from './lib/raw.mjs';
import { request } from './lib/http.mjs';
import { waitFor, withTimeout } from './lib/wait.mjs';

// Resolves true once a connection attempt is refused; false if it was accepted.
function refused(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

// The proxy's exit status, or a failure that shows what the proxy logged.
async function exitWithin(proxy, ms, what) {
  try {
    return await withTimeout(proxy.exited, ms, what);
  } catch (err) {
    err.message += `\nproxy stderr:\n${proxy.stderr}`;
    throw err;
  }
}

describe('graceful shutdown', { timeout: 60000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  const start = async (t, clientTimeouts) => {
    const proxy = await startProxy({ yaml: configFor(origin, { clientTimeouts }) });
    t.after(() => proxy.stop('SIGKILL'));
    return proxy;
  };

  it('finishes an in-flight request, refuses new connections and exits 0', async (t) => {
    const proxy = await start(t, { drain: '5s' });
    await origin.reset();
    let responseDoneAt;
    const inFlight = request(proxy.port, { path: '/_test/delay/1500' })
      .then((r) => { responseDoneAt = Date.now(); return r; });
    await waitFor(async () => (await origin.stats()).byPath['/_test/delay/1500'] === 1,
      { what: 'the request to reach the origin' });
    const signalledAt = Date.now();
    process.kill(proxy.pid, 'SIGTERM');

    await waitFor(() => refused(proxy.port), { timeoutMs: 1000, intervalMs: 25,
      what: 'new connections to be refused' });
    assert.equal(responseDoneAt, undefined, 'refusal was only seen after the response ended');

    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).delayed_ms, 1500);
    const exit = await exitWithin(proxy, 6000, 'proxy exit after SIGTERM');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    assert.ok(Date.now() - signalledAt < 5000 + 1000, 'exit took longer than the drain timeout');
  });

  it('closes idle keep-alive connections and exits promptly', async (t) => {
    const proxy = await start(t, { drain: '10s' });
    const client = await RawClient.open(proxy.port);
    t.after(() => client.close());
    client.send(requestHead('GET', '/health'));
    assert.equal((await client.next()).statusCode, 200);
    const signalledAt = Date.now();
    process.kill(proxy.pid, 'SIGTERM');
    const exit = await exitWithin(proxy, 10000, 'proxy exit after SIGTERM');
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - signalledAt < 3000,
      `an idle connection held shutdown for ${Date.now() - signalledAt} ms`);
    assert.notEqual(await client.waitEnd({ timeoutMs: 1000 }), 'timeout');
  });

  it('gives up on exchanges still running after the drain timeout', async (t) => {
    const proxy = await start(t, { drain: '1s' });
    const client = await RawClient.open(proxy.port);
    t.after(() => client.close());
    await origin.reset();
    client.send(requestHead('GET', '/_test/hang'));
    await waitFor(async () => (await origin.stats()).byPath['/_test/hang'] === 1,
      { what: 'the request to reach the origin' });
    const signalledAt = Date.now();
    process.kill(proxy.pid, 'SIGTERM');
    const exit = await exitWithin(proxy, 8000, 'proxy exit after the drain timeout');
    const elapsed = Date.now() - signalledAt;
    assert.equal(exit.signal, null, `the proxy died of ${exit.signal}`);
    assert.ok(elapsed >= 900 && elapsed < 4000, `exited ${elapsed} ms after SIGTERM (drain 1s)`);
    assert.notEqual(await client.waitEnd({ timeoutMs: 1000 }), 'timeout');
  });

  it('exits 0 on SIGINT', async (t) => {
    const proxy = await start(t);
    // Sent as soon as the proxy reports listening: a supervisor may stop it at any time.
    process.kill(proxy.pid, 'SIGINT');
    const exit = await exitWithin(proxy, 5000, 'proxy exit after SIGINT');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null },
      `proxy stderr:\n${proxy.stderr}`);
  });
});
