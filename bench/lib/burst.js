'use strict';
// Burst client for bench/coalesce.sh (Node.js standard library only).
//
//   node burst.js URL COUNT EXPECTED_BODY_FILE [WARM_URL|-] [TIMEOUT_MS]
//
// Issues COUNT GET requests for URL at once through one http.Agent (maxSockets 256) and waits
// for all of them. With WARM_URL, the agent first opens COUNT keep-alive connections by
// sending COUNT concurrent GETs for WARM_URL (a URL the server answers at once, e.g. one it
// already has in its cache) and the burst then goes out over those open connections, so that
// connection setup is not part of the measured latency. With '-' (default) every request of
// the burst opens its own connection.
//
// Prints one tab-separated line per request of the burst, in the order they were issued:
//
//   latency_ms  status  body_ok  cache
//
// latency_ms: from the call that issued the request to the last byte of the response (or to
// the error); status: HTTP status, 0 on a socket error or timeout; body_ok: 1 if the body is
// byte-identical to EXPECTED_BODY_FILE; cache: the X-Cache header (edge-proxy, Varnish) or
// X-Cache-Status (nginx), '-' if neither. The first lines, starting with '#', give the time
// between issuing the first and the last request of the burst (issue_spread_ms), and how many
// of them went out on a connection opened beforehand (reused_sockets).
// Exit status 0 when every request completed (whatever its status), 1 otherwise.

const fs = require('fs');
const http = require('http');

const [url, countArg, bodyFile, warmArg, timeoutArg] = process.argv.slice(2);
if (!url || !countArg || !bodyFile) {
  process.stderr.write('usage: node burst.js URL COUNT EXPECTED_BODY_FILE [WARM_URL|-] [TIMEOUT_MS]\n');
  process.exit(2);
}
const count = Number(countArg);
const warmUrl = warmArg && warmArg !== '-' ? warmArg : null;
const timeoutMs = Number(timeoutArg || 30000);
const expected = fs.readFileSync(bodyFile);
const agent = new http.Agent({
  keepAlive: warmUrl !== null,
  maxSockets: 256,
  maxFreeSockets: 256,
  scheduling: 'fifo',
});

function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

// fire(target, n, onEach): n concurrent GETs; onEach(i, row) once per request; resolves when
// all are done. Returns the time it took to issue them.
function fire(target, n, onEach) {
  return new Promise((resolve) => {
    let pending = n;
    const done = new Array(n).fill(false);
    const finish = (i, row) => {
      if (done[i]) return;
      done[i] = true;
      onEach(i, row);
      pending -= 1;
      if (pending === 0) resolve(spread);
    };
    const issueStart = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      const req = http.get(target, { agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          finish(i, {
            latency: msSince(start),
            status: res.statusCode,
            body: Buffer.concat(chunks),
            cache: res.headers['x-cache'] || res.headers['x-cache-status'] || '-',
            reused: req.reusedSocket,
          });
        });
        res.on('error', () => finish(i, { latency: msSince(start), status: 0, error: true }));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', () => finish(i, { latency: msSince(start), status: 0, error: true }));
    }
    const spread = msSince(issueStart);
  });
}

async function main() {
  if (warmUrl) {
    let bad = 0;
    await fire(warmUrl, count, (i, row) => {
      if (row.status !== 200) bad += 1;
    });
    if (bad) {
      process.stderr.write(`burst.js: ${bad} of ${count} warm-up requests to ${warmUrl} failed\n`);
      process.exit(1);
    }
  }
  const results = new Array(count);
  const spread = await fire(url, count, (i, row) => {
    results[i] = row;
  });
  let failed = 0;
  let reused = 0;
  const lines = [`# issue_spread_ms ${spread.toFixed(3)}`];
  for (const r of results) {
    if (r.error) failed += 1;
    if (r.reused) reused += 1;
  }
  lines.push(`# reused_sockets ${reused}`);
  for (const r of results) {
    const bodyOk = !r.error && r.body.equals(expected);
    const cache = r.error ? 'error' : String(r.cache).replace(/\s+/g, '_');
    lines.push(`${r.latency.toFixed(3)}\t${r.status}\t${bodyOk ? 1 : 0}\t${cache}`);
  }
  agent.destroy();
  process.stdout.write(lines.join('\n') + '\n', () => process.exit(failed ? 1 : 0));
}

main();
