// Helpers for the Upgrade / WebSocket tests: Debian's node-ws (WebSocket, WebSocketServer),
// WebSocket echo servers over plain HTTP or TLS (startWsEcho), a raw TCP upstream that answers
// Upgrade requests with a 101 and then echoes or hands the tunnel to the test
// (startRawUpstream), and raw client sockets that send an Upgrade request and read the bytes
// after the answer's head (rawUpgrade, openRaw).
import { createRequire } from 'node:module';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import nodeTls from 'node:tls';
import fs from 'node:fs';
import { waitFor } from './wait.mjs';
import { createHash } from 'node:crypto';
import { patternChunks } from './pattern.mjs';

const require = createRequire('/usr/share/nodejs/ws/');
export const WebSocket = require('ws');
export const { WebSocketServer } = WebSocket;

// ---- byte collection ------------------------------------------------------------------------

// Collects what a socket receives and lets tests wait for it: data (a Buffer, growing), ended
// (the peer's end of stream), closed, error (a reset or other failure).
export class Collector {
  constructor(socket) {
    this.socket = socket;
    this.chunks = [];
    this.length = 0;
    this.ended = false;
    this.closed = false;
    this.error = null;
    this.waiters = new Set();
    socket.on('data', (d) => { this.chunks.push(d); this.length += d.length; this.wake(); });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', (err) => { this.error = err; this.wake(); });
  }

  get data() {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  // Resolves once check() is truthy (its value); rejects after timeoutMs with `what`.
  until(check, { timeoutMs = 30000, what = 'condition' } = {}) {
    return new Promise((resolve, reject) => {
      const test = () => {
        let value;
        try {
          value = check();
        } catch (err) {
          finish();
          reject(err);
          return;
        }
        if (value) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ` +
          `${this.length} bytes (${JSON.stringify(this.data.toString('latin1').slice(-200))}),` +
          ` ended=${this.ended} closed=${this.closed} error=${this.error?.code ?? null}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(test);
      };
      this.waiters.add(test);
      test();
    });
  }

  // Waits until `text` (a string or Buffer) has arrived, starting at byte `from`.
  waitFor(text, { from = 0, timeoutMs } = {}) {
    const needle = Buffer.from(text);
    return this.until(() => this.data.indexOf(needle, from) >= 0,
      { timeoutMs, what: JSON.stringify(String(text).slice(0, 80)) });
  }

  waitLength(n, options = {}) {
    return this.until(() => this.length >= n, { what: `${n} bytes`, ...options });
  }

  waitEnd(options = {}) {
    return this.until(() => this.ended || this.closed, { what: 'the end of stream', ...options });
  }

  waitClosed(options = {}) {
    return this.until(() => this.closed, { what: 'the socket to close', ...options });
  }
}

// ---- raw client sockets ---------------------------------------------------------------------

// A client TCP socket (allowHalfOpen, so it can still write after the proxy's end of stream)
// with a Collector; with `tls` (options for tls.connect: ca, servername...) it speaks TLS.
export function openRaw(port, { host = '127.0.0.1', tls } = {}) {
  return new Promise((resolve, reject) => {
    const socket = tls ? nodeTls.connect({ port, host, allowHalfOpen: true, ...tls })
      : net.connect({ port, host, allowHalfOpen: true });
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      resolve({ socket, rx: new Collector(socket) });
    });
    socket.once('error', reject);
  });
}

// A WebSocket-style Upgrade request head (the key is not checked by the raw upstream).
export function upgradeHead(path, { host = 'localhost', protocol = 'websocket',
  connection = 'Upgrade', extra = [] } = {}) {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, `Connection: ${connection}`,
    `Upgrade: ${protocol}`, 'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...extra.map(([n, v]) => `${n}: ${v}`)];
  return lines.join('\r\n') + '\r\n\r\n';
}

