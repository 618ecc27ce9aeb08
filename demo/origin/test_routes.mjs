// Scriptable endpoints under /_test/ that integration tests use to make the origin misbehave
// in precise ways. Bodies use the deterministic pattern so tests can recompute their hashes.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { STATUS_CODES } from 'node:http';
import { sendJson, sendError, sendBody } from './respond.mjs';
import { writePattern, closeFlag, sleep } from './streams.mjs';
import { patternSlice, MAX_CHUNK } from './pattern.mjs';
import { sendUntilClose, sendWithHeaders, validHeaderPairs } from './raw_response.mjs';
import { createCacheRoutes, isCacheScriptPath } from './cache_routes.mjs';

const NO_STORE = { 'Cache-Control': 'no-store' };
const BINARY = { 'Content-Type': 'application/octet-stream', ...NO_STORE };

function intArg(url, name, fallback, max = Number.MAX_SAFE_INTEGER) {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  return /^\d{1,16}$/.test(raw) && Number(raw) <= max ? Number(raw) : NaN;
}

// Hashes the request body as it streams by; `throttle` may pause the stream between chunks.
function digestBody(req, throttle) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
      throttle?.(bodyBytes);
    });
    req.on('end', () => resolve({ bodyBytes, bodySha256: hash.digest('hex') }));
    req.on('error', reject);
  });
}

async function echo(req, res, url) {
  const body = await digestBody(req);
  const pairs = (raw) => raw.reduce((out, v, i) => (i % 2 ? out : [...out, [v, raw[i + 1]]]), []);
  sendJson(req, res, 200, { method: req.method, url: req.url, httpVersion: req.httpVersion,
    headers: pairs(req.rawHeaders), trailers: pairs(req.rawTrailers), ...body }, NO_STORE);
}

async function consumeSlowly(req, res, url) {
  const rate = intArg(url, 'bytes_per_sec', 1 << 20);
  if (!(rate > 0)) return sendError(req, res, 400, 'bad_request', 'bytes_per_sec must be > 0');
  const started = Date.now();
  // Pausing the request makes node stop reading the socket, so TCP pushes back on the sender.
  const body = await digestBody(req, (bytes) => {
    const wait = started + (bytes * 1000) / rate - Date.now();
    if (wait > 5) {
      req.pause();
      setTimeout(() => req.resume(), wait);
    }
  });
  sendJson(req, res, 200, { ...body, elapsed_ms: Date.now() - started }, NO_STORE);
}

function status(req, res, url, codeText) {
  const code = Number(codeText);
  if (!/^\d{3}$/.test(codeText) || code < 200 || code > 599) {
    return sendError(req, res, 400, 'bad_request', 'status must be 200..599');
  }
  req.resume();
  if (code === 204 || code === 304) {
    res.writeHead(code, NO_STORE);
    return res.end();
  }
  sendBody(req, res, code, `${code} ${STATUS_CODES[code] ?? 'Unknown'}\n`,
    { 'Content-Type': 'text/plain; charset=utf-8', ...NO_STORE });
}

function delay(req, res, url, msText) {
  const ms = Number(msText);
  if (!/^\d{1,7}$/.test(msText)) return sendError(req, res, 400, 'bad_request', 'bad delay');
  req.resume();
  const timer = setTimeout(() => sendJson(req, res, 200, { delayed_ms: ms }, NO_STORE), ms);
  res.once('close', () => clearTimeout(timer));
}

async function bytes(req, res, url, countText) {
  const total = Number(countText);
  const chunk = intArg(url, 'chunk', 65536, MAX_CHUNK);
  if (!/^\d{1,13}$/.test(countText) || !(chunk > 0)) {
    return sendError(req, res, 400, 'bad_request', 'bad byte count or chunk size');
  }
  req.resume();
  const chunked = url.searchParams.get('chunked') === '1';
  // type=json labels the same bytes as JSON, which proxies consider worth compressing.
  const head = url.searchParams.get('type') === 'json'
    ? { ...BINARY, 'Content-Type': 'application/json' } : BINARY;
  res.writeHead(200, chunked ? head : { ...head, 'Content-Length': total });
  if (req.method !== 'HEAD') await writePattern(res, total, chunk);
  res.end();
}

