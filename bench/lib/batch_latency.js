'use strict';
// Latency client for bench/fields_batch.sh (Node.js standard library only).
//
//   node batch_latency.js PLAN_JSON OUT_JSON
//
// Runs the scenarios of PLAN_JSON in interleaved rounds: round r runs every scenario once, in
// an order that rotates by one position per round; each scenario sends `samples` requests one
// after the other (never two at once) over its own keep-alive connection (one http.Agent with
// maxSockets 1 per scenario, opened by `warm` untimed requests before round 1). Latency of a
// sample: from issuing the request to the last byte of the response.
//
// PLAN_JSON:
//   {"rounds": R, "timeout_ms": T, "pause_ms": P, "scenarios": [SCENARIO, ...]}
// SCENARIO (common keys: name, kind, samples, warm, fresh):
//   kind "get":          {url, body_file, hit_header?}        GET url; 200 with exactly the
//                        bytes of body_file; with hit_header, that header must say HIT.
//   kind "get-unique":   {base, prefix, body_file, origin_count}   GET base+prefix+UNIQUE, a
//                        path never requested before; 200 with the body; origin_count (the
//                        slow origin's /count URL) must report exactly 1 request for the path.
//   kind "batch":        {url, items: [{path, body_file}], hit_header?}   POST url with
//                        {"requests":[{"id":"i0","method":"GET","path":...}, ...]}; every
//                        item must answer 200 with its document as body (embedded JSON) and,
//                        with hit_header, that (lower-case) item header must say HIT.
//   kind "batch-unique": {url, prefix, n, body_file, origin_count}   a batch of n GET items,
//                        each for a path never requested before; every item 200 with the
//                        body, and the origin must have received each path exactly once.
// Checks run after the sample's clock stopped. A failed check counts as an error (its
// latency is still recorded); a request that got no answer (connection error, timeout) counts
// as an error and has no latency. The first few messages are kept.
//
// OUT_JSON: {"scenarios": {NAME: {"rounds": [[ms, ...], ...], "errors": n, "error_examples":
//   [...], "markers": {VALUE: count}, "response_bytes": n, "origin_checks": n,
//   "samples_on_new_connection": n, "server_closed_after_answer": n, "fresh_connections": b}}}
// markers counts the hit header values seen (of every item, for batches).

const fs = require('fs');
const http = require('http');

const [planFile, outFile] = process.argv.slice(2);
if (!planFile || !outFile) {
  process.stderr.write('usage: node batch_latency.js PLAN_JSON OUT_JSON\n');
  process.exit(2);
}
const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
const timeoutMs = plan.timeout_ms || 10000;
const pauseMs = plan.pause_ms === undefined ? 1 : plan.pause_ms;
const runId = Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36);
let uniqueCounter = 0;

function nextUnique() {
  uniqueCounter += 1;
  return `${runId}-${uniqueCounter}`;
}

