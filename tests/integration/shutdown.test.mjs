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

// Drain timeouts far longer than any step of a test: an exit well before one proves the proxy
// did not wait it out, without a bound on how long a loaded machine takes to exit.
const LONG_DRAIN = '120s';
const EXIT_WAIT_MS = 60000;

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

describe('graceful shutdown', { timeout: 240000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  const start = async (t, clientTimeouts) => {
    const proxy = await startProxy({ yaml: configFor(origin, { clientTimeouts }) });
    t.after(() => proxy.stop('SIGKILL'));
    return proxy;
  };

  it('finishes an in-flight request, refuses new connections and exits 0', async (t) => {
    const proxy = await start(t, { drain: LONG_DRAIN });
    await origin.reset();
    // The origin holds the answer until the test has seen new connections refused.
    const path = '/_test/cache/shutdown-in-flight';
    let responseDone = false;
    const inFlight = request(proxy.port, { path: `${path}?cc=no-store&hold=in-flight` })
      .then((r) => { responseDone = true; return r; });
    t.after(() => origin.openGate('in-flight'));
    await waitFor(async () => (await origin.stats()).byPath[path] === 1,
      { what: 'the request to reach the origin' });
    process.kill(proxy.pid, 'SIGTERM');

    await waitFor(() => refused(proxy.port), { timeoutMs: 30000, intervalMs: 25,
      what: 'new connections to be refused' });
    assert.equal(responseDone, false, 'the held response ended before the refusal');
    await origin.openGate('in-flight');

    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).path, path);
    const exit = await exitWithin(proxy, EXIT_WAIT_MS, 'proxy exit after the last response');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
  });

  it('closes idle keep-alive connections and exits promptly', async (t) => {
    const proxy = await start(t, { drain: LONG_DRAIN });
    const client = await RawClient.open(proxy.port);
    t.after(() => client.close());
    client.send(requestHead('GET', '/health'));
    assert.equal((await client.next()).statusCode, 200);
    process.kill(proxy.pid, 'SIGTERM');
    // Held by the idle connection, the proxy would wait out the 120 s drain.
    const exit = await exitWithin(proxy, EXIT_WAIT_MS, 'proxy exit with an idle connection open');
    assert.equal(exit.code, 0);
    assert.notEqual(await client.waitEnd({ timeoutMs: 30000 }), 'timeout');
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
    // The origin never answers: only the drain timeout can end this exchange.
    const exit = await exitWithin(proxy, EXIT_WAIT_MS, 'proxy exit after the drain timeout');
    const elapsed = Date.now() - signalledAt;
    assert.equal(exit.signal, null, `the proxy died of ${exit.signal}`);
    assert.ok(elapsed >= 900, `exited ${elapsed} ms after SIGTERM, before the 1 s drain`);
    assert.notEqual(await client.waitEnd({ timeoutMs: 30000 }), 'timeout');
  });

  it('exits 0 on SIGINT', async (t) => {
    const proxy = await start(t);
    // Sent as soon as the proxy reports listening: a supervisor may stop it at any time.
    process.kill(proxy.pid, 'SIGINT');
    const exit = await exitWithin(proxy, EXIT_WAIT_MS, 'proxy exit after SIGINT');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null },
      `proxy stderr:\n${proxy.stderr}`);
  });
});
