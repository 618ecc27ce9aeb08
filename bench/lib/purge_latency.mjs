// Purge propagation, measured from the client side on one host (bench/purge.sh runs it).
//   edge-redis:   PUBLISH a pattern naming one cached entry, then poll the proxy with
//                 "Cache-Control: only-if-cached" until it answers 504 (not stored): the time
//                 from sending PUBLISH to that 504. Polling adds at most one request round
//                 trip (~0.1 ms on loopback) to each sample.
//   edge-redis, proxy clock: the same PUBLISH, timed from just before it is written to the
//                 moment the proxy finished applying it (last_applied_us in the admin API's
//                 /stats, microseconds of the same wall clock on the same host).
//   edge-admin:   POST /purge?key=... to the admin API; the entry is gone when it answers.
//   varnish-purge / varnish-ban: PURGE (or BAN) request to Varnish; likewise gone on answer.
// Every sample first stores a fresh entry (two GETs) and checks it is a HIT.
// Usage: node purge_latency.mjs --edge PORT --admin PORT --redis PORT [--varnish PORT]
//        [--messages N]; prints one JSON object per method on stdout.
//        node purge_latency.mjs --edge PORT --store N: stores N entries /_test/cache/p/e<i>?org=<i % 1000>
//        (256 requests at a time) for the hits-under-purges rounds, and exits.
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({ options: {
  edge: { type: 'string' }, admin: { type: 'string' }, redis: { type: 'string' },
  varnish: { type: 'string' }, messages: { type: 'string', default: '500' }, store: { type: 'string' },
  token: { type: 'string', default: process.env.EDGE_ADMIN_TOKEN ?? '' } } });
const N = Number(opts.messages);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function req(port, method, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    r.on('error', reject);
    r.end();
  });
}

// A persistent RESP connection for PUBLISH: resolves each reply line in order.
function redisClient(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const waiting = [];
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk.toString('latin1');
    let eol;
    while ((eol = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, eol);
      buffer = buffer.slice(eol + 2);
      waiting.shift()?.(line);
    }
  });
  return {
    ready: new Promise((resolve) => socket.once('connect', resolve)),
    publish(channel, message) {
      const args = ['PUBLISH', channel, message];
      socket.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
      return new Promise((resolve) => waiting.push(resolve));
    },
    close: () => socket.destroy(),
  };
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const wallUs = () => (performance.timeOrigin + performance.now()) * 1000;

async function adminStats() {
  const res = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: Number(opts.admin), path: '/stats', agent,
      headers: { authorization: `Bearer ${opts.token}` } }, (r) => {
      const parts = [];
      r.on('data', (c) => parts.push(c));
      r.on('end', () => resolve(JSON.parse(Buffer.concat(parts).toString())));
    }).on('error', reject);
  });
  return res.invalidation;
}

// Publish -> applied, on the proxy's own clock: no polling round trip in the figure.
async function viaRedisProxyClock() {
  const redis = redisClient(Number(opts.redis));
  await redis.ready;
  const samples = [];
  let seen = (await adminStats()).messages;
  for (let i = 0; i < N; i++) {
    const t0 = wallUs();
    await redis.publish('cache_invalidation', `org:none-${i}:*`);
    let stats;
    do {
      stats = await adminStats();
    } while (stats.messages <= seen);
    seen = stats.messages;
    samples.push((stats.last_applied_us - t0) / 1000);
  }
  redis.close();
  return summary('edge-redis (PUBLISH -> applied, proxy clock)', samples);
}

async function stored(port, path, hitHeader = 'x-cache') {
  await req(port, 'GET', path);
  const res = await req(port, 'GET', path);
  if (!String(res.headers[hitHeader] ?? '').startsWith('HIT')) {
    throw new Error(`${path} on ${port} is not a hit: ${res.headers[hitHeader]}`);
  }
}

function summary(name, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { method: name, samples: sorted.length, median_ms: +at(0.5).toFixed(3),
    p99_ms: +at(0.99).toFixed(3), max_ms: +sorted[sorted.length - 1].toFixed(3) };
}

async function viaRedis() {
  const redis = redisClient(Number(opts.redis));
  await redis.ready;
  const samples = [];
  for (let i = 0; i < N; i++) {
    const path = `/_test/cache/p/r${i}`;
    await stored(Number(opts.edge), path);
    const t0 = nowMs();
    const receivers = redis.publish('cache_invalidation', `*|${path}|*`);
    for (;;) {
      const res = await req(Number(opts.edge), 'GET', path, { 'cache-control': 'only-if-cached' });
      if (res.statusCode === 504) break;
    }
    samples.push(nowMs() - t0);
    if ((await receivers) !== ':1') throw new Error('the proxy is not subscribed');
  }
  redis.close();
  return summary('edge-redis (PUBLISH -> gone)', samples);
}

async function viaRequest(name, port, path, send, hitHeader) {
  const samples = [];
  for (let i = 0; i < N; i++) {
    const target = `${path}${i}`;
    await stored(port, target, hitHeader);
    const t0 = nowMs();
    const res = await send(target);
    samples.push(nowMs() - t0);
    if (res.statusCode !== 200) throw new Error(`${name}: status ${res.statusCode}`);
  }
  return summary(name, samples);
}

async function store(port, count) {
  const many = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const get = (path) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: many }, (res) => { res.resume(); res.on('end', resolve); })
      .on('error', reject);
  });
  for (let i = 0; i < count; i += 256) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 256); j++) batch.push(get(`/_test/cache/p/e${j}?org=${j % 1000}`));
    await Promise.all(batch);
  }
  many.destroy();
}

const edge = Number(opts.edge);
if (opts.store !== undefined) {
  await store(edge, Number(opts.store));
  agent.destroy();
  process.exit(0);
}
const results = [await viaRedis(), await viaRedisProxyClock()];
results.push(await viaRequest('edge-admin (POST /purge)', edge, '/_test/cache/p/a',
  (target) => req(Number(opts.admin), 'POST',
    `/purge?key=${encodeURIComponent(`127.0.0.1:${edge}|${target}|p`)}`,
    { authorization: `Bearer ${opts.token}` })));
if (opts.varnish) {
  const v = Number(opts.varnish);
  results.push(await viaRequest('varnish (PURGE)', v, '/_test/cache/p/v',
    (target) => req(v, 'PURGE', target)));
  results.push(await viaRequest('varnish (BAN req.url)', v, '/_test/cache/p/b',
    (target) => req(v, 'BAN', target)));
}
agent.destroy();
for (const r of results) console.log(JSON.stringify(r));
