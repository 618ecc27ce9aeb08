// Cacheable responses scripted by the request, for the proxy's cache tests:
//
//   GET | HEAD | POST | PUT | PATCH | DELETE /_test/cache/<anything>?<parameters>
//     cc=<Cache-Control>  etag=<tag>  lm=<Last-Modified>  expires=<date, or +N / -N seconds>
//     age=<Age>  vary=<Vary>  set_cookie=1  status=<200..599>  delay=<ms before the head>
//     chunks=<N lines, chunked>  interval=<ms between lines>  size=<bytes>
//     abort_after=<N: with chunks, drop the connection after N lines>
//     surrogate=<Surrogate-Key>  cache_tag=<Cache-Tag>  location=<path>  content_location=<path>
//     pad=noise (pad with letters that compress poorly, the same for the same path)
//     hold=<gate> (after counting the request, answer only once the gate is opened)
//     date=omit (no Date header: a cache then dates the response to the millisecond, instead
//       of a whole-second Date that makes it up to a second old on arrival)
//     date_value=<HTTP date> (this Date instead of now)  request_id=<X-Request-Id to answer with>
//
// Every request for a path counts (n, also sent as X-Origin-Count), so a test can tell an
// answer the origin made from one a cache kept. GET/HEAD 200s with a matching If-None-Match
// or If-Modified-Since get a 304 carrying the same validators and freshness headers.
//
// The body is one JSON object: {path, query, method, n, status, org (x-org-id), auth and
// cookie (whether the request had them), inm / ims (its validators), varied (the request's
// values of the headers named in vary), pad}, padded to `size` bytes. With chunks=N it is N
// JSON lines instead, sent `interval` ms apart, each {path, n, chunk, of, at (ms since the
// epoch when the line was written), last, pad} padded to `size` bytes.
//
// PUT /_test/cache-script/<anything>?<parameters> makes those parameters apply to every later
// request for /_test/cache/<anything>, over its own query; so one URL (one cache key) can turn
// stale, fail or change validators mid-test. DELETE forgets them.
//
// POST /_test/cache-gate/<gate> opens a gate: requests held on it are answered, and later ones
// pass at once. Holding a request until the test says so replaces a delay= raced against a
// clock: a slow machine cannot end the wait early. Gates stay open until /_test/reset. These
// control requests are not counted in the stats.
import { STATUS_CODES } from 'node:http';
import { sendJson, sendError, notModified, JSON_TYPE } from './respond.mjs';
import { closeFlag, sleep } from './streams.mjs';

const PREFIX = '/_test/cache/';
const SCRIPT_PREFIX = '/_test/cache-script/';
const GATE_PREFIX = '/_test/cache-gate/';
const MAX_SIZE = 64 << 20;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export const isCacheScriptPath = (path) => path.startsWith(SCRIPT_PREFIX) ||
  path.startsWith(GATE_PREFIX);

function intParam(params, name, fallback, max) {
  const raw = params.get(name);
  if (raw === null) return fallback;
  return /^\d{1,9}$/.test(raw) && Number(raw) <= max ? Number(raw) : NaN;
}

// `+N` / `-N`: N seconds from now; anything else is sent as given.
function dateParam(value) {
  if (value === null) return undefined;
  const m = value.match(/^([+-])(\d{1,9})$/);
  if (!m) return value;
  const offset = Number(m[2]) * 1000 * (m[1] === '-' ? -1 : 1);
  return new Date(Date.now() + offset).toUTCString();
}

function quoteEtag(tag) {
  if (tag === null) return undefined;
  return /^(W\/)?".*"$/.test(tag) ? tag : `"${tag}"`;
}

const NOISE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// `length` letters from a generator seeded by `seed`: about 6 bits of entropy per byte, so
// gzip and Brotli shrink them to roughly three quarters, and the same seed gives the same text.
function noise(seed, length) {
  let state = 2166136261;
  for (const c of seed) state = Math.imul(state ^ c.charCodeAt(0), 16777619) >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out += NOISE_ALPHABET[(state >>> 24) % NOISE_ALPHABET.length];
  }
  return out;
}

