// Downstream TLS: certificates chosen by SNI (exact, wildcard, the first as default, strict_sni),
// TLS 1.2 and 1.3, min_version, a TLS 1.2 cipher list, ALPN, session resumption from tickets,
// keep-alive and pipelining, 20 MB both ways, X-Forwarded-Proto, mutual TLS and the client
// subject header (never taken from the client), and handshake failures (plain HTTP, garbage,
// stalls past handshake_timeout, no shared cipher or version) that close the connection, never
// reach the origin, are counted in the admin API's /stats and leave other connections working.
// Then 100 MB through TLS with slow readers and a slow origin, with the proxy's memory bounded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import tls from 'node:tls';
import { startOrigin } from './lib/origin.mjs';
import { startProxy, writeTempFile } from './lib/proxy.mjs';
import { toYaml } from './lib/config.mjs';
import { curl } from './lib/curl.mjs';
import { rawExchange, parseRawResponses, requestHead, RawClient } from './lib/raw.mjs';
import { adminOf } from './lib/redis.mjs';
import { patternSha256, patternBytes, patternChunks, sha256 } from './lib/pattern.mjs';
import { testPki, issueCert } from './lib/certs.mjs';
import { listenerPorts, sClient, sClientResponse, servedSubject, sessionLine, clientHello,
  httpsRequest } from './lib/tls_origin.mjs';
import { sampleRss } from './lib/rss.mjs';
import { waitFor, delay } from './lib/wait.mjs';

const BIG = 20 << 20;
const SUBJECT_HEADER = 'x-client-cert-subject';  // the default
const OTHER_SUBJECT_HEADER = 'x-verified-subject';
const FAILURE_REASONS = ['timeout', 'protocol', 'plain_http', 'unknown_sni', 'client_cert',
  'other'];

// A request s_client writes once the handshake is done; the proxy closes after answering, so
// s_client (with -ign_eof) reads the whole response, and a TLS 1.3 ticket, before it exits.
const closingRequest = (host, path = '/_test/echo') =>
  requestHead('GET', path, [['Host', host], ['Connection', 'close']]);

// All values of a header in the demo origin's /_test/echo answer, by case-insensitive name.
const seen = (echo, name) => echo.headers
  .filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