// hold=<gate>: after the first chunk, the rest waits until the gate opens (see cache_routes.mjs),
// so a test can see the first bytes arrive while the origin provably has not finished.
async function slowBody(req, res, url, passGate) {
  const chunks = intArg(url, 'chunks', 5);
  const interval = intArg(url, 'interval', 200, 600000);
  const size = intArg(url, 'size', 1024, MAX_CHUNK);
  if (![chunks, interval, size].every(Number.isFinite)) {
    return sendError(req, res, 400, 'bad_request', 'bad chunks, interval or size');
  }
  req.resume();
  const gone = closeFlag(res);
  res.writeHead(200, BINARY);
  res.flushHeaders();
  const hold = url.searchParams.get('hold');
  for (let i = 0; i < chunks; i++) {
    await sleep(interval);
    if (i === 1 && hold !== null) await passGate(hold);
    if (gone.closed) return;
    res.write(patternSlice(i * size, size));
  }
  res.end();
}

async function closeMidBody(req, res, url) {
  const half = intArg(url, 'bytes', 1024);
  if (!Number.isFinite(half)) return sendError(req, res, 400, 'bad_request', 'bad bytes');
  req.resume();
  const type = url.searchParams.get('type') === 'json' ? 'application/json' : BINARY['Content-Type'];
  res.writeHead(200, { ...BINARY, 'Content-Type': type, 'Content-Length': 2 * half });
  if (await writePattern(res, half)) res.socket?.destroy();
}

function hang(req, res) {
  // Never answers; the request stays open until the peer closes the connection.
  req.resume();
}

// Answers on a fresh connection, but drops a kept-alive one that is reused for this path
// without a byte of response: what a server closing an idle connection looks like to a
// client that reused it at that moment.
const servedOn = new WeakMap();
function closeOnReuse(req, res) {
  if (servedOn.get(req.socket)) {
    req.socket.destroy();
    return;
  }
  sendJson(req, res, 200, { fresh: true }, NO_STORE);
}

// A JSON body the origin itself gzips (Content-Encoding: gzip whatever the client accepts),
// for proxies that must decode it for clients that do not take gzip.
function gzipJson(req, res, url) {
  const items = intArg(url, 'items', 200, 100000);
  if (!Number.isFinite(items)) return sendError(req, res, 400, 'bad_request', 'bad items');
  const body = JSON.stringify({ data: Array.from({ length: items }, (_, i) => (
    { id: i, title: `Work order ${i}`, status: ['open', 'done'][i % 2] })) });
  const gz = gzipSync(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip',
    'Content-Length': gz.length, 'X-Identity-Sha256': createHash('sha256').update(body).digest('hex'),
    ...NO_STORE });
  res.end(req.method === 'HEAD' ? undefined : gz);
}

function untilClose(req, res, url) {
  const count = intArg(url, 'bytes', 1024);
  if (!Number.isFinite(count)) return sendError(req, res, 400, 'bad_request', 'bad bytes');
  return sendUntilClose(req, res, count, intArg(url, 'chunk', 65536, MAX_CHUNK));
}

function headers(req, res, url) {
  const pairs = [...url.searchParams];
  if (!validHeaderPairs(pairs)) {
    return sendError(req, res, 400, 'bad_request', 'header names must be tokens, values one line');
  }
  return sendWithHeaders(req, res, pairs);
}

const ROUTES = [
  [/^\/_test\/echo$/, echo],
  [/^\/_test\/status\/([^/]+)$/, status],
  [/^\/_test\/delay\/([^/]+)$/, delay],
  [/^\/_test\/bytes\/([^/]+)$/, bytes],
  [/^\/_test\/slow-body$/, slowBody],
  [/^\/_test\/close-mid-body$/, closeMidBody],
  [/^\/_test\/until-close$/, untilClose],
  [/^\/_test\/hang$/, hang],
  [/^\/_test\/close-on-reuse$/, closeOnReuse],
  [/^\/_test\/gzip-json$/, gzipJson],
  [/^\/_test\/headers$/, headers],
  [/^\/_test\/consume-slowly$/, consumeSlowly],
];

export function createTestRoutes(stats) {
  const cache = createCacheRoutes();
  return function handle(req, res, url) {
    res.on('finish', () => servedOn.set(req.socket, true));
    if (url.pathname === '/_test/stats' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendJson(req, res, 200, stats.snapshot(), NO_STORE);
    }
    if (url.pathname === '/_test/reset' && req.method === 'POST') {
      req.resume();
      stats.reset();
      cache.reset();
      return sendJson(req, res, 200, { reset: true }, NO_STORE);
    }
    if (cache.matches(url.pathname)) return cache.handle(req, res, url);
    for (const [re, fn] of ROUTES) {
      const m = url.pathname.match(re);
      if (m && fn === slowBody) return slowBody(req, res, url, cache.passGate);
      if (m) return fn(req, res, url, ...m.slice(1));
    }
    return sendError(req, res, 404, 'not_found', `no test endpoint ${url.pathname}`);
  };
}

export const isControlPath = (path) => path === '/_test/stats' || path === '/_test/reset' ||
  isCacheScriptPath(path);
