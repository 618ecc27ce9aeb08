// Reload under load: wrk keeps 64 connections busy (cache hits and pass-through) while the
// config is reloaded every second for a minute, alternating between two configs whose upstream
// settings and route classes differ. Not one request may fail and not one connection may be
// reset. EDGE_RELOAD_LOAD_SECONDS shortens the run for local iterations.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { startOrigin } from './lib/origin.mjs';
import { startProxy, writeTempFile } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { adminOf } from './lib/redis.mjs';
import { collectText } from './lib/processes.mjs';
import { delay } from './lib/wait.mjs';

const SECONDS = Number(process.env.EDGE_RELOAD_LOAD_SECONDS ?? 60);

function config(origin, variant) {
  return toYaml({
    listen: ['127.0.0.1:0'],
    workers: 2,
    upstreams: { app: { servers: [origin.address],
      connect_timeout: variant ? '2s' : '3s', pool: { max_idle: variant ? 64 : 32 } } },
    route_classes: { short: { ttl: variant ? '60s' : '30s' },
      [variant ? 'extra_a' : 'extra_b']: { ttl: '5s' } },
    routes: [
      { match: { path_prefix: '/_test/cache/short/' }, upstream: 'app', class: 'short' },
      { match: { path_prefix: '/_test/cache/extra/' }, upstream: 'app',
        class: variant ? 'extra_a' : 'extra_b' },
    ],
    admin: { listen: '127.0.0.1:0' },
  });
}

// Hits and pass-through requests in turn, on keep-alive connections.
const SCRIPT = `
local paths = { "/_test/cache/short/hot", "/_test/cache/short/pass?cc=no-store",
                "/_test/cache/extra/x" }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
`;

describe('reload under load', { timeout: (SECONDS + 180) * 1000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  it(`reloading every second for ${SECONDS} s under 64 connections fails no request`,
    async (t) => {
      const proxy = await startProxy({ yaml: config(origin, true) });
      t.after(() => proxy.stop('SIGKILL'));
      const admin = await adminOf(proxy);
      const script = writeTempFile('reload.lua', SCRIPT);
      const wrk = spawn('wrk', ['-t2', '-c64', `-d${SECONDS}s`, '--timeout', '60s', '-s', script,
        `http://127.0.0.1:${proxy.port}`]);
      t.after(() => wrk.kill('SIGKILL'));
      const output = collectText(wrk.stdout);
      const errors = collectText(wrk.stderr);
      const exited = new Promise((resolve) => wrk.once('exit', (code) => resolve(code)));
      let running = true;
      exited.then(() => { running = false; });

      let reloads = 0;
      let variant = true;
      while (running) {
        await delay(1000);
        if (!running) break;
        variant = !variant;
        fs.writeFileSync(proxy.configFile, config(origin, variant));
        const r = await admin.call('POST', '/reload');
        assert.equal(r.status, 200, `reload ${reloads + 1}: ${r.text}`);
        reloads++;
      }
      const code = await exited;
      const report = output.text;
      assert.equal(code, 0, `wrk failed: ${errors.text}\n${report}`);
      assert.ok(reloads >= SECONDS / 2, `only ${reloads} reloads ran during the load`);
      const total = report.match(/(\d+) requests in/);
      assert.ok(total && Number(total[1]) > 0, report);
      // wrk prints these lines only when something went wrong.
      assert.doesNotMatch(report, /Socket errors/, report);
      assert.doesNotMatch(report, /Non-2xx or 3xx responses/, report);
      assert.match(proxy.stderr, new RegExp(`reloaded .*edge\\.yaml`));
      assert.doesNotMatch(proxy.stderr, /reload failed/);
      t.diagnostic(`${reloads} reloads during ${total[1]} requests`);
    });
});