// Pads a JSON object (whose last field is pad: '') so its text is `size` bytes when it can be.
function padded(fields, size, noiseSeed) {
  const text = JSON.stringify({ ...fields, pad: '' });
  const missing = size - Buffer.byteLength(text);
  if (missing <= 0) return text;
  const pad = noiseSeed === undefined ? 'x'.repeat(missing) : noise(noiseSeed, missing);
  return JSON.stringify({ ...fields, pad });
}

function parse(url, overrides) {
  const params = new URLSearchParams(url.search);
  for (const [name, value] of overrides ?? []) params.set(name, value);
  const status = intParam(params, 'status', 200, 599);
  const options = {
    status,
    delay: intParam(params, 'delay', 0, 600000),
    chunks: intParam(params, 'chunks', 0, 100000),
    interval: intParam(params, 'interval', 100, 600000),
    size: intParam(params, 'size', 0, MAX_SIZE),
    abortAfter: intParam(params, 'abort_after', Infinity, 100000),
    setCookie: params.get('set_cookie') === '1',
    noisy: params.get('pad') === 'noise',
    vary: params.get('vary'),
    hold: params.get('hold'),
    omitDate: params.get('date') === 'omit',
    headers: {
      'Cache-Control': params.get('cc') ?? undefined,
      ETag: quoteEtag(params.get('etag')),
      'Last-Modified': dateParam(params.get('lm')),
      Expires: dateParam(params.get('expires')),
      Age: params.get('age') ?? undefined,
      Vary: params.get('vary') ?? undefined,
      'Surrogate-Key': params.get('surrogate') ?? undefined,
      'Cache-Tag': params.get('cache_tag') ?? undefined,
      Location: params.get('location') ?? undefined,
      'Content-Location': params.get('content_location') ?? undefined,
      'X-Request-Id': params.get('request_id') ?? undefined,
      Date: params.get('date_value') ?? undefined,
    },
  };
  const numbers = [options.delay, options.chunks, options.interval, options.size];
  if (!numbers.every(Number.isFinite) || Number.isNaN(options.abortAfter)) return null;
  if (!(status >= 200) || status === 304) return null;
  return options;
}

function setHeaders(res, headers) {
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) res.setHeader(name, value);
  }
}

