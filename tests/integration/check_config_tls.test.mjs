// --check-config on TLS settings: certificate, key and CA files that cannot be read, hold no
// certificate or do not match, versions other than 1.2 / 1.3, unknown cipher lists, a listener
// without certificates, on listeners and upstreams, are errors at their place
// ("file:line:col: key.path: message", non-zero exit); an expired certificate is only a
// warning (exit 0).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { runProxy, writeTempFile } from './lib/proxy.mjs';
import { testPki, pkiFile } from './lib/certs.mjs';

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const q = (s) => JSON.stringify(s);

// A config with a plain listener and one TLS listener (line 3); the certificate's cert is on
// line 6, its key on line 7, min_version on line 8, then `tlsExtra` lines (from line 9) of the
// listener's tls section. `upstreamTls`: lines after "servers" (line 13 without tlsExtra).
function tlsConfig({ cert, key, minVersion = '1.2', tlsExtra = [], upstreamTls = [] }) {
  return [
    'listen:',                                    // 1
    '  - 127.0.0.1:0',                            // 2
    '  - address: 127.0.0.1:0',                   // 3
    '    tls:',                                   // 4
    '      certificates:',                        // 5
    `        - cert: ${q(cert)}`,                 // 6
    `          key: ${q(key)}`,                   // 7
    `      min_version: ${q(minVersion)}`,        // 8
    ...tlsExtra.map((line) => `      ${line}`),   // 9...
    'workers: 1',
    'upstreams:',
    '  app:',
    '    servers: [127.0.0.1:9]',
    ...upstreamTls,
    'route_classes:',
    '  no_cache: { cache: false }',
    'routes:',
    '  - match: { path_prefix: / }',
    '    upstream: app',
    '    class: no_cache',
    '',
  ].join('\n');
}

// Runs --check-config on `yaml`: {file, code, out (stdout and stderr)}.
async function check(yaml) {
  const file = writeTempFile('tls.yaml', yaml);
  const r = await runProxy(['--check-config', file], { timeoutMs: 30000 });
  assert.equal(r.timedOut, undefined, 'the check did not finish');
  return { file, code: r.code, out: `${r.stdout}\n${r.stderr}` };
}

// The message of the "file:line:col: keyPath: message" diagnostic (keyPath a regexp source).
function diagnostic({ file, out }, line, keyPath) {
  const m = out.match(new RegExp(`${escape(file)}:${line}:\\d+: ${keyPath}: (.+)$`, 'm'));
  assert.ok(m, `no diagnostic for ${keyPath} on line ${line}:\n${out}`);
  return m[1];
}

function assertRejected(r) {
  assert.notEqual(r.code, 0, `exit 0 for a bad config:\n${r.out}`);
  assert.doesNotMatch(r.out, /configuration ok/i);
}