describe('downstream TLS', { timeout: 240000 }, () => {
  let pki;
  let origin;
  let proxy;
  let admin;
  const port = {};  // listener name -> port

  before(async () => {
    [pki, origin] = await Promise.all([testPki(), startOrigin()]);
    const { server, clientCa } = pki;
    const pair = (c) => ({ cert: c.cert, key: c.key });
    const listeners = {
      plain: '127.0.0.1:0',
      main: { certificates: [pair(server.default), pair(server.api), pair(server.wildcard)],
        min_version: '1.2', alpn: ['http/1.1'], session_tickets: true },
      strict: { certificates: [pair(server.default), pair(server.api)], strict_sni: true },
      tls13: { certificates: [pair(server.default)], min_version: '1.3' },
      ciphers: { certificates: [pair(server.default)], ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' },
      mtls: { certificates: [pair(server.default)], client_ca: clientCa.cert },
      mtlsOptional: { certificates: [pair(server.default)], client_ca: clientCa.cert,
        client_verify: 'optional', client_subject_header: OTHER_SUBJECT_HEADER },
      stall: { certificates: [pair(server.default)], handshake_timeout: '1s' },
    };
    const yaml = toYaml({
      listen: Object.values(listeners).map((tls) => (typeof tls === 'string' ? tls
        : { address: '127.0.0.1:0', tls })),
      workers: 2,
      upstreams: { app: { servers: [origin.address] } },
      route_classes: { no_cache: { cache: false } },
      routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
      admin: { listen: '127.0.0.1:0' },
    });
    proxy = await startProxy({ yaml });
    const bound = await listenerPorts(proxy, Object.keys(listeners).length);
    Object.keys(listeners).forEach((name, i) => { port[name] = bound[i].port; });
    port.bound = bound;
    admin = await adminOf(proxy);
  });
  after(async () => {
    await proxy?.stop();
    await origin?.stop();
  });

  // curl over TLS to https://<name>:<port><path>, <name> resolving to 127.0.0.1 (so it is the SNI
  // name and the name verified against the test CA).
  const curlTls = (listener, name, path, args = []) => curl(['--cacert', pki.ca.cert,
    '--resolve', `${name}:${port[listener]}:127.0.0.1`, ...args,
    `https://${name}:${port[listener]}${path}`]);
  const echoOf = (r) => {
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    return JSON.parse(r.stdout.toString('utf8'));
  };
  const originRequests = async () => (await origin.stats()).requests;

  async function tlsStats() {
    const stats = await admin.stats();
    assert.ok(stats?.tls && typeof stats.tls === 'object',
      `/stats has no "tls" object: ${JSON.stringify(stats)?.slice(0, 500)}`);
    return stats.tls;
  }
  const failuresOf = (tls, reason) => tls.handshake_failures?.[reason] ?? 0;
  // Waits until /stats counts `n` more handshake failures for `reason` than in `before`.
  const waitForFailures = (reason, before, n = 1) => waitFor(async () => {
    const now = await tlsStats();
    return failuresOf(now, reason) >= failuresOf(before, reason) + n && now;
  }, { what: `tls.handshake_failures.${reason} to grow by ${n} (before: ` +
    `${JSON.stringify(before)})` });

  // The main TLS listener still answers (while or after another connection fails).
  async function assertServing(listener = 'main') {
    const r = await curlTls(listener, 'localhost', '/_test/echo');
    assert.equal(echoOf(r).method, 'GET');
  }

  it('logs one listening line per listener in config order, TLS ones marked', () => {
    assert.deepEqual(port.bound.map((l) => l.tls),
      [false, true, true, true, true, true, true, true], proxy.stderr);
    assert.equal(new Set(port.bound.map((l) => l.port)).size, port.bound.length,
      'two listeners on one port');
  });

  it('serves the certificate whose name matches SNI, verified by the client', async () => {
    const echo = echoOf(await curlTls('main', 'api.test', '/_test/echo'));
    assert.deepEqual(seen(echo, 'host'), [`api.test:${port.main}`]);
    const r = await sClient({ port: port.main, servername: 'api.test',
      args: ['-CAfile', pki.ca.cert, '-verify_hostname', 'api.test'] });
    assert.equal(await servedSubject(r.out), pki.server.api.subject, r.out);
    assert.match(r.out, /Verify return code: 0 \(ok\)/);
    const def = await sClient({ port: port.main, servername: 'localhost' });
    assert.equal(await servedSubject(def.out), pki.server.default.subject, def.out);
  });

  it('matches SNI names without regard to case', async () => {
    for (const [name, cert] of [['API.Test', pki.server.api],
      ['Shop.EXAMPLE.test', pki.server.wildcard]]) {
      const r = await sClient({ port: port.main, servername: name });
      assert.equal(await servedSubject(r.out), cert.subject, `${name}: ${r.out}`);
    }
  });

  it('serves the wildcard certificate for a name one label under it', async () => {
    for (const name of ['shop.example.test', 'api2.example.test']) {
      const echo = echoOf(await curlTls('main', name, '/_test/echo'));
      assert.deepEqual(seen(echo, 'host'), [`${name}:${port.main}`]);
      const r = await sClient({ port: port.main, servername: name });
      assert.equal(await servedSubject(r.out), pki.server.wildcard.subject, `${name}: ${r.out}`);
    }
  });

  it('serves the first certificate for an unknown name, a name two labels under a wildcard, ' +
    'and no SNI', async () => {
    for (const name of ['unknown.test', 'a.b.example.test', null]) {
      const r = await sClient({ port: port.main, servername: name,
        input: closingRequest(name ?? 'localhost'), args: ['-ign_eof'] });
      assert.equal(await servedSubject(r.out), pki.server.default.subject, `${name}: ${r.out}`);
      assert.match(r.stdout, /HTTP\/1\.1 200 /, `${name}: ${r.out}`);
    }
    // Without SNI (an IP address), the default certificate's IP name verifies.
    const echo = echoOf(await curl(['--cacert', pki.ca.cert,
      `https://127.0.0.1:${port.main}/_test/echo`]));
    assert.equal(echo.method, 'GET');
  });

  it('refuses an unknown name on a strict_sni listener with unrecognized_name (unknown_sni), ' +
    'before the origin', async () => {
    const before = await tlsStats();
    const seenBefore = await originRequests();
    const refused = await sClient({ port: port.strict, servername: 'unknown.test',
      input: closingRequest('unknown.test'), args: ['-ign_eof'] });
    assert.notEqual(refused.code, 0, refused.out);
    assert.match(refused.out, /unrecognized name|alert number 112/i, refused.out);
    assert.doesNotMatch(refused.stdout, /HTTP\/1\.1/);
    await waitForFailures('unknown_sni', before);
    const known = await sClient({ port: port.strict, servername: 'api.test',
      input: closingRequest('api.test'), args: ['-ign_eof'] });
    assert.equal(await servedSubject(known.out), pki.server.api.subject, known.out);
    assert.match(known.stdout, /HTTP\/1\.1 200 /, known.out);
    assert.equal(await originRequests(), seenBefore + 1,
      'the refused connection reached the origin');
  });

  it('speaks TLS 1.2 and TLS 1.3', async () => {
    for (const [flag, version] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']]) {
      const r = await sClient({ port: port.main, servername: 'api.test',
        input: closingRequest('api.test'),
        args: [flag, '-ign_eof', '-CAfile', pki.ca.cert, '-verify_hostname', 'api.test'] });
      assert.equal(r.code, 0, r.out);
      assert.equal(sessionLine(r.out)?.version, version, r.out);
      assert.match(r.out, /Verify return code: 0 \(ok\)/);
      assert.match(r.stdout, /HTTP\/1\.1 200 /, r.out);
    }
  });

  it('refuses a TLS 1.2-only client with min_version 1.3 (protocol), accepts TLS 1.3',
    async () => {
      const before = await tlsStats();
      const seenBefore = await originRequests();
      const old = await sClient({ port: port.tls13, servername: 'localhost',
        input: closingRequest('localhost'), args: ['-tls1_2', '-ign_eof'] });
      assert.notEqual(old.code, 0, old.out);
      assert.doesNotMatch(old.stdout, /HTTP\/1\.1/);
      await waitForFailures('protocol', before);
      const r = await sClient({ port: port.tls13, servername: 'localhost',
        input: closingRequest('localhost'), args: ['-tls1_3', '-ign_eof'] });
      assert.equal(sessionLine(r.out)?.version, 'TLSv1.3', r.out);
      assert.match(r.stdout, /HTTP\/1\.1 200 /, r.out);
      assert.equal(await originRequests(), seenBefore + 1);
    });

  it('refuses a TLS 1.2 client with no cipher in common (protocol), accepts a listed one',
    async () => {
      const before = await tlsStats();
      const seenBefore = await originRequests();
      const none = await sClient({ port: port.ciphers, servername: 'localhost',
        input: closingRequest('localhost'),
        args: ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384', '-ign_eof'] });
      assert.notEqual(none.code, 0, none.out);
      assert.doesNotMatch(none.stdout, /HTTP\/1\.1/);
      await waitForFailures('protocol', before);
      const ok = await sClient({ port: port.ciphers, servername: 'localhost',
        input: closingRequest('localhost'),
        args: ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256',
          '-ign_eof'] });
      assert.deepEqual(sessionLine(ok.out),
        { reused: false, version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' }, ok.out);
      assert.match(ok.stdout, /HTTP\/1\.1 200 /, ok.out);
      assert.equal(await originRequests(), seenBefore + 1);
      await assertServing();
    });

  it('negotiates http/1.1 with ALPN', async () => {
    for (const offer of ['http/1.1', 'h2,http/1.1']) {
      const r = await sClient({ port: port.main, servername: 'localhost',
        input: closingRequest('localhost'), args: ['-alpn', offer, '-ign_eof'] });
      assert.match(r.out, /^ALPN protocol: http\/1\.1$/m, `offer ${offer}: ${r.out}`);
      assert.match(r.stdout, /HTTP\/1\.1 200 /, r.out);
    }
  });

  it('resumes TLS 1.2 and TLS 1.3 sessions from tickets (counted as resumed)', async () => {
    const before = await tlsStats();
    let resumed = 0;
    for (const flag of ['-tls1_2', '-tls1_3']) {
      // Several resumptions in a row: with two workers, they land on both, so the ticket keys
      // must be shared.
      let session = writeTempFile(`session${flag}`, '');
      const first = await sClient({ port: port.main, servername: 'api.test',
        input: closingRequest('api.test'), args: [flag, '-ign_eof', '-sess_out', session] });
      assert.equal(sessionLine(first.out)?.reused, false, first.out);
      for (let i = 0; i < 4; i++) {
        const next = writeTempFile(`session${flag}`, '');
        const r = await sClient({ port: port.main, servername: 'api.test',
          input: closingRequest('api.test'),
          args: [flag, '-ign_eof', '-sess_in', session, '-sess_out', next] });
        assert.equal(sessionLine(r.out)?.reused, true, `${flag} resumption ${i + 1}: ${r.out}`);
        assert.match(r.stdout, /HTTP\/1\.1 200 /, r.out);
        resumed++;
        // A resumed TLS 1.2 session may come without a new ticket: then the old one stays.
        if (fs.statSync(next).size > 0) session = next;
      }
    }
    await waitFor(async () => (await tlsStats()).resumed >= before.resumed + resumed,
      { what: `tls.resumed to grow by ${resumed} (before: ${JSON.stringify(before)})` });
  });

  it('resumes a mutual TLS session with its client certificate subject', async () => {
    const alice = ['-cert', pki.client.alice.cert, '-key', pki.client.alice.key];
    for (const flag of ['-tls1_2', '-tls1_3']) {
      const session = writeTempFile(`mtls-session${flag}`, '');
      const first = await sClient({ port: port.mtls, servername: 'localhost',
        input: closingRequest('localhost'), args: [flag, '-ign_eof', ...alice,
          '-sess_out', session] });
      assert.match(first.stdout, /HTTP\/1\.1 200 /, first.out);
      const again = await sClient({ port: port.mtls, servername: 'localhost',
        input: closingRequest('localhost'), args: [flag, '-ign_eof', ...alice,
          '-sess_in', session] });
      assert.equal(sessionLine(again.out)?.reused, true, `${flag}: ${again.out}`);
      const resp = sClientResponse(again.stdout);
      assert.equal(resp?.status, 200, `${flag}: ${again.stdout}`);
      assert.deepEqual(seen(JSON.parse(resp.body), SUBJECT_HEADER), [pki.client.alice.subject],
        `${flag}: the resumed session's subject`);
    }
  });

  it('never resumes a session made without a client certificate on a listener that ' +
    'requires one', async () => {
    const seenBefore = await originRequests();
    for (const flag of ['-tls1_2', '-tls1_3']) {
      for (const from of ['main', 'mtlsOptional']) {
        const session = writeTempFile(`${from}-session${flag}`, '');
        const first = await sClient({ port: port[from], servername: 'localhost',
          input: closingRequest('localhost'), args: [flag, '-ign_eof', '-sess_out', session] });
        assert.match(first.stdout, /HTTP\/1\.1 200 /, first.out);
        const r = await sClient({ port: port.mtls, servername: 'localhost',
          input: closingRequest('localhost'), args: [flag, '-ign_eof', '-sess_in', session] });
        assert.ok(!/HTTP\/1\.1 200 /.test(r.stdout), `${flag}: a session from the ` +
          `${from} listener let a client without a certificate through the mtls listener ` +
          `(${JSON.stringify(sessionLine(r.out))})`);
      }
    }
    assert.equal(await originRequests(), seenBefore + 4,
      'a client without a certificate reached the origin through the mtls listener');
  });

  it('keeps one TLS connection alive for several requests', async () => {
    const before = await tlsStats();
    const url = `https://localhost:${port.main}/_test/echo`;
    const r = await curl(['--cacert', pki.ca.cert, '-w', '\n#connects=%{num_connects}\n',
      url, url, url]);
    assert.equal(r.code, 0, r.stderr);
    const connects = [...r.stdout.toString().matchAll(/#connects=(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(connects, [1, 0, 0], 'curl opened a new connection for a later request');
    const now = await waitFor(async () => {
      const tls = await tlsStats();
      return tls.handshakes >= before.handshakes + 1 && tls;
    }, { what: 'tls.handshakes to grow' });
    assert.equal(now.handshakes, before.handshakes + 1, 'more than one handshake for 3 requests');
  });

  it('streams a 20 MB response through TLS intact', async () => {
    for (const query of ['', '?chunked=1']) {
      const r = await curlTls('main', 'api.test', `/_test/bytes/${BIG}${query}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, BIG, `response ${query}`);
      assert.equal(sha256(r.stdout), patternSha256(BIG), `response ${query} differs`);
    }
  });

  it('streams a 20 MB upload through TLS intact', async () => {
    const file = writeTempFile('upload.bin', patternBytes(BIG));
    const echo = echoOf(await curlTls('main', 'api.test', '/_test/echo',
      ['--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream']));
    assert.equal(echo.method, 'POST');
    assert.equal(echo.bodyBytes, BIG);
    assert.equal(echo.bodySha256, patternSha256(BIG));
  });

  it('sends X-Forwarded-Proto https from TLS listeners and http from the plain one', async () => {
    const tls = echoOf(await curlTls('main', 'api.test', '/_test/echo'));
    assert.deepEqual(seen(tls, 'x-forwarded-proto'), ['https']);
    const mtls = echoOf(await curlTls('mtls', 'localhost', '/_test/echo',
      ['--cert', pki.client.alice.cert, '--key', pki.client.alice.key]));
    assert.deepEqual(seen(mtls, 'x-forwarded-proto'), ['https']);
    const plain = echoOf(await curl([`http://127.0.0.1:${port.plain}/_test/echo`]));
    assert.deepEqual(seen(plain, 'x-forwarded-proto'), ['http']);
    // What the client claims does not count.
    const spoofHttps = echoOf(await curl(['-H', 'X-Forwarded-Proto: https',
      `http://127.0.0.1:${port.plain}/_test/echo`]));
    assert.deepEqual(seen(spoofHttps, 'x-forwarded-proto'), ['http']);
    const spoofHttp = echoOf(await curlTls('main', 'api.test', '/_test/echo',
      ['-H', 'X-Forwarded-Proto: http']));
    assert.deepEqual(seen(spoofHttp, 'x-forwarded-proto'), ['https']);
  });

  it('sends the verified client certificate subject upstream on a mutual TLS listener',
    async () => {
      for (const [listener, header] of [['mtls', SUBJECT_HEADER],
        ['mtlsOptional', OTHER_SUBJECT_HEADER]]) {
        const echo = echoOf(await curlTls(listener, 'localhost', '/_test/echo',
          ['--cert', pki.client.alice.cert, '--key', pki.client.alice.key]));
        assert.deepEqual(seen(echo, header), [pki.client.alice.subject], listener);
      }
      assert.equal(pki.client.alice.subject, 'CN=alice,O=Edge Tests');
    });

  it('refuses a client without a certificate or with one from another CA (client_cert), ' +
    'before the origin', async () => {
    const before = await tlsStats();
    const seenBefore = await originRequests();
    const none = await curlTls('mtls', 'localhost', '/_test/echo');
    assert.notEqual(none.code, 0, `no client certificate: ${none.stdout}`);
    const other = await curlTls('mtls', 'localhost', '/_test/echo',
      ['--cert', pki.client.mallory.cert, '--key', pki.client.mallory.key]);
    assert.notEqual(other.code, 0, `a certificate from another CA: ${other.stdout}`);
    await waitForFailures('client_cert', before, 2);
    assert.equal(await originRequests(), seenBefore, 'a refused client reached the origin');
    await assertServing();
  });

  it('refuses an expired client certificate (client_cert)', async () => {
    const before = await tlsStats();
    const seenBefore = await originRequests();
    const expired = await issueCert({ cn: 'old-alice', issuer: pki.clientCa, usage: 'client',
      expired: true });
    const r = await curlTls('mtls', 'localhost', '/_test/echo',
      ['--cert', expired.cert, '--key', expired.key]);
    assert.notEqual(r.code, 0, `an expired client certificate was accepted: ${r.stdout}`);
    await waitForFailures('client_cert', before);
    assert.equal(await originRequests(), seenBefore);
  });

  it('never sends upstream the subject of a client certificate it could not verify ' +
    '(client_verify optional)', async () => {
    const seenBefore = await originRequests();
    const r = await curlTls('mtlsOptional', 'localhost', '/_test/echo',
      ['--cert', pki.client.mallory.cert, '--key', pki.client.mallory.key]);
    if (r.code === 0) {
      // Accepted as a client without a (verified) certificate.
      const echo = echoOf(r);
      assert.deepEqual(seen(echo, OTHER_SUBJECT_HEADER), [],
        'the subject of an unverified certificate went upstream');
    } else {
      assert.equal(await originRequests(), seenBefore, 'a refused client reached the origin');
    }
  });

  it('escapes a subject with commas, quotes and CR LF into one header value', async () => {
    const eve = await issueCert({ cn: 'eve', subj: '/O=Doe, John "Q"/CN=eve\r\nX-Injected: 1',
      issuer: pki.clientCa, usage: 'client' });
    assert.equal(eve.subject, 'CN=eve\\0D\\0AX-Injected: 1,O=Doe\\, John \\"Q\\"');
    const echo = echoOf(await curlTls('mtls', 'localhost', '/_test/echo',
      ['--cert', eve.cert, '--key', eve.key]));
    assert.deepEqual(seen(echo, SUBJECT_HEADER), [eve.subject]);
    assert.deepEqual(seen(echo, 'x-injected'), [], 'a header injected through the subject');
  });

  it('accepts a client without a certificate when client_verify is optional, with no subject',
    async () => {
      const echo = echoOf(await curlTls('mtlsOptional', 'localhost', '/_test/echo'));
      assert.deepEqual(seen(echo, OTHER_SUBJECT_HEADER), []);
    });

  it('strips subject headers sent by clients on plain and TLS listeners', async () => {
    const spoof = ['-H', 'X-Client-Cert-Subject: CN=admin,O=Edge Tests',
      '-H', 'x-verified-subject: CN=root'];
    const spoofed = (echo) => [...seen(echo, SUBJECT_HEADER), ...seen(echo, OTHER_SUBJECT_HEADER)];
    const plain = echoOf(await curl([...spoof, `http://127.0.0.1:${port.plain}/_test/echo`]));
    assert.deepEqual(spoofed(plain), [], 'plain listener');
    const tls = echoOf(await curlTls('main', 'localhost', '/_test/echo', spoof));
    assert.deepEqual(spoofed(tls), [], 'TLS listener without client certificates');
    const optional = echoOf(await curlTls('mtlsOptional', 'localhost', '/_test/echo', spoof));
    assert.deepEqual(spoofed(optional), [], 'optional mTLS without a certificate');
    const verified = echoOf(await curlTls('mtls', 'localhost', '/_test/echo',
      [...spoof, '--cert', pki.client.alice.cert, '--key', pki.client.alice.key]));
    assert.deepEqual(seen(verified, SUBJECT_HEADER), [pki.client.alice.subject],
      'mTLS: only the verified subject');
    assert.deepEqual(seen(verified, OTHER_SUBJECT_HEADER), [],
      'mTLS: the other listener\'s header');
  });

  it('answers plain HTTP on a TLS port with a plain-text 400 and closes (plain_http), ' +
    'before the origin', async () => {
    const before = await tlsStats();
    const seenBefore = await originRequests();
    const { data, ended } = await rawExchange(port.main,
      requestHead('GET', '/_test/echo', [['Host', 'localhost']]));
    assert.notEqual(ended, 'timeout', 'the connection stayed open');
    assert.match(data.toString('latin1'), /^HTTP\/1\.1 400 /, data.toString('latin1'));
    const resp = parseRawResponses(data)[0];
    assert.equal(resp?.statusCode, 400);
    assert.match(resp.body.toString('latin1'), /plain HTTP/i);
    assert.match(resp.body.toString('latin1'), /TLS/);
    await waitForFailures('plain_http', before);
    assert.equal(await originRequests(), seenBefore);
    await assertServing();
  });

  it('closes a connection that sends garbage instead of a ClientHello (protocol), ' +
    'before the origin', async () => {
    const before = await tlsStats();
    const seenBefore = await originRequests();
    // A handshake record header followed by bytes that are no handshake message.
    const garbage = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]),
      Buffer.alloc(0x40, 0xee)]);
    const { data, ended } = await rawExchange(port.main, garbage);
    assert.notEqual(ended, 'timeout', 'the connection stayed open');
    assert.doesNotMatch(data.toString('latin1'), /^HTTP\//);
    await waitForFailures('protocol', before);
    assert.equal(await originRequests(), seenBefore);
    await assertServing();
  });

  it('closes handshakes stalled past handshake_timeout (timeout) while other connections ' +
    'keep working', async () => {
    const before = await tlsStats();
    const seenBefore = await originRequests();
    const started = Date.now();
    const stall = (bytes) => rawExchange(port.stall, bytes, { timeoutMs: 30000 });
    const stalled = {
      // A client that connects and never says anything.
      silent: stall([]),
      // The first bytes of a ClientHello record that announces 512 bytes, then nothing.
      partial: stall(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03,
        0x03])),
      // A whole ClientHello; the proxy answers it and then waits for the client's Finished.
      hello: stall(await clientHello('localhost')),
    };
    // Meanwhile complete handshakes on the same listener and another one are served.
    await assertServing('stall');
    await assertServing('main');
    for (const [what, exchange] of Object.entries(stalled)) {
      const { data, ended } = await exchange;
      assert.notEqual(ended, 'timeout', `the ${what} connection was never closed`);
      assert.ok(Date.now() - started >= 900, `${what}: closed before handshake_timeout (1s)`);
      assert.doesNotMatch(data.toString('latin1'), /^HTTP\//);
      if (what === 'hello') assert.equal(data[0], 0x16, 'no handshake record in answer');
    }
    await waitForFailures('timeout', before, 2);
    assert.equal(await originRequests(), seenBefore + 2,
      'a stalled connection reached the origin');
  });

  it('answers pipelined requests over one TLS connection in order', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: port.main, servername: 'localhost',
      ca: fs.readFileSync(pki.ca.cert) });
    await new Promise((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    try {
      const host = [['Host', 'localhost']];
      client.send(requestHead('GET', '/_test/echo?n=1', host) +
        requestHead('GET', '/_test/status/404', host) +
        requestHead('POST', '/_test/echo?n=3', [...host, ['Content-Length', '5']]) + 'hello' +
        requestHead('GET', '/_test/echo?n=4', host), { requests: 4 });
      const first = await client.next();
      assert.equal(JSON.parse(first.body).url, '/_test/echo?n=1');
      assert.equal((await client.next()).statusCode, 404);
      const third = JSON.parse((await client.next()).body);
      assert.deepEqual([third.url, third.bodyBytes], ['/_test/echo?n=3', 5]);
      assert.equal(JSON.parse((await client.next()).body).url, '/_test/echo?n=4');
    } finally {
      client.close();
    }
  });

  it('reads a request sent one byte per TLS record, and a head spanning several records',
    async () => {
      const socket = tls.connect({ host: '127.0.0.1', port: port.main, servername: 'localhost',
        ca: fs.readFileSync(pki.ca.cert) });
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      socket.setNoDelay(true);
      const client = new RawClient(socket);
      try {
        const small = requestHead('POST', '/_test/echo?bytewise=1',
          [['Host', 'localhost'], ['Content-Length', '3']]) + 'abc';
        // Registers the request with the client; its bytes follow, one write per byte (node's
        // TLS socket sends each as a record of its own).
        client.send(Buffer.alloc(0));
        for (const byte of Buffer.from(small)) socket.write(Buffer.from([byte]));
        const first = JSON.parse((await client.next()).body);
        assert.deepEqual([first.url, first.bodyBytes], ['/_test/echo?bytewise=1', 3]);
        const big = 'v'.repeat(20000);  // more than one 16 KB record
        client.send(requestHead('GET', '/_test/echo?big=1', [['Host', 'localhost'],
          ['X-Big', big]]));
        const second = JSON.parse((await client.next()).body);
        assert.deepEqual(seen(second, 'x-big'), [big]);
      } finally {
        client.close();
      }
    });

  it('completes 40 concurrent handshakes', async () => {
    const before = await tlsStats();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      httpsRequest(port.main, { path: `/_test/echo?c=${i}`, ca: pki.ca.cert,
        servername: i % 2 ? 'api.test' : 'shop.example.test' })));
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).url, `/_test/echo?c=${i}`);
    });
    await waitFor(async () => (await tlsStats()).handshakes >= before.handshakes + 40,
      { what: 'tls.handshakes to grow by 40' });
  });

  it('keeps serving after a TLS client leaves in the middle of a large response', async () => {
    const gone = await new Promise((resolve, reject) => {
      let received = 0;
      httpsRequest(port.main, { path: `/_test/bytes/${100 << 20}`, ca: pki.ca.cert,
        keepBody: false, onResponse: (res) => {
          res.on('data', (chunk) => {
            received += chunk.length;
            if (received >= 1 << 20) {
              res.socket.destroy();
              resolve(received);
            }
          });
        } }).catch(() => {});
      setTimeout(() => reject(new Error('no megabyte within 30 s')), 30000).unref();
    });
    assert.ok(gone >= 1 << 20);
    await assertServing();
    const big = await curlTls('main', 'api.test', `/_test/bytes/${BIG}`);
    assert.equal(sha256(big.stdout), patternSha256(BIG));
  });

  it('refuses or completes a TLS 1.2 renegotiation and keeps serving', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: port.main, servername: 'localhost',
      ca: fs.readFileSync(pki.ca.cert), maxVersion: 'TLSv1.2' });
    socket.on('error', () => {});
    await new Promise((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    try {
      client.send(requestHead('GET', '/_test/echo?before=renegotiation', [['Host', 'localhost']]));
      assert.equal((await client.next()).statusCode, 200);
      const outcome = await new Promise((resolve) => {
        const asked = socket.renegotiate({ rejectUnauthorized: false },
          (err) => resolve(err ? 'refused' : 'renegotiated'));
        if (!asked) resolve('refused');
        socket.once('close', () => resolve('closed'));
      });
      if (outcome === 'renegotiated') {
        client.send(requestHead('GET', '/_test/echo?after=renegotiation',
          [['Host', 'localhost']]));
        assert.equal((await client.next()).statusCode, 200);
      }
    } finally {
      client.close();
    }
    await assertServing();
  });

  it('reports every handshake failure reason and the handshake counters in /stats', async () => {
    const tls = await tlsStats();
    for (const key of ['handshakes', 'resumed']) {
      assert.equal(typeof tls[key], 'number', `tls.${key}: ${JSON.stringify(tls)}`);
    }
    assert.ok(tls.handshakes > 0);
    for (const reason of FAILURE_REASONS) {
      assert.equal(typeof tls.handshake_failures?.[reason], 'number',
        `tls.handshake_failures.${reason}: ${JSON.stringify(tls)}`);
    }
  });

  it('still serves every listener after all of this', async () => {
    for (const listener of ['main', 'strict', 'tls13', 'ciphers', 'mtlsOptional', 'stall']) {
      await assertServing(listener);
    }
    const plain = echoOf(await curl([`http://127.0.0.1:${port.plain}/_test/echo`]));
    assert.equal(plain.method, 'GET');
  });

  it('exits cleanly on SIGTERM (no sanitizer report)', async () => {
    const exit = await proxy.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, proxy.stderr.slice(-4000));
    assert.doesNotMatch(proxy.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  });
});