export function createCacheRoutes() {
  let counts = new Map();
  const scripts = new Map();
  let gates = new Map();  // name -> {open, waiters: [resolve]}

  function gate(name) {
    if (!gates.has(name)) gates.set(name, { open: false, waiters: [] });
    return gates.get(name);
  }

  function passGate(name) {
    const g = gate(name);
    return g.open ? undefined : new Promise((resolve) => g.waiters.push(resolve));
  }

  function openGate(req, res, url) {
    req.resume();
    if (req.method !== 'POST') {
      return sendError(req, res, 405, 'method_not_allowed', `${req.method} not allowed`,
        { Allow: 'POST' });
    }
    const name = url.pathname.slice(GATE_PREFIX.length);
    const g = gate(name);
    const released = g.waiters.length;
    g.open = true;
    for (const resolve of g.waiters.splice(0)) resolve();
    return sendJson(req, res, 200, { gate: name, released }, { 'Cache-Control': 'no-store' });
  }

  function script(req, res, url) {
    req.resume();
    const path = PREFIX + url.pathname.slice(SCRIPT_PREFIX.length);
    if (req.method === 'PUT') {
      const overrides = [...url.searchParams];
      if (!parse(new URL('http://origin.invalid/'), overrides)) {
        return sendError(req, res, 400, 'bad_request', 'bad cache parameters');
      }
      scripts.set(path, overrides);
      return sendJson(req, res, 200, { path, overrides: Object.fromEntries(overrides) },
        { 'Cache-Control': 'no-store' });
    }
    if (req.method === 'DELETE') {
      scripts.delete(path);
      return sendJson(req, res, 200, { path, overrides: {} }, { 'Cache-Control': 'no-store' });
    }
    return sendError(req, res, 405, 'method_not_allowed', `${req.method} not allowed`,
      { Allow: 'PUT, DELETE' });
  }

  async function serve(req, res, url) {
    if (!METHODS.includes(req.method)) {
      req.resume();
      return sendError(req, res, 405, 'method_not_allowed', `${req.method} not allowed`,
        { Allow: METHODS.join(', ') });
    }
    const options = parse(url, scripts.get(url.pathname));
    if (!options) {
      req.resume();
      return sendError(req, res, 400, 'bad_request',
        'status must be 200..599 but not 304; delay, chunks, interval, size must be numbers');
    }
    const n = (counts.get(url.pathname) ?? 0) + 1;
    counts.set(url.pathname, n);
    // A request body is read and dropped before answering.
    await new Promise((resolve) => {
      if (req.complete) return resolve();
      req.on('end', resolve);
      req.on('close', resolve);
      req.resume();
    });
    const gone = closeFlag(res);
    if (options.hold !== null) await passGate(options.hold);
    if (options.delay > 0) await sleep(options.delay);
    if (gone.closed) return;

    if (options.omitDate) res.sendDate = false;
    setHeaders(res, options.headers);
    res.setHeader('X-Origin-Count', n);
    if (options.setCookie) res.setHeader('Set-Cookie', `sid=s${n}; Path=/`);
    const { status } = options;
    const conditional = (req.method === 'GET' || req.method === 'HEAD') && status === 200;
    if (conditional && notModified(req, options.headers.ETag, options.headers['Last-Modified'])) {
      res.writeHead(304);
      return res.end();
    }
    res.setHeader('Content-Type', options.chunks > 0 ? 'application/x-ndjson' : JSON_TYPE);
    if (status === 204) {
      res.writeHead(204);
      return res.end();
    }
    if (options.chunks > 0) return stream(req, res, url, n, options, gone);

    const varied = {};
    for (const name of (options.vary ?? '').split(',').map((s) => s.trim().toLowerCase())) {
      if (name && name !== '*') varied[name] = req.headers[name] ?? null;
    }
    const body = Buffer.from(padded({
      path: url.pathname,
      query: url.search,
      method: req.method,
      n,
      status,
      org: req.headers['x-org-id'] ?? null,
      auth: req.headers.authorization !== undefined,
      cookie: req.headers.cookie !== undefined,
      inm: req.headers['if-none-match'] ?? null,
      ims: req.headers['if-modified-since'] ?? null,
      varied,
    }, options.size, options.noisy ? url.pathname : undefined));
    res.setHeader('Content-Length', body.length);
    res.writeHead(status, STATUS_CODES[status] ?? 'Unknown');
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function stream(req, res, url, n, { status, chunks, interval, size, abortAfter }, gone) {
    res.writeHead(status, STATUS_CODES[status] ?? 'Unknown');
    res.flushHeaders();
    if (req.method === 'HEAD') return res.end();
    for (let i = 0; i < chunks; i++) {
      if (i > 0) await sleep(interval);
      if (gone.closed) return;
      if (i >= abortAfter) {
        res.socket?.destroy();  // no last-chunk: the body is visibly cut short
        return;
      }
      const last = i === chunks - 1;
      res.write(padded({ path: url.pathname, n, chunk: i, of: chunks, at: Date.now(), last },
        size - 1) + '\n');
    }
    res.end();
  }

  return {
    // Resolves once the gate is open (undefined when it already is); for other test routes.
    passGate,
    handle(req, res, url) {
      if (url.pathname.startsWith(SCRIPT_PREFIX)) return script(req, res, url);
      if (url.pathname.startsWith(GATE_PREFIX)) return openGate(req, res, url);
      return serve(req, res, url);
    },
    matches: (path) => path.startsWith(PREFIX) || path.startsWith(SCRIPT_PREFIX) ||
      path.startsWith(GATE_PREFIX),
    reset() {
      counts = new Map();
      scripts.clear();
      for (const g of gates.values()) for (const resolve of g.waiters.splice(0)) resolve();
      gates = new Map();
    },
  };
}
