'use strict';
// Slow origin for bench/coalesce.sh (Node.js standard library only).
//
//   node slow_origin.js PORT DELAY_MS BODY_FILE CACHE_CONTROL
//
// Listens on 127.0.0.1:PORT. Every request except /count is counted (per path, at arrival)
// and answered after DELAY_MS with 200, the bytes of BODY_FILE, Content-Type application/json
// and the given Cache-Control. GET /count?path=P returns the number of requests received for
// path P (query string included) as plain text; GET /count alone returns the total. /count
// answers at once with Cache-Control: no-store and is not counted itself.

const fs = require('fs');
const http = require('http');

const [portArg, delayArg, bodyFile, cacheControl] = process.argv.slice(2);
if (!portArg || !delayArg || !bodyFile || cacheControl === undefined) {
  process.stderr.write('usage: node slow_origin.js PORT DELAY_MS BODY_FILE CACHE_CONTROL\n');
  process.exit(2);
}
const port = Number(portArg);
const delayMs = Number(delayArg);
const body = fs.readFileSync(bodyFile);

const perPath = new Map();
let total = 0;

function answerCount(req, res) {
  const query = new URL(req.url, 'http://origin').searchParams;
  const n = query.has('path') ? perPath.get(query.get('path')) || 0 : total;
  const text = String(n);
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

const server = http.createServer((req, res) => {
  if (req.url === '/count' || req.url.startsWith('/count?')) {
    answerCount(req, res);
    return;
  }
  total += 1;
  perPath.set(req.url, (perPath.get(req.url) || 0) + 1);
  req.resume();
  setTimeout(() => {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': cacheControl,
      'Content-Length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }, delayMs);
});

// Proxies keep upstream connections open; do not let Node close them under their feet.
server.keepAliveTimeout = 120000;
server.headersTimeout = 125000;
server.requestTimeout = 0;
server.maxConnections = 4096;
server.listen(port, '127.0.0.1', 4096);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
