// An HTTPS origin in the test process (node:https) for the proxy's upstream TLS: every request is
// answered with JSON that echoes it (headers as [name, value] pairs, in order), the body's size
// and sha256, and what TLS saw (protocol, SNI, the client certificate's subject).
// A path ending in /bytes/<n> answers n bytes of the demo origin's pattern instead;
// ?bytes_per_sec=<n> reads the request body slowly; ?close=1 and ?drop=1 end the connection.
// It counts TCP connections, completed handshakes (`secureConnection`), failed handshakes
// (`tlsClientError`) and requests, so tests can tell whether the proxy reused a connection.
// Also the client side of TLS tests: `openssl s_client` runs (sClient), the certificate a server
// presented (servedSubject), requests through node's https client (httpsRequest), a ClientHello
// as bytes for raw sockets (clientHello), and every listener port of a started proxy in config
// order (listenerPorts).
import https from 'node:https';
import tls from 'node:tls';
import fs from 'node:fs';
import { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { patternChunks } from './pattern.mjs';
import { openssl } from './certs.mjs';
import { waitFor } from './wait.mjs';

// cert / key: PEM file paths (e.g. testPki().server.origin). clientCa: a CA file; with it the
// origin asks for a client certificate, and with requireClientCert refuses a handshake without
// a valid one.
export async function startTlsOrigin({ cert, key, clientCa, requireClientCert = false,
  host = '127.0.0.1' } = {}) {
  const counts = { tcpConnections: 0, tlsConnections: 0, resumed: 0, tlsErrors: 0, requests: 0,
    dropped: 0 };
  const tlsErrors = [];
  const clientSubjects = [];
  const sockets = new Set();
  const server = https.createServer({
    cert: fs.readFileSync(cert),
    key: fs.readFileSync(key),
    ...(clientCa ? {
      ca: fs.readFileSync(clientCa),
      requestCert: true,
      rejectUnauthorized: requireClientCert,
    } : {}),
    // Long enough that an idle pooled connection outlives any test step on a loaded machine.
    keepAliveTimeout: 120000,
  }, (req, res) => {
    counts.requests++;
    const url = new URL(req.url, 'https://origin.test');
    const bytes = url.pathname.match(/\/bytes\/(\d+)$/);
    if (bytes) {
      req.resume();
      const total = Number(bytes[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream',
        'content-length': total, 'cache-control': 'no-store' });
      (async () => {
        for (const chunk of patternChunks(total, 65536)) {
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
      })().catch((err) => res.destroy(err));
      return;
    }
    const hash = createHash('sha256');
    let bodyBytes = 0;
    // ?bytes_per_sec=N reads the body at about that rate (pausing the request makes node stop
    // reading the socket, so TLS and TCP push back on the sender).
    const rate = Number(url.searchParams.get('bytes_per_sec') ?? 0);
    const started = Date.now();
    req.on('data', (chunk) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
      const wait = rate > 0 ? started + (bodyBytes * 1000) / rate - Date.now() : 0;
      if (wait > 5) {
        req.pause();
        setTimeout(() => req.resume(), wait);
      }
    });
    req.on('end', () => {
      const peer = req.socket.getPeerCertificate?.() ?? {};
      const pairs = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      }
      const status = Number(url.searchParams.get('status') ?? 200);
      // ?close=1 says Connection: close; ?drop=1 closes the connection after the response
      // without saying so, as an origin closing an idle keep-alive connection does.
      const close = url.searchParams.get('close') === '1';
      if (url.searchParams.get('drop') === '1') {
        res.once('finish', () => setImmediate(() => {
          req.socket.once('close', () => { counts.dropped++; });
          req.socket.end();
        }));
      }
      const body = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: pairs,
        bodyBytes,
        bodySha256: hash.digest('hex'),
        elapsed_ms: Date.now() - started,
        tls: {
          protocol: req.socket.getProtocol?.(),
          servername: req.socket.servername || null,
          clientSubject: peer.subject ?? null,
          clientAuthorized: req.socket.authorized ?? false,
        },
      });
      res.writeHead(status, { 'content-type': 'application/json',
        'content-length': Buffer.byteLength(body), 'cache-control': 'no-store',
        ...(close ? { connection: 'close' } : {}) });
      res.end(body);
    });
  });
  server.on('connection', (socket) => {
    counts.tcpConnections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket) => {
    counts.tlsConnections++;
    if (socket.isSessionReused()) counts.resumed++;
    const peer = socket.getPeerCertificate?.();
    if (peer?.subject) clientSubjects.push(peer.subject);
  });
  server.on('tlsClientError', (err) => {
    counts.tlsErrors++;
    tlsErrors.push(err.code ?? err.message);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();
  return {
    host,
    port,
    address: `${host}:${port}`,
    // {tcpConnections, tlsConnections, resumed (handshakes that resumed a session), tlsErrors,
    // requests, dropped (connections closed by ?drop=1)}, a copy.
    stats: () => ({ ...counts }),
    // The error codes of failed handshakes and the subjects of client certificates, in order.
    tlsErrors,
    clientSubjects,
    reset: () => {
      for (const k of Object.keys(counts)) counts[k] = 0;
      tlsErrors.length = 0;
      clientSubjects.length = 0;
    },
    // Closes the listener and every connection (a pooled idle one included).
    stop: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

// ---- client side ------------------------------------------------------------------------------

const LISTENING = /listening on (\S+):(\d+) \((\d+) workers?(, tls)?\)/g;

// The proxy logs one "listening on HOST:PORT (N workers[, tls])" line per listener, in config
// order, all together once it is ready. Waits for `count` of them; resolves [{host, port, tls}].
export async function listenerPorts(proxy, count, { timeoutMs = 30000 } = {}) {
  return waitFor(() => {
    const found = [...proxy.stderr.matchAll(LISTENING)]
      .map((m) => ({ host: m[1], port: Number(m[2]), tls: m[4] !== undefined }));
    return found.length >= count && found.slice(0, count);
  }, { timeoutMs, what: `${count} "listening on" lines:\n${proxy.stderr}` });
}

// Runs `openssl s_client -connect 127.0.0.1:<port>` with `args` (e.g. ['-tls1_2']), SNI
// `servername` (none when null), writing `input` (e.g. a request with Connection: close; with
// -ign_eof s_client then reads until the server closes) and closing its stdin.
// Resolves {code, stdout, stderr, out (both)}.
export function sClient({ port, servername = null, args = [], input = '', timeoutMs = 30000 }) {
  const argv = ['s_client', '-connect', `127.0.0.1:${port}`,
    ...(servername ? ['-servername', servername] : ['-noservername']), ...args];
  return new Promise((resolve) => {
    // s_client prints its reports through stdio (block-buffered on a pipe) but writes what the
    // server sent straight to the descriptor: line buffering keeps the two from splitting each
    // other's lines.
    const child = spawn('stdbuf', ['-oL', 'openssl', ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdin.on('error', () => {});  // the server may close before the input is written
    child.stdin.end(input);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('latin1');
      const stderr = Buffer.concat(err).toString('latin1');
      resolve({ code, signal, stdout, stderr, out: `${stdout}\n${stderr}`,
        argv: `openssl ${argv.join(' ')}` });
    });
  });
}

// The first HTTP response in s_client's stdout: {status, head, body} (body by Content-Length),
// or null.
export function sClientResponse(stdout) {
  const at = stdout.search(/HTTP\/1\.1 \d{3} /);
  if (at < 0) return null;
  const end = stdout.indexOf('\r\n\r\n', at);
  if (end < 0) return null;
  const head = stdout.slice(at, end);
  const length = Number(head.match(/^content-length:\s*(\d+)/im)?.[1] ?? 0);
  return { status: Number(head.slice(9, 12)), head,
    body: stdout.slice(end + 4, end + 4 + length) };
}

// The subject (RFC 2253 form) of the certificate a server presented in s_client's output, or
// null when there was none.
export async function servedSubject(output) {
  const pem = output.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/);
  if (!pem) return null;
  const out = await openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'],
    { input: pem[0] + '\n' });
  return out.trim().replace(/^subject=\s*/, '');
}

// "New, TLSv1.3, ..." or "Reused, TLSv1.2, ..." from s_client's output: {reused, version} or null.
export function sessionLine(output) {
  const m = output.match(/^(New|Reused), (TLSv1(?:\.\d)?|SSLv3|\(NONE\)), Cipher is (\S+)/m);
  return m ? { reused: m[1] === 'Reused', version: m[2], cipher: m[3] } : null;
}

// Like http.mjs's request(), over TLS: resolves {status, headers, body, bytes, sha256}.
// ca: a CA file to verify the server with; servername: SNI and the name verified.
// `onResponse(res)` sees the response before its body is read (res.socket is the TLS socket).
export function httpsRequest(port, { method = 'GET', path = '/', headers = {}, body, ca,
  servername = 'localhost', cert, key, keepBody = true, timeoutMs = 60000, onResponse } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path, headers, servername,
      agent: false, ca: ca && fs.readFileSync(ca), cert: cert && fs.readFileSync(cert),
      key: key && fs.readFileSync(key) }, (res) => {
      onResponse?.(res);
      const hash = createHash('sha256');
      const parts = [];
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
        hash.update(chunk);
        if (keepBody) parts.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(parts), bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out: ${path}`)));
    req.on('error', reject);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      pipeline(Readable.from(body, { objectMode: false }), req).catch(reject);
    }
  });
}

// The bytes of a real ClientHello (node's TLS client, SNI `servername`), to send on a raw
// socket that then never says anything else.
export function clientHello(servername = 'localhost') {
  return new Promise((resolve, reject) => {
    let client;
    const wire = new Duplex({
      read() {},
      write(chunk, encoding, callback) {
        resolve(Buffer.from(chunk));
        callback();
        setImmediate(() => client.destroy());
      },
    });
    client = tls.connect({ socket: wire, servername, rejectUnauthorized: false });
    client.on('error', (err) => reject(err));
  });
}