// The streaming tests of streaming.test.mjs over TLS: the proxy's TLS layer must push back like
// its plain sockets do, so memory stays bounded whichever side is slow.
describe('TLS streaming with bounded memory', { timeout: 240000 }, () => {
  const MB = 1 << 20;
  const HUGE = 100 * MB;
  const RSS_LIMIT_KB = 64 * 1024;
  let pki;
  let origin;
  before(async () => { [pki, origin] = await Promise.all([testPki(), startOrigin()]); });
  after(async () => { await origin?.stop(); });

  function assertBounded(t, rss, limitKb, what) {
    t.diagnostic(`${what}: RSS ${rss.baselineKb} -> ${rss.maxKb} kB over ${rss.samples} samples`);
    assert.ok(rss.increaseKb < limitKb, `${what}: proxy RSS grew by ${rss.increaseKb} kB ` +
      `(from ${rss.baselineKb} to ${rss.maxKb} kB; limit ${limitKb} kB)`);
  }

  // A proxy per test with one TLS listener, warmed up, so an earlier transfer cannot raise the
  // baseline. Resolves {proxy, get(path, options)}.
  async function freshProxy(t) {
    const proxy = await startProxy({ yaml: toYaml({
      listen: [{ address: '127.0.0.1:0', tls: { certificates: [
        { cert: pki.server.default.cert, key: pki.server.default.key }] } }],
      workers: 1,
      limits: { max_request_body: '200m' },
      upstreams: { app: { servers: [origin.address] } },
      route_classes: { no_cache: { cache: false } },
      routes: [{ match: { path_prefix: '/' }, upstream: 'app', class: 'no_cache' }],
    }) });
    t.after(() => proxy.stop());
    const get = (path, options = {}) => httpsRequest(proxy.port, { path, ca: pki.ca.cert,
      ...options });
    await get('/_test/bytes/1048576');
    return { proxy, get };
  }

  it('downloads 100 MB through TLS intact with bounded proxy memory', async (t) => {
    const { proxy, get } = await freshProxy(t);
    const rss = sampleRss(proxy.pid);
    const r = await get(`/_test/bytes/${HUGE}`, { keepBody: false });
    const stats = rss.stop();
    assert.equal(r.status, 200);
    assert.equal(r.bytes, HUGE);
    assert.equal(r.sha256, patternSha256(HUGE));
    assertBounded(t, stats, RSS_LIMIT_KB, 'download');
  });

  it('holds a response for a TLS client that stops reading, then delivers it intact',
    async (t) => {
      const { proxy, get } = await freshProxy(t);
      let rss;
      let paused;
      const r = await get(`/_test/bytes/${HUGE}`, { keepBody: false, onResponse: (res) => {
        res.pause();
        rss = sampleRss(proxy.pid);
        // The point of the test: a client that reads nothing for a while.
        paused = delay(2000).then(() => {
          const stats = rss.stop();
          res.resume();
          return stats;
        });
      } });
      assert.equal(r.status, 200);
      assert.equal(r.bytes, HUGE);
      assert.equal(r.sha256, patternSha256(HUGE));
      assertBounded(t, await paused, RSS_LIMIT_KB, 'while the client was not reading');
    });

  it('pushes back on a fast TLS uploader while the origin reads slowly', async (t) => {
    const { proxy, get } = await freshProxy(t);
    const size = 50 * MB;
    const rate = 12.5 * MB;
    const rss = sampleRss(proxy.pid);
    const r = await get(`/_test/consume-slowly?bytes_per_sec=${rate}`, { method: 'POST',
      headers: { 'content-length': size }, body: patternChunks(size, 64 * 1024) });
    const stats = rss.stop();
    assert.equal(r.status, 200, r.body.toString());
    const result = JSON.parse(r.body);
    assert.equal(result.bodyBytes, size);
    assert.equal(result.bodySha256, patternSha256(size));
    assert.ok(result.elapsed_ms >= 3000, `origin read 50 MB in ${result.elapsed_ms} ms`);
    // Half the body: a proxy that buffered the upload would exceed this.
    assertBounded(t, stats, 24 * 1024, 'slow upstream upload');
  });
});
