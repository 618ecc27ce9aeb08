// WebSocket echo load client for bench/run ws_echo (Debian's node-ws), binary messages, no
// compression. Prints one JSON line.
//   node ws_echo.mjs latency URL SECONDS SIZE
//     one connection, one message in flight: send SIZE bytes, wait for the echo, again, for
//     SECONDS after 500 untimed warm-up messages; round-trip times in microseconds (p50, p99,
//     max). Every echo must be the bytes sent (sequence number included).
//   node ws_echo.mjs throughput URL SECONDS CONNECTIONS WINDOW SIZE
//     CONNECTIONS connections, each keeping WINDOW messages of SIZE bytes in flight (a new one
//     sent for every echo); messages echoed per second over SECONDS, counted once every
//     connection is open and one second of warm-up has passed. Echoes are checked for their
//     size and their sequence (each connection's echoes must come back in order).
import { createRequire } from 'node:module';

const require = createRequire('/usr/share/nodejs/ws/');
const WebSocket = require('ws');

const [mode, url] = process.argv.slice(2, 4);
const args = process.argv.slice(4).map(Number);

function open(u) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(u, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function pct(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.max(0, Math.ceil((sorted.length * p) / 100) - 1)];
}

async function latency(seconds, size) {
  const ws = await open(url);
  const msg = Buffer.alloc(size, 0x61);
  let errors = 0;
  const once = (seq) => new Promise((resolve) => {
    msg.writeUInt32BE(seq, 0);
    const t0 = process.hrtime.bigint();
    ws.once('message', (data) => {
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (!Buffer.isBuffer(data) || !data.equals(msg)) errors++;
      resolve(us);
    });
    ws.send(msg, { binary: true });
  });
  let seq = 0;
  for (let i = 0; i < 500; i++) await once(seq++);
  const samples = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) samples.push(await once(seq++));
  ws.close();
  samples.sort((a, b) => a - b);
  return { n: samples.length, p50_us: pct(samples, 50), p99_us: pct(samples, 99), max_us: samples[samples.length - 1],
           errors };
}

async function throughput(seconds, connections, window, size) {
  const socks = await Promise.all(Array.from({ length: connections }, () => open(url)));
  let counting = false;
  let counted = 0;
  let errors = 0;
  let stopped = false;
  for (const ws of socks) {
    let sent = 0;
    let expect = 0;
    const send = () => {
      const m = Buffer.alloc(size, 0x62);
      m.writeUInt32BE(sent++ >>> 0, 0);
      ws.send(m, { binary: true });
    };
    ws.on('message', (data) => {
      if (data.length !== size || data.readUInt32BE(0) !== (expect >>> 0)) errors++;
      expect++;
      if (counting) counted++;
      if (!stopped) send();
    });
    ws.on('error', () => { errors++; });
    ws.on('close', () => { if (!stopped) errors++; });
    for (let i = 0; i < window; i++) send();
  }
  await new Promise((r) => setTimeout(r, 1000));
  counting = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  stopped = true;
  const result = { messages: counted, seconds: secs, msgs_per_s: counted / secs, errors };
  for (const ws of socks) ws.terminate();
  return result;
}

const result = mode === 'latency' ? await latency(args[0], args[1])
  : await throughput(args[0], args[1], args[2], args[3]);
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
