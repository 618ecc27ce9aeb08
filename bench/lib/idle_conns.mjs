// Holds many keep-alive connections open to one HTTP server for bench/load.sh (Node.js
// standard library only).
//   node idle_conns.mjs --port P --count N --path /x [--touch-s S] [--parallel K]
// Opens N connections (K handshakes at a time), sends one GET of PATH on each and waits for a
// complete 200 answer, then prints {"event":"ready",...} and keeps them open without traffic.
// Every S seconds (default 40; 0 = never) each connection sends one more GET, spread over the
// interval, so a server keep-alive timeout longer than S never closes them. On SIGUSR2 it
// sends one GET on every connection still open, prints {"event":"check",...} with how many
// were closed by the server before, answered 200, or failed, closes them all and exits.
// A connection that the server closed at any time counts as closed, never reopened.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  count: { type: 'string', default: '9000' },
  path: { type: 'string', default: '/' },
  'touch-s': { type: 'string', default: '40' },
  parallel: { type: 'string', default: '200' },
} });
const port = Number(opt.port);
const count = Number(opt.count);
const touchMs = Number(opt['touch-s']) * 1000;
const parallel = Number(opt.parallel);
const request = `GET ${opt.path} HTTP/1.1\r\nHost: ${opt.host}:${port}\r\n\r\n`;

const emit = (event, fields) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

// One connection with at most one request in flight. ask() resolves with the status of the
// complete answer, or rejects if the connection fails or closes first.
class Conn {
  constructor() {
    this.closed = false;
    this.closedDuringRequest = false;
    this.buffer = Buffer.alloc(0);
    this.pending = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      this.socket = net.connect({ host: opt.host, port }, resolve);
      this.socket.once('error', reject);
      this.socket.on('error', () => {});
      this.socket.on('data', (chunk) => this.onData(chunk));
      this.socket.on('close', () => {
        this.closed = true;
        if (this.pending) {
          this.closedDuringRequest = true;
          this.pending.reject(new Error('closed before the answer was complete'));
          this.pending = null;
        }
      });
    });
  }

  ask() {
    if (this.closed) return Promise.reject(new Error('closed'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  onData(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const status = completeAnswer(this.buffer);
    if (status === null || !this.pending) return;
    this.buffer = Buffer.alloc(0);
    const { resolve } = this.pending;
    this.pending = null;
    resolve(status);
  }
}

// Status code once buffer holds one complete answer (Content-Length or chunked), else null.
function completeAnswer(buffer) {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buffer.subarray(0, end).toString('latin1');
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) return buffer.length >= end + 4 + Number(length[1]) ? status : null;
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    // The last chunk "0\r\n\r\n" comes right after the head (empty body) or after a CRLF.
    const done = buffer.indexOf('0\r\n\r\n', end + 4) === end + 4
      || buffer.indexOf('\r\n0\r\n\r\n', end) >= 0;
    return done ? status : null;
  }
  return status; // no body (204/304)
}

const conns = [];
const errors = { open: 0, touch: 0 };
const started = Date.now();

async function openAll() {
  let next = 0;
  async function lane() {
    while (next < count) {
      next += 1;
      const c = new Conn();
      try {
        await c.open();
        const status = await c.ask();
        if (status !== 200) throw new Error(`status ${status}`);
        conns.push(c);
      } catch {
        errors.open += 1;
        c.socket?.destroy();
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
}

function touchLoop() {
  if (touchMs <= 0) return;
  const step = touchMs / Math.max(1, conns.length);
  let i = 0;
  const timer = setInterval(() => {
    // Timers fire at most every ms or so: touch as many as are due since the last tick.
    const due = Math.max(1, Math.round(1 / step));
    for (let k = 0; k < due; k++) {
      const c = conns[i % conns.length];
      i += 1;
      if (!c.closed && !c.pending) {
        c.ask().then((s) => { if (s !== 200) errors.touch += 1; }, () => { errors.touch += 1; });
      }
    }
  }, Math.max(1, step));
  timer.unref();
}

async function check() {
  const closedBefore = conns.filter((c) => c.closed).length;
  let answered = 0;
  let failed = 0;
  await Promise.all(conns.filter((c) => !c.closed).map(async (c) => {
    try {
      if ((await c.ask()) === 200) answered += 1; else failed += 1;
    } catch {
      failed += 1;
    }
  }));
  emit('check', { held: conns.length, closed_before: closedBefore, answered, failed,
    touch_errors: errors.touch, open_errors: errors.open,
    held_s: Math.round((Date.now() - started) / 1000) });
  for (const c of conns) c.socket.destroy();
  process.exit(0);
}

await openAll();
emit('ready', { requested: count, open: conns.length, open_errors: errors.open,
  ms: Date.now() - started });
touchLoop();
process.on('SIGUSR2', () => { check(); });
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30); // stay alive until signalled
