// Command line: --version, --help, --check-config diagnostics, --config, quick mode, port 0.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runProxy, startProxy, writeTempFile } from './lib/proxy.mjs';
import { startOrigin } from './lib/origin.mjs';
import { configFor } from './lib/config.mjs';
import { curl } from './lib/curl.mjs';
import { getJson } from './lib/http.mjs';
import { listeningSockets } from './lib/listeners.mjs';
import { EXAMPLE_CONFIG, SOURCE_DIR } from './lib/env.mjs';

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The diagnostic for `keyPath` at line:col in `file`, in "file:line:col: key.path: message" form.
function diagnostic(stderr, file, line, col, keyPath) {
  const re = new RegExp(`${escape(file)}:${line}:${col}: ${escape(keyPath)}: (.+)$`, 'm');
  const m = stderr.match(re);
  assert.ok(m, `expected "${file}:${line}:${col}: ${keyPath}: ..." in stderr:\n${stderr}`);
  return m[1];
}

describe('command line', { timeout: 240000 }, () => {
  let origin;
  before(async () => { origin = await startOrigin(); });
  after(async () => { await origin?.stop(); });

  it('prints a version with --version and exits 0', async () => {
    const r = await runProxy(['--version']);
    assert.equal(r.code, 0, r.stderr);
    const m = r.stdout.match(/^edge-proxy \d+\.\d+\.\d+ \(revision (\S+)\)$/m);
    assert.ok(m, r.stdout);
    // Built from a git checkout: the revision names a commit of it.
    const git = spawnSync('git', ['-C', SOURCE_DIR, 'rev-parse', '--git-dir']);
    if (git.status === 0) {
      const commit = m[1].replace(/-dirty$/, '').replace(/^.*-g([0-9a-f]+)$/, '$1');
      const known = spawnSync('git', ['-C', SOURCE_DIR, 'cat-file', '-e', `${commit}^{commit}`]);
      assert.equal(known.status, 0, `revision ${m[1]} is not a commit of ${SOURCE_DIR}`);
    }
  });

  it('prints usage naming every option with --help and exits 0', async () => {
    const r = await runProxy(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const option of ['--config', '--check-config', '--listen', '--upstream', '--version']) {
      assert.ok(r.stdout.includes(option), `--help does not mention ${option}:\n${r.stdout}`);
    }
  });

  it('rejects an unknown option with a non-zero exit and a message', async () => {
    const r = await runProxy(['--no-such-option']);
    assert.notEqual(r.code, 0);
    assert.equal(r.timedOut, undefined);
    assert.match(r.stderr, /no-such-option/);
  });

  it('accepts the reference configuration with --check-config', async () => {
    const r = await runProxy(['--check-config', EXAMPLE_CONFIG]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /configuration ok/i);
  });

  it('accepts a generated test configuration with --check-config', async () => {
    const file = writeTempFile('good.yaml', configFor(origin, {
      limits: { max_header_bytes: '8k', max_request_body: '200m' },
      upstream: { first_byte_timeout: '1s', host_header: 'backend.internal' } }));
    const r = await runProxy(['--check-config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /configuration ok/i);
  });

  it('reports every unknown key with file:line:col, key path and a suggestion', async () => {
    const file = writeTempFile('bad.yaml', [
      'listen:',
      '  - 127.0.0.1:0',
      'workers: 2',
      'upstreams:',
      '  app:',
      '    servers:',
      '      - 127.0.0.1:9',
      '    max_fail: 3',
      'route_classes:',
      '  no_cache: { cache: false }',
      'routes:',
      '  - match: { path_prefix: / }',
      '    upstream: app',
      '    class: no_cache',
      'listne: oops',
      '',
    ].join('\n'));
    const r = await runProxy(['--check-config', file]);
    assert.notEqual(r.code, 0);
    assert.equal(r.timedOut, undefined);
    assert.doesNotMatch(r.stdout + r.stderr, /configuration ok/i);
    assert.match(diagnostic(r.stderr, file, 8, 5, 'upstreams.app.max_fail'),
      /did you mean "?max_fails"?/);
    assert.match(diagnostic(r.stderr, file, 15, 1, 'listne'), /did you mean "?listen"?/);
  });

  it('reports bad values and unknown references at their location', async () => {
    const file = writeTempFile('bad-values.yaml', [
      'listen:',
      '  - 127.0.0.1:0',
      'limits:',
      '  max_request_body: lots',
      'upstreams:',
      '  app:',
      '    servers: [127.0.0.1:9]',
      'route_classes:',
      '  no_cache: { cache: false }',
      'routes:',
      '  - match: { path_prefix: / }',
      '    upstream: ap',
      '    class: no_cache',
      '',
    ].join('\n'));
    const r = await runProxy(['--check-config', file]);
    assert.notEqual(r.code, 0);
    const lines = r.stderr.split('\n');
    const find = (re) => lines.find((l) => re.test(l));
    assert.ok(find(new RegExp(`^.*${escape(file)}:4:\\d+: limits\\.max_request_body: `)),
      `no diagnostic for limits.max_request_body on line 4:\n${r.stderr}`);
    const upstreamLine = find(new RegExp(`${escape(file)}:12:\\d+: routes\\[0\\]\\.upstream: `));
    assert.ok(upstreamLine, `no diagnostic for routes[0].upstream on line 12:\n${r.stderr}`);
    assert.match(upstreamLine, /did you mean "?app"?/);
  });

  it('fails with a message naming a missing config file', async () => {
    const missing = '/nonexistent/edge-proxy-it.yaml';
    for (const flag of ['--check-config', '--config']) {
      const r = await runProxy([flag, missing]);
      assert.notEqual(r.code, 0, `${flag} exited 0`);
      assert.equal(r.timedOut, undefined, `${flag} did not exit`);
      assert.ok(r.stderr.includes(missing), `${flag}: stderr does not name the file:\n${r.stderr}`);
    }
  });

  it('refuses to start with --config on an invalid file', async () => {
    const file = writeTempFile('invalid.yaml', 'listen: [127.0.0.1:0]\nworkres: 2\n');
    const r = await runProxy(['--config', file]);
    assert.notEqual(r.code, 0);
    assert.equal(r.timedOut, undefined, 'the proxy kept running on a bad config');
    assert.match(r.stderr, new RegExp(`${escape(file)}:2:1: workres: .*did you mean "?workers"?`));
    assert.doesNotMatch(r.stderr, /listening on/);
  });

  it('proxies in quick mode with --listen and --upstream', async (t) => {
    const proxy = await startProxy({ args: ['--listen', '127.0.0.1:0',
      '--upstream', origin.address] });
    t.after(() => proxy.stop());
    assert.equal(proxy.host, '127.0.0.1');
    assert.ok(proxy.port > 0);
    const direct = await getJson(origin.port, '/api/v1/work-orders/12');
    const r = await curl(['-i', `http://127.0.0.1:${proxy.port}/api/v1/work-orders/12`]);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString('utf8');
    assert.match(text, /^HTTP\/1\.1 200 /);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    assert.deepEqual(JSON.parse(body), direct.json);
  });

  it('binds one port for all workers when listening on port 0', async (t) => {
    const proxy = await startProxy({ yaml: configFor(origin, { workers: 3 }) });
    t.after(() => proxy.stop());
    const sockets = listeningSockets(proxy.pid);
    assert.ok(sockets.length >= 1, 'no listening socket found');
    assert.deepEqual([...new Set(sockets.map((s) => s.port))], [proxy.port]);
    // Every new connection to the logged port is served, whichever worker takes it.
    const results = await Promise.all(Array.from({ length: 12 },
      () => getJson(proxy.port, '/health')));
    assert.deepEqual(results.map((r) => r.status), Array(12).fill(200));
  });
});

describe('--dump-config', { timeout: 120000 }, () => {
  // The dump without its first line, which names the file it was loaded from.
  const body = (dump) => dump.slice(dump.indexOf('\n') + 1);

  it('is listed by --help', async () => {
    const r = await runProxy(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--dump-config FILE/);
  });

  it('prints the reference configuration with its defaults filled in and exits 0', async () => {
    const r = await runProxy(['--dump-config', EXAMPLE_CONFIG]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(
      `# Effective configuration with defaults, loaded from ${EXAMPLE_CONFIG}\n`), r.stdout);
    assert.match(r.stdout, /^# Secrets are not printed/m);
    // Two defaults the example leaves out: the admin body limit and a class's status list.
    assert.match(r.stdout, /^admin:\n(?: {2}.*\n)*? {2}max_body: 1m$/m);
    assert.match(r.stdout,
      /^ {2}health:\n(?: {4}.*\n)*? {4}statuses: \[200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501\]$/m);
    // Values the example does set come out in the loader's own forms.
    assert.match(r.stdout, /^ {2}static_assets:\n {4}cache: true\n {4}ttl: 365d$/m);
  });

  it('writes a dump that --check-config accepts and that dumps to itself', async () => {
    const first = await runProxy(['--dump-config', EXAMPLE_CONFIG]);
    assert.equal(first.code, 0, first.stderr);
    const file = writeTempFile('dumped.yaml', first.stdout);
    const check = await runProxy(['--check-config', file]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /configuration ok/);
    const second = await runProxy(['--dump-config', file]);
    assert.equal(second.code, 0, second.stderr);
    assert.ok(second.stdout.startsWith(`# Effective configuration with defaults, loaded from ${file}\n`));
    assert.equal(body(second.stdout), body(first.stdout));
  });

  it('exits 1 on a bad file with file:line:col and prints no configuration', async () => {
    const file = writeTempFile('bad-dump.yaml',
      'listen: [127.0.0.1:0]\nupstreams:\n  app: { servers: [127.0.0.1:9] }\n' +
      'routes:\n  - upstream: app\ncache:\n  shards: lots\n');
    const r = await runProxy(['--dump-config', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    diagnostic(r.stderr, file, 7, 11, 'cache.shards');
    assert.match(r.stderr, /configuration .* has 1 error/);
  });
});