// request(agent, method, url, body, extraHeaders): resolves {status, headers, body (Buffer),
// ms, reused (the request went out on a connection opened earlier), socket} or rejects.
function request(agent, method, url, body, extraHeaders) {
  return new Promise((resolve, reject) => {
    const headers = { ...(extraHeaders || {}) };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const start = process.hrtime.bigint();
    const req = http.request(url, { method, agent, headers, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        resolve({
          status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ms,
          reused: req.reusedSocket, socket: req.socket,
        });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// One http.Agent for the origin's /count queries (untimed).
const countAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
async function originCount(countUrl, path) {
  const r = await request(countAgent, 'GET', `${countUrl}?path=${encodeURIComponent(path)}`);
  if (r.status !== 200) throw new Error(`origin /count answered ${r.status}`);
  return Number(r.body.toString());
}

// Canonical form of a JSON document, to compare an embedded item body with the origin's.
function canon(text) {
  return JSON.stringify(JSON.parse(text));
}

class Scenario {
  constructor(spec) {
    this.spec = spec;
    this.name = spec.name;
    this.fresh = Boolean(spec.fresh);
    this.agent = new http.Agent({ keepAlive: !this.fresh, maxSockets: 1, maxFreeSockets: 1 });
    this.extraHeaders = this.fresh ? { Connection: 'close' } : {};
    this.connections = 0;    // timed samples sent on a connection opened for them
    this.serverClosed = 0;   // keep-alive samples after which the server closed the connection
    this.rounds = [];
    this.errors = 0;
    this.errorExamples = [];
    this.markers = {};
    this.responseBytes = 0;
    this.originChecks = 0;
    if (spec.body_file) {
      this.body = fs.readFileSync(spec.body_file);
      this.bodyCanon = canon(this.body.toString());
    }
    if (spec.items) {
      this.items = spec.items.map((it) => ({
        path: it.path,
        canon: canon(fs.readFileSync(it.body_file, 'utf8')),
      }));
      this.batchBody = JSON.stringify({
        requests: this.items.map((it, i) => ({ id: `i${i}`, method: 'GET', path: it.path })),
      });
    }
  }

  fail(message) {
    this.errors += 1;
    if (this.errorExamples.length < 5) this.errorExamples.push(message);
  }

  mark(value) {
    const v = value === undefined ? '-' : String(value);
    this.markers[v] = (this.markers[v] || 0) + 1;
  }

  // One request of this scenario; returns its latency in ms (checks done afterwards).
  async sample(timed) {
    const s = this.spec;
    let r;
    let paths = [];
    let body;
    let url;
    let method = 'GET';
    if (s.kind === 'get') {
      url = s.url;
    } else if (s.kind === 'get-unique') {
      paths = [`${s.prefix}${nextUnique()}`];
      url = s.base + paths[0];
    } else if (s.kind === 'batch') {
      url = s.url;
      method = 'POST';
      body = this.batchBody;
    } else if (s.kind === 'batch-unique') {
      url = s.url;
      method = 'POST';
      for (let i = 0; i < s.n; i++) paths.push(`${s.prefix}${nextUnique()}`);
      body = JSON.stringify({
        requests: paths.map((p, i) => ({ id: `i${i}`, method: 'GET', path: p })),
      });
    } else {
      throw new Error(`unknown scenario kind ${s.kind}`);
    }
    try {
      r = await request(this.agent, method, url, body, this.extraHeaders);
    } catch (e) {
      this.fail(`${method} ${url}: ${e.message}`);
      return null;
    }
    // A short pause (outside the clock) lets a close by the server arrive before the next
    // request, so that the http.Agent opens a new connection instead of writing into a dying one.
    await sleep(pauseMs);
    const closed = r.socket.destroyed || r.socket.readableEnded;
    if (!timed) return r.ms;
    if (!r.reused) this.connections += 1;
    if (!this.fresh && closed) this.serverClosed += 1;
    this.responseBytes = r.body.length;
    try {
      await this.check(r, paths);
    } catch (e) {
      this.fail(`${method} ${url}: ${e.message}`);
    }
    return r.ms;
  }

  async check(r, paths) {
    const s = this.spec;
    if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.toString().slice(0, 200)}`);
    if (s.kind === 'get' || s.kind === 'get-unique') {
      if (s.hit_header) this.mark(r.headers[s.hit_header]);
      if (!r.body.equals(this.body)) throw new Error(`body differs (${r.body.length} bytes)`);
      if (s.hit_header && String(r.headers[s.hit_header]).toUpperCase() !== 'HIT') {
        throw new Error(`${s.hit_header}: ${r.headers[s.hit_header]}`);
      }
    } else {
      const doc = JSON.parse(r.body.toString());
      const responses = doc.responses;
      const n = s.kind === 'batch' ? this.items.length : s.n;
      if (!Array.isArray(responses) || responses.length !== n) {
        throw new Error(`expected ${n} item responses, got ${JSON.stringify(doc).slice(0, 200)}`);
      }
      const problems = [];
      responses.forEach((item, i) => {
        const headers = item.headers || {};
        this.mark(headers['x-cache']);
        if (item.id !== `i${i}`) problems.push(`item ${i}: id ${item.id}`);
        if (item.status !== 200) problems.push(`item ${i}: status ${item.status}`);
        const want = s.kind === 'batch' ? this.items[i].canon : this.bodyCanon;
        if (JSON.stringify(item.body) !== want) problems.push(`item ${i}: body differs`);
        if (s.hit_header && String(headers[s.hit_header]).toUpperCase() !== 'HIT') {
          problems.push(`item ${i}: ${s.hit_header}: ${headers[s.hit_header]}`);
        }
      });
      if (problems.length) throw new Error(problems.slice(0, 3).join('; '));
    }
    if (s.origin_count) {
      for (const p of paths) {
        const n = await originCount(s.origin_count, p);
        if (n !== 1) throw new Error(`origin received ${p} ${n} times (expected 1)`);
      }
      this.originChecks += paths.length;
    }
  }
}

async function main() {
  const scenarios = plan.scenarios.map((spec) => new Scenario(spec));
  for (const sc of scenarios) {
    for (let i = 0; i < (sc.spec.warm || 0); i++) await sc.sample(false);
  }
  const n = scenarios.length;
  for (let r = 0; r < plan.rounds; r++) {
    for (let k = 0; k < n; k++) {
      const sc = scenarios[(k + r) % n];
      const lat = [];
      for (let i = 0; i < sc.spec.samples; i++) {
        const ms = await sc.sample(true);
        if (ms !== null) lat.push(ms);
      }
      sc.rounds.push(lat);
      const sorted = [...lat].sort((a, b) => a - b);
      process.stderr.write(
        `[latency] round ${r + 1}/${plan.rounds}  ${sc.name.padEnd(26)} ` +
          `p50 ${sorted.length ? sorted[Math.floor(sorted.length / 2)].toFixed(3) : '-'} ms  errors ${sc.errors}\n`,
      );
    }
  }
  const out = { scenarios: {} };
  for (const sc of scenarios) {
    out.scenarios[sc.name] = {
      rounds: sc.rounds,
      errors: sc.errors,
      error_examples: sc.errorExamples,
      markers: sc.markers,
      response_bytes: sc.responseBytes,
      origin_checks: sc.originChecks,
      samples_on_new_connection: sc.connections,
      server_closed_after_answer: sc.serverClosed,
      fresh_connections: sc.fresh,
    };
  }
  fs.writeFileSync(outFile, JSON.stringify(out));
  const failed = scenarios.some((sc) => sc.errors > 0);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`batch_latency: ${e.stack || e}\n`);
  process.exit(2);
});