// Parses a response head at the start of `data`: {status, reason, headers (lower-case name ->
// array of values), headLength} or null while incomplete.
export function parseHead(data) {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = lines[0].match(/^HTTP\/1\.[01] (\d{3}) ?(.*)$/);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(i + 1).trim());
  }
  return { status: Number(m[1]), reason: m[2], headers, headLength: end + 4 };
}

// Opens a raw socket to the proxy (over TLS with `tls`, as openRaw), writes `head` (and `early`
// bytes in the same write) and waits for the response head. Resolves {socket, rx, status,
// headers, headLength, after(), waitAfter(text)} where after() is what came after the head so
// far.
export async function rawUpgrade(port, head, { early, tls, timeoutMs = 30000 } = {}) {
  const { socket, rx } = await openRaw(port, { tls });
  socket.write(early === undefined ? head : Buffer.concat([Buffer.from(head), Buffer.from(early)]));
  const parsed = await rx.until(() => {
    const h = parseHead(rx.data);
    if (!h && (rx.ended || rx.closed)) {
      throw new Error(`the connection ended before a response head: ${rx.data.toString('latin1')}`);
    }
    return h;
  }, { timeoutMs, what: 'a response head' });
  return {
    socket,
    rx,
    ...parsed,
    after: () => rx.data.subarray(parsed.headLength),
    // Waits for `text` to arrive after the head.
    waitAfter: (text, options) => rx.waitFor(text, { from: parsed.headLength, ...options }),
  };
}

// ---- raw upstream ---------------------------------------------------------------------------

function parseRequestHead(text) {
  const lines = text.split('\r\n');
  const [method, target, version] = lines[0].split(' ');
  const headers = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  const get = (name) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return { method, target, version, headers, get, text };
}

