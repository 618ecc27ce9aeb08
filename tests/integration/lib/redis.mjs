// A real redis-server for the invalidation tests (loopback, a free port, nothing saved to
// disk), a tiny RESP client over net.Socket, and the proxy config and admin API helpers that
// go with them.
import net from 'node:net';
import assert from 'node:assert/strict';
import { spawnTracked, collectText, stopChild } from './processes.mjs';
import { closedPort } from './ports.mjs';
import { withTimeout, waitFor } from './wait.mjs';
import { request } from './http.mjs';
import { toYaml } from './config.mjs';
import { fetchCached, describeResponse } from './cache.mjs';

// Starts redis-server on `port` (a free one when omitted). kill() ends it at once (SIGKILL),
// restart() starts it again on the same port, empty.
export async function startRedis({ port } = {}) {
  const chosen = port ?? await closedPort();
  let child;
  const launch = async () => {
    child = spawnTracked('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning']);
    const out = collectText(child.stdout);
    // With loglevel warning nothing is printed when ready: poll with PING instead.
    await waitFor(async () => (await command(chosen, 'PING').catch(() => null)) === 'PONG',
      { timeoutMs: 60000, what: `redis-server on port ${chosen}\n${out.text}` });
  };
  await launch();
  return {
    port: chosen,
    address: `127.0.0.1:${chosen}`,
    command: (...args) => command(chosen, ...args),
    pipeline: (commands) => pipeline(chosen, commands),
    kill: () => stopChild(child, 'SIGKILL', 5000),
    stop: () => stopChild(child, 'SIGTERM', 5000),
    restart: launch,
  };
}

// One command on a fresh connection; resolves its reply (an Error object for -ERR replies).
export async function command(port, ...args) {
  return (await pipeline(port, [args]))[0];
}

// Several commands written at once on one connection (Redis runs them in order); resolves
// their replies in order.
export function pipeline(port, commands) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    const replies = [];
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseReply(buffer, 0);
        if (!parsed) break;
        replies.push(parsed.value);
        buffer = buffer.subarray(parsed.end);
      }
      if (replies.length === commands.length) {
        socket.destroy();
        resolve(replies);
      }
    });
    socket.write(Buffer.concat(commands.map(encode)));
  }), 5000, `redis ${commands.map((c) => c[0]).join(', ')}`);
}

function encode(args) {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const text = String(arg);
    parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

// {value, end} for the reply starting at `at`, or null when it is not complete yet.
function parseReply(buf, at) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, eol);
  switch (type) {
    case '+': return { value: line, end: eol + 2 };
    case '-': return { value: new Error(line), end: eol + 2 };
    case ':': return { value: Number(line), end: eol + 2 };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return null;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), end: eol + 2 + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: eol + 2 };
      const items = [];
      let end = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, end);
        if (!item) return null;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default: throw new Error(`unexpected RESP type ${type}`);
  }
}

// ---- proxy side ------------------------------------------------------------------------------

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
process.env.EDGE_ADMIN_TOKEN = ADMIN_TOKEN;

// A proxy config with the classes of `classes` under /_test/cache/<name>/, an invalidation
// section (when `invalidation` is given) and an admin listener on a free port.
export function invalidationConfig({ origin, classes, invalidation, admin = {}, workers = 2 }) {
  return toYaml({
    listen: ['127.0.0.1:0'],
    workers,
    upstreams: { app: { servers: [origin.address] } },
    route_classes: classes,
    routes: Object.keys(classes).map((name) => ({
      match: { path_prefix: `/_test/cache/${name}/` }, upstream: 'app', class: name })),
    invalidation,
    admin: { listen: '127.0.0.1:0', ...admin },
  });
}

// The admin API of a started proxy: {port, call(method, path, {body, token}), stats()}.
export async function adminOf(proxy) {
  const m = await waitFor(() => proxy.stderr.match(/admin API at http:\/\/(\S+):(\d+)/),
    { what: 'the admin listener' });
  const port = Number(m[2]);
  const call = async (method, path, { body, token = ADMIN_TOKEN, headers = {} } = {}) => {
    const res = await request(port, { method, path, body,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    const text = res.body.toString('utf8');
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { ...res, text, json };
  };
  return {
    port,
    call,
    stats: async () => (await call('GET', '/stats')).json,
  };
}

// Waits until the proxy has handled `count` messages from Redis in all.
export async function waitForMessages(admin, count) {
  await waitFor(async () => (await admin.stats()).invalidation.messages >= count,
    { what: `${count} invalidation messages` });
}

export async function waitForSubscribed(admin, what = 'the subscription') {
  return waitFor(async () => {
    const stats = await admin.stats();
    return stats.invalidation.subscribed && stats;
  }, { timeoutMs: 15000, what });
}

// Requests `path` until the proxy answers it from the cache; returns the origin's count in
// that answer (the demo origin's `n`).
export async function storeHit(port, path, headers = {}) {
  await fetchCached(port, path, { headers });
  const hit = await fetchCached(port, path, { headers });
  assert.equal(hit.xCache, 'HIT', `${path}: ${describeResponse(hit)}`);
  return hit.json.n;
}