describe('--check-config for TLS', { timeout: 240000 }, () => {
  let pki;
  let good;
  before(async () => {
    pki = await testPki();
    good = { cert: pki.server.default.cert, key: pki.server.default.key };
  });

  it('accepts a valid TLS listener and upstream TLS', async () => {
    const r = await check(tlsConfig({ ...good, upstreamTls: [
      `    tls: { enabled: true, ca: ${q(pki.ca.cert)}, server_name: origin.test, ` +
        `client_cert: ${q(pki.client.alice.cert)}, client_key: ${q(pki.client.alice.key)} }`] }));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /configuration ok/i);
    assert.doesNotMatch(r.out, /warning/i);
  });

  it('reports a certificate file that does not exist at its place', async () => {
    const r = await check(tlsConfig({ ...good, cert: `${pki.dir}/no-such-cert.pem` }));
    assertRejected(r);
    assert.match(diagnostic(r, 6, 'listen\\[1\\]\\.tls\\.certificates\\[0\\]\\.cert'),
      /no-such-cert\.pem|cannot|could not|unable|no such file/i);
  });

  it('reports a key file that does not exist at its place', async () => {
    const r = await check(tlsConfig({ ...good, key: `${pki.dir}/no-such-key.pem` }));
    assertRejected(r);
    assert.match(diagnostic(r, 7, 'listen\\[1\\]\\.tls\\.certificates\\[0\\]\\.key'),
      /no-such-key\.pem|cannot|could not|unable|no such file/i);
  });

  it('reports a certificate file that holds no certificate, and a key file that holds no key',
    async () => {
      const junk = pkiFile('junk.pem', 'this is not PEM\n');
      const badCert = await check(tlsConfig({ ...good, cert: junk }));
      assertRejected(badCert);
      diagnostic(badCert, 6, 'listen\\[1\\]\\.tls\\.certificates\\[0\\]\\.cert');
      const badKey = await check(tlsConfig({ ...good, key: junk }));
      assertRejected(badKey);
      diagnostic(badKey, 7, 'listen\\[1\\]\\.tls\\.certificates\\[0\\]\\.key');
    });

  it('reports a certificate and key that do not belong together', async () => {
    const r = await check(tlsConfig({ cert: pki.server.default.cert, key: pki.server.api.key }));
    assertRejected(r);
    const m = r.out.match(new RegExp(`${escape(r.file)}:[67]:\\d+: ` +
      'listen\\[1\\]\\.tls\\.certificates\\[0\\](\\.cert|\\.key)?: (.+)$', 'm'));
    assert.ok(m, `no diagnostic for the certificate pair on line 6 or 7:\n${r.out}`);
    assert.match(m[2], /match|not the key|belong/i);
  });

  for (const version of ['1.1', '1.0', 'TLSv1.3', '2']) {
    it(`reports min_version ${version} (only 1.2 and 1.3 are allowed)`, async () => {
      const r = await check(tlsConfig({ ...good, minVersion: version }));
      assertRejected(r);
      assert.match(diagnostic(r, 8, 'listen\\[1\\]\\.tls\\.min_version'), /1\.2/);
    });
  }

  it('warns about an expired certificate and still accepts the config', async () => {
    const r = await check(tlsConfig({ cert: pki.server.expired.cert,
      key: pki.server.expired.key }));
    assert.equal(r.code, 0, r.out);
    const warning = r.out.split('\n').find((l) => /warning/i.test(l) && /expired/i.test(l));
    assert.ok(warning, `no warning about the expired certificate:\n${r.out}`);
  });

  it('reports a client_ca file that cannot be read or holds no certificate', async () => {
    for (const file of [`${pki.dir}/no-such-ca.pem`, pki.server.default.key]) {
      const r = await check(tlsConfig({ ...good, tlsExtra: [`client_ca: ${q(file)}`] }));
      assertRejected(r);
      diagnostic(r, 9, 'listen\\[1\\]\\.tls\\.client_ca');
    }
  });

  it('reports a cipher list with no cipher OpenSSL knows', async () => {
    const r = await check(tlsConfig({ ...good, tlsExtra: ['ciphers: NOT-A-CIPHER'] }));
    assertRejected(r);
    const m = r.out.match(new RegExp(`${escape(r.file)}:\\d+:\\d+: listen\\[1\\]\\.tls` +
      '(\\.ciphers)?: (.+)$', 'm'));
    assert.ok(m, `no diagnostic for the cipher list:\n${r.out}`);
    assert.match(m[0], /ciphers/);
  });

  it('reports a TLS listener without certificates', async () => {
    const r = await check([
      'listen:',
      '  - address: 127.0.0.1:0',
      '    tls:',
      '      certificates: []',
      'upstreams:',
      '  app:',
      '    servers: [127.0.0.1:9]',
      'routes:',
      '  - match: { path_prefix: / }',
      '    upstream: app',
      '',
    ].join('\n'));
    assertRejected(r);
    diagnostic(r, 4, 'listen\\[0\\]\\.tls\\.certificates');
  });

  it('reports an upstream client certificate and key that do not belong together, and an ' +
    'upstream CA file with no certificate', async () => {
    const { alice, mallory } = pki.client;
    const pair = await check(tlsConfig({ ...good, upstreamTls: [
      `    tls: { enabled: true, client_cert: ${q(alice.cert)}, client_key: ${q(mallory.key)} }`,
    ] }));
    assertRejected(pair);
    const m = pair.out.match(new RegExp(`${escape(pair.file)}:13:\\d+: ` +
      'upstreams\\.app\\.tls(\\.client_cert|\\.client_key)?: (.+)$', 'm'));
    assert.ok(m, `no diagnostic for the upstream certificate pair on line 13:\n${pair.out}`);
    assert.match(m[2], /match|not the key|belong/i);
    const ca = await check(tlsConfig({ ...good, upstreamTls: [
      `    tls: { enabled: true, ca: ${q(alice.key)} }`] }));
    assertRejected(ca);
    diagnostic(ca, 13, 'upstreams\\.app\\.tls\\.ca');
  });

  it('reports unreadable upstream TLS files at their place', async () => {
    const missing = `${pki.dir}/no-such-upstream.pem`;
    for (const [key, keyPath] of [
      [`ca: ${q(missing)}`, 'upstreams\\.app\\.tls\\.ca'],
      [`client_cert: ${q(missing)}, client_key: ${q(pki.client.alice.key)}`,
        'upstreams\\.app\\.tls\\.client_cert'],
      [`client_cert: ${q(pki.client.alice.cert)}, client_key: ${q(missing)}`,
        'upstreams\\.app\\.tls\\.client_key'],
    ]) {
      const r = await check(tlsConfig({ ...good,
        upstreamTls: [`    tls: { enabled: true, ${key} }`] }));
      assertRejected(r);
      diagnostic(r, 13, keyPath);
    }
  });
});
