// Test PKI made at run time with the openssl command line tool, in a per-process temp directory
// removed at exit (no key is ever committed). testPki() makes the whole set once per process:
//   ca, otherCa, clientCa             CAs ({cert, key}); otherCa is unrelated to the others
//   server.default                    CN=default.test, SAN localhost, 127.0.0.1 (a default)
//   server.api                        CN=api.test, SAN api.test
//   server.wildcard                   CN=*.example.test, SAN *.example.test
//   server.origin                     CN=origin.test, SAN origin.test, localhost, 127.0.0.1
//   server.wrongHost                  CN=wrong.test, SAN wrong.test only
//   server.expired                    like origin, but valid only in January 2020
//   server.untrusted                  like origin, but issued by otherCa
//   client.alice                      CN=alice,O=Edge Tests, clientAuth, issued by clientCa
//   client.mallory                    CN=mallory, clientAuth, issued by otherCa
// Every issued certificate is {cert, key, subject (RFC 2253 form, as openssl prints it)}.
// All keys are RSA 2048 so that TLS 1.2 ECDHE-RSA cipher lists apply to every server cert.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';

let dir;
function tempDir() {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-proxy-pki-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return dir;
}

// Runs openssl; resolves its stdout, rejects with its stderr.
export function openssl(args, { input, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`openssl ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    if (input !== undefined) child.stdin.end(input);
  });
}

// A config of our own, so the system openssl.cnf adds no extensions of its own.
const REQ_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
`;

function file(name, text) {
  const p = path.join(tempDir(), name);
  if (text !== undefined) fs.writeFileSync(p, text);
  return p;
}

let counter = 0;
const unique = (name) =>
  `${String(++counter).padStart(2, '0')}-${name.replace(/[^A-Za-z0-9.-]/g, '_')}`;

async function newKey(name) {
  const key = file(`${name}.key`);
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048',
    '-out', key]);
  return key;
}

// The subject as RFC 2253 (most specific RDN first, comma separated), e.g. "CN=alice,O=Edge Tests".
export async function subjectOf(cert) {
  const out = await openssl(['x509', '-in', cert, '-noout', '-subject', '-nameopt', 'RFC2253']);
  return out.trim().replace(/^subject=\s*/, '');
}

// A self-signed CA.
export async function makeCa(cn) {
  const name = unique(cn);
  const key = await newKey(name);
  const cert = file(`${name}.pem`);
  const cnf = file(`${name}.cnf`, `${REQ_CONFIG}[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`);
  await openssl(['req', '-config', cnf, '-new', '-x509', '-key', key, '-sha256', '-days', '3650',
    '-subj', `/CN=${cn}`, '-extensions', 'v3_ca', '-out', cert]);
  return { cert, key, subject: await subjectOf(cert) };
}

function leafExtensions({ dns, ips, usage }) {
  const san = [...dns.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)];
  const lines = [
    '[v3_leaf]',
    'basicConstraints = critical, CA:FALSE',
    `keyUsage = critical, digitalSignature, keyEncipherment`,
    `extendedKeyUsage = ${usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid, issuer',
  ];
  if (san.length > 0) lines.push(`subjectAltName = ${san.join(', ')}`);
  return lines.join('\n') + '\n';
}

// A certificate issued by `issuer` ({cert, key}). subj: "/O=.../CN=..." (default "/CN=<cn>");
// dns / ips: its subjectAltName; usage: 'server' | 'client'; expired: valid only in January
// 2020 (made with `openssl ca -startdate/-enddate`, since `openssl x509` in 3.0 has no way to
// set a start date).
export async function issueCert({ cn, subj, dns = [], ips = [], issuer, usage = 'server',
  expired = false }) {
  const name = unique(cn);
  const key = await newKey(name);
  const csr = file(`${name}.csr`);
  const cert = file(`${name}.pem`);
  const reqCnf = file(`${name}-req.cnf`, REQ_CONFIG);
  await openssl(['req', '-config', reqCnf, '-new', '-key', key, '-subj', subj ?? `/CN=${cn}`,
    '-out', csr]);
  const ext = file(`${name}.ext`, leafExtensions({ dns, ips, usage }));
  if (!expired) {
    const serial = '0x' + Buffer.from(Array.from({ length: 16 },
      () => Math.floor(Math.random() * 256))).toString('hex').replace(/^./, '1');
    await openssl(['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key,
      '-set_serial', serial, '-sha256', '-days', '825', '-extfile', ext,
      '-extensions', 'v3_leaf', '-out', cert]);
  } else {
    // A throwaway CA database of its own, so several of these can run at once.
    const db = path.join(tempDir(), `${name}-ca`);
    fs.mkdirSync(path.join(db, 'new'), { recursive: true });
    fs.writeFileSync(path.join(db, 'index.txt'), '');
    fs.writeFileSync(path.join(db, 'serial'), '1000\n');
    const caCnf = file(`${name}-ca.cnf`, `[ca]
default_ca = test_ca
[test_ca]
database = ${path.join(db, 'index.txt')}
new_certs_dir = ${path.join(db, 'new')}
serial = ${path.join(db, 'serial')}
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
copy_extensions = none
[any]
organizationName = optional
commonName = supplied
`);
    await openssl(['ca', '-config', caCnf, '-batch', '-notext', '-cert', issuer.cert,
      '-keyfile', issuer.key, '-in', csr, '-out', cert,
      '-startdate', '20200101000000Z', '-enddate', '20200201000000Z',
      '-extfile', ext, '-extensions', 'v3_leaf']);
  }
  return { cert, key, subject: await subjectOf(cert) };
}

let pki;
// The shared test PKI described at the top, made once per process.
export function testPki() {
  pki ??= (async () => {
    const [ca, otherCa, clientCa] = await Promise.all([
      makeCa('Edge Test CA'), makeCa('Unrelated Test CA'), makeCa('Edge Test Client CA')]);
    const originNames = { dns: ['origin.test', 'localhost'], ips: ['127.0.0.1'] };
    const jobs = {
      default: { cn: 'default.test', dns: ['localhost'], ips: ['127.0.0.1'], issuer: ca },
      api: { cn: 'api.test', dns: ['api.test'], issuer: ca },
      wildcard: { cn: '*.example.test', dns: ['*.example.test'], issuer: ca },
      origin: { cn: 'origin.test', ...originNames, issuer: ca },
      wrongHost: { cn: 'wrong.test', dns: ['wrong.test'], issuer: ca },
      expired: { cn: 'expired.origin.test', ...originNames, issuer: ca, expired: true },
      untrusted: { cn: 'untrusted.origin.test', ...originNames, issuer: otherCa },
      alice: { cn: 'alice', subj: '/O=Edge Tests/CN=alice', issuer: clientCa, usage: 'client' },
      mallory: { cn: 'mallory', issuer: otherCa, usage: 'client' },
    };
    const names = Object.keys(jobs);
    const made = await Promise.all(names.map((n) => issueCert(jobs[n])));
    const by = Object.fromEntries(names.map((n, i) => [n, made[i]]));
    return {
      dir: tempDir(),
      ca,
      otherCa,
      clientCa,
      server: {
        default: by.default, api: by.api, wildcard: by.wildcard, origin: by.origin,
        wrongHost: by.wrongHost, expired: by.expired, untrusted: by.untrusted,
      },
      client: { alice: by.alice, mallory: by.mallory },
    };
  })();
  return pki;
}

// Writes `text` to a new file in the PKI's temp directory (for broken PEM files and the like).
export function pkiFile(name, text) {
  return file(unique(name), text);
}