// A TCP upstream speaking just enough HTTP/1.1 for the proxy (request heads, Content-Length
// bodies, keep-alive). For every request `respond(req, conn)` (req: {method, target, headers
// as [name, value] pairs, get(lowerName) -> values}) returns what to do:
//   {status: 101, headers?, gate?, echo?, after?, end?}
//                                    switch: a 101 (once `gate`, a promise, resolves) and the
//                                    bytes `after` in the same write (then an end of stream
//                                    with `end`), then a tunnel (see below); bytes behind the
//                                    request head are its first; `echo` overrides the option
//   {status, headers?, body?}        a normal response with Content-Length
// The default: 101 for a request with an Upgrade header, else 200 with a JSON body
// {path, n} (n: how often this upstream saw the path) and Cache-Control: max-age=60.
// Tunnels (in `tunnels`, in order) echo what they receive and end when the proxy ends, unless
// `echo` is false: then the test drives tunnel.socket and reads tunnel.rx (a Collector).
// The server allows half-open connections, so a tunnel can still send after the proxy's end.
// With `tls: {cert, key}` (PEM file paths) it speaks TLS.
export async function startRawUpstream({ respond, echo = true, tls: tlsFiles } = {}) {
  const requests = [];
  const tunnels = [];
  const byPath = new Map();
  const sockets = new Set();
  const defaultRespond = (req) => {
    if (req.get('upgrade').length > 0) return { status: 101 };
    const n = (byPath.get(req.target) ?? 0);
    return { status: 200, headers: [['Content-Type', 'application/json'],
      ['Cache-Control', 'max-age=60']], body: JSON.stringify({ path: req.target, n }) };
  };
  const onConnection = (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let busy = false;  // waiting on a gate
    let tunnelled = false;
    const pump = async () => {
      while (!busy && !tunnelled) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const req = parseRequestHead(buffer.subarray(0, end).toString('latin1'));
        const length = Number(req.get('content-length')[0] ?? 0);
        if (buffer.length < end + 4 + length) return;
        req.body = buffer.subarray(end + 4, end + 4 + length);
        buffer = buffer.subarray(end + 4 + length);
        requests.push(req);
        byPath.set(req.target, (byPath.get(req.target) ?? 0) + 1);
        const answer = (respond ?? defaultRespond)(req, socket) ?? defaultRespond(req);
        if (answer.status === 101) {
          tunnelled = true;
          if (answer.gate) {
            busy = true;
            await answer.gate;
            busy = false;
          }
          const headers = answer.headers ?? [['Connection', 'Upgrade'],
            ['Upgrade', req.get('upgrade')[0] ?? 'websocket']];
          socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\n` +
            headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n'),
          Buffer.from(answer.after ?? '')]));
          if (answer.end) socket.end();
          startTunnel(socket, req, buffer, answer.echo ?? echo);
          buffer = null;
          return;
        }
        const body = Buffer.from(answer.body ?? '');
        const headers = answer.headers ?? [['Content-Type', 'text/plain']];
        socket.write(`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? 'X'}\r\n` +
          headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') +
          `Content-Length: ${body.length}\r\n\r\n`);
        socket.write(body);
      }
    };
    const onData = (d) => {
      if (tunnelled && buffer === null) return;  // the tunnel's own listeners take it
      buffer = Buffer.concat([buffer, d]);
      pump().catch((err) => socket.destroy(err));
    };
    socket.on('data', onData);
    socket.on('end', () => { if (!tunnelled) socket.end(); });
  };
  const server = tlsFiles
    ? nodeTls.createServer({ cert: fs.readFileSync(tlsFiles.cert),
      key: fs.readFileSync(tlsFiles.key), allowHalfOpen: true }, onConnection)
    : net.createServer({ allowHalfOpen: true }, onConnection);
  const startTunnel = (socket, req, rest, echoing) => {
    // A Collector of its own that starts with the bytes that came behind the request head.
    const rx = new Collector(socket);
    if (rest.length > 0) {
      rx.chunks.push(rest);
      rx.length += rest.length;
    }
    const tunnel = { req, socket, rx, early: Buffer.from(rest) };
    if (echoing) {
      if (rest.length > 0) socket.write(rest);
      socket.on('data', (d) => socket.write(d));
      socket.on('end', () => socket.end());
    }
    tunnels.push(tunnel);
  };
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address();
  return {
    port,
    address: `127.0.0.1:${port}`,
    requests,
    tunnels,
    count: (path) => byPath.get(path) ?? 0,
    // Resolves the n-th tunnel (0-based) once it exists.
    tunnel: (n, { timeoutMs = 30000 } = {}) => waitFor(() => tunnels[n],
      { timeoutMs, what: `upstream tunnel #${n}` }),
    connections: () => sockets.size,
    stop: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

// ---- WebSocket echo servers -----------------------------------------------------------------

// A WebSocket server that echoes every message back as it came (text as text, binary as
// binary), over plain HTTP or, with `tls: {cert, key}` (PEM file paths), HTTPS. Paths ending in
//   /close?code=C&reason=R     the server closes with C / R after echoing the first message
//   /push?bytes=N&size=S       the server sends N bytes of the body pattern (lib/pattern.mjs)
//                              as binary messages of about S bytes, each once ws has less than
//                              4 MB queued (as fast as the connection takes them); `pushes`
//                              shows them (see pushPattern)
//   /sink                      the server pauses reading at once (`sinks` has {ws, received,
//                              hash (sha256 of the messages)}; the test calls ws.resume())
// A plain HTTP request (no Upgrade) gets 200 with JSON {path, upgrades} and max-age=60.
// Counts: upgrades (handshakes), open (connections open now), httpRequests; `closes` records
// {path, url, code, reason} of every closed connection, `handshakes` the requests' {url, headers}.
export async function startWsEcho({ tls } = {}) {
  const stats = { upgrades: 0, open: 0, httpRequests: 0 };
  const closes = [];
  const handshakes = [];
  const pushes = [];
  const sinks = [];
  const onRequest = (req, res) => {
    stats.httpRequests++;
    req.resume();
    const body = JSON.stringify({ path: req.url, upgrades: stats.upgrades });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60',
      'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = tls
    ? https.createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) },
      onRequest)
    : http.createServer(onRequest);
  const sockets = new Set();
  server.on(tls ? 'secureConnection' : 'connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server, maxPayload: 256 << 20, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    stats.upgrades++;
    stats.open++;
    handshakes.push({ url: req.url, headers: req.headers });
    const url = new URL(req.url, 'http://x');
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      stats.open--;
      closes.push({ path: url.pathname, url: req.url, code, reason: reason.toString() });
    });
    if (url.pathname.endsWith('/push')) {
      pushes.push(pushPattern(ws, Number(url.searchParams.get('bytes')),
        Number(url.searchParams.get('size') ?? 1 << 20)));
      return;
    }
    if (url.pathname.endsWith('/sink')) {
      ws.pause();  // until the test resumes it
      const sink = { ws, received: 0, hash: createHash('sha256') };
      sinks.push(sink);
      ws.on('message', (data) => {
        sink.received += data.length;
        sink.hash.update(data);
      });
      return;
    }
    let echoed = 0;
    ws.on('message', (data, isBinary) => {
      ws.send(data, { binary: isBinary });
      echoed++;
      if (url.pathname.endsWith('/close') && echoed === 1) {
        ws.close(Number(url.searchParams.get('code') ?? 1000),
          url.searchParams.get('reason') ?? '');
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address();
  return {
    port,
    address: `127.0.0.1:${port}`,
    stats,
    closes,
    handshakes,
    pushes,
    sinks,
    // The server side of the connections, newest last.
    clients: () => [...wss.clients],
    stop: () => new Promise((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

// Sends `total` bytes of the body pattern (lib/pattern.mjs) on `ws` as binary messages of
// about `size` bytes, each once ws has less than 4 MB queued: as fast as the connection takes
// them, with memory bounded. Returns {sent, total, waiting (for the socket to drain), done}.
export function pushPattern(ws, total, size = 1 << 20) {
  const push = { sent: 0, total, waiting: false, done: false };
  (async () => {
    for (const chunk of patternChunks(total, size)) {
      while (ws.bufferedAmount >= 4 << 20) {
        push.waiting = true;
        await new Promise((resolve) => ws._socket.once('drain', resolve));
        push.waiting = false;
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(chunk, { binary: true });
      push.sent += chunk.length;
    }
    push.done = true;
  })().catch(() => {});
  return push;
}

// Opens a WebSocket client and waits for it to open (rejects on an error or an HTTP answer
// other than 101, with the status in the message). options go to ws (ca, maxPayload...).
export function openWs(url, options = {}, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 << 20,
      handshakeTimeout: timeoutMs, ...options });
    const fail = (err) => { ws.terminate(); reject(err); };
    ws.once('open', () => { ws.off('error', fail); resolve(ws); });
    ws.once('unexpected-response', (req, res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const err = new Error(`${url}: HTTP ${res.statusCode} ` +
          Buffer.concat(parts).toString('utf8'));
        err.status = res.statusCode;
        err.body = Buffer.concat(parts).toString('utf8');
        ws.terminate();
        reject(err);
      });
    });
    ws.once('error', fail);
  });
}

// The next message on `ws`: {data (Buffer), isBinary}.
export function nextMessage(ws, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error('no message')); }, timeoutMs);
    const onMessage = (data, isBinary) => { cleanup(); resolve({ data, isBinary }); };
    const onClose = (code) => {
      cleanup();
      reject(new Error(`closed (${code}) before a message`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

// Resolves {code, reason} when `ws` closes.
export function closed(ws, { timeoutMs = 30000 } = {}) {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: ws._closeCode,
    reason: String(ws._closeMessage ?? '') });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the WebSocket did not close')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}
