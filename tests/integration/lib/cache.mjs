// Helpers for the response cache tests: requests that report what the cache did, the origin's
// per-path counters, and many clients at once.
import http from 'node:http';
import { request } from './http.mjs';
import { delay } from './wait.mjs';

// Cache-Status "edge-proxy; hit; ttl=29" -> {hit: true, ttl: '29'}; null when absent.
export function cacheStatusParams(value) {
  if (value === undefined) return null;
  const [cache, ...params] = value.split(';').map((s) => s.trim());
  const out = { cache };
  for (const param of params) {
    const i = param.indexOf('=');
    if (i < 0) out[param] = true;
    else out[param.slice(0, i)] = param.slice(i + 1);
  }
  return out;
}

// One request through the proxy: {status, headers, body, xCache, cacheStatus (the raw header),
// cs (its parameters), age (number or undefined), json (the origin's JSON body, when it is
// one), lines (the JSON lines of a chunked /_test/cache/ body)}.
export async function fetchCached(port, path, { method = 'GET', headers = {}, agent = false,
  timeoutMs = 30000, onResponse, onRequest } = {}) {
  const res = await request(port, { method, path, headers, agent, timeoutMs, onResponse,
    onRequest });
  const type = res.headers['content-type'] ?? '';
  const text = res.body.toString('utf8');
  let json;
  let lines;
  if (method !== 'HEAD' && res.body.length > 0) {
    if (type.startsWith('application/json')) json = tryParse(text);
    if (type.startsWith('application/x-ndjson')) {
      lines = text.split('\n').filter(Boolean).map(tryParse);
    }
  }
  return { ...res, text, json, lines, xCache: res.headers['x-cache'],
    cacheStatus: res.headers['cache-status'], cs: cacheStatusParams(res.headers['cache-status']),
    age: res.headers.age === undefined ? undefined : Number(res.headers.age) };
}

function tryParse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// A short description of a response for assertion messages.
export function describeResponse(r) {
  return `status ${r.status}, X-Cache ${r.xCache}, Cache-Status ${r.cacheStatus}, ` +
    `Age ${r.age}, body ${r.text?.slice(0, 160)}`;
}

// How many requests for `path` the origin has seen (since its last reset).
export async function originCount(origin, path) {
  return (await origin.stats()).byPath[path] ?? 0;
}

// `count` requests at once, each on its own connection (an agent with a socket per request).
// `options(i)` gives the options of request i. Resolves the responses in order, and the time
// from the first send to the last answer.
export async function concurrently(port, count, path, options = () => ({})) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: count + 1 });
  const started = Date.now();
  try {
    const responses = await Promise.all(Array.from({ length: count }, (_, i) =>
      fetchCached(port, typeof path === 'function' ? path(i) : path, { agent, ...options(i) })
        .then((r) => ({ ...r, finishedAt: Date.now() }))));
    return { responses, elapsedMs: Date.now() - started };
  } finally {
    agent.destroy();
  }
}

// fetchCached, and a promise that resolves once the request has been sent: for a test that
// must not let the origin answer before the proxy has the request.
export function fetchSent(port, path, options = {}) {
  let sent;
  const written = new Promise((resolve) => { sent = resolve; });
  const response = fetchCached(port, path, { ...options,
    onRequest: (req) => req.once('finish', sent) });
  return { written, response };
}

// Waits until `ms` have passed since `since` (a Date.now() value): for freshness lifetimes,
// which run out with time and nothing else to observe.
export async function waitUntil(since, ms) {
  const left = since + ms - Date.now();
  if (left > 0) await delay(left);
}

// Proxy config pieces: one route per class, each on its own path prefix under /_test/cache/.
// classes: {name: routeClass}; the prefix of class NAME is /_test/cache/NAME/.
export function cacheRoutes(classes, upstream = 'app') {
  return Object.keys(classes).map((name) => ({
    match: { path_prefix: `/_test/cache/${name}/` }, upstream, class: name }));
}

// The counter lines of a histogram: {value: count}.
export function tally(values) {
  const out = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
