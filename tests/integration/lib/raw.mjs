// Byte-exact HTTP clients on plain TCP sockets, for requests no well-behaved client would send
// and for checking exactly what comes back.
import net from 'node:net';
import { ResponseDecoder, parseRawResponses } from './response_decoder.mjs';

export { parseRawResponses } from './response_decoder.mjs';

export function connect(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

// Sends `bytes` (a string, Buffer, or array of them written one after another) and collects
// everything until the server closes, resets, or `timeoutMs` passes.
// Resolves {data, ended: 'close' | 'reset' | 'timeout'}.
export async function rawExchange(port, bytes, { timeoutMs = 30000, host } = {}) {
  const socket = await connect(port, host);
  return new Promise((resolve) => {
    const parts = [];
    let settled = false;
    const done = (ended) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(parts), ended });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('data', (d) => parts.push(d));
    socket.on('end', () => done('close'));
    socket.on('close', () => done('close'));
    socket.on('error', () => done('reset'));
    for (const piece of [].concat(bytes)) socket.write(piece);
  });
}

// All bytes received until the server closes or the timeout.
export async function rawRequest(port, bytes, options) {
  return (await rawExchange(port, bytes, options)).data;
}

// One request on a connection of its own (Connection: close), with an optional body: the
// response's status and X-Cache, and how many bytes the server wrote back in all.
export async function requestOnce(port, method, target, body) {
  const headers = [['Host', 'localhost'], ['Connection', 'close']];
  if (body !== undefined) headers.push(['Content-Length', String(Buffer.byteLength(body))]);
  const bytes = await rawRequest(port, requestHead(method, target, headers) + (body ?? ''));
  const [response] = parseRawResponses(bytes, { headRequests: [] });
  if (!response?.complete) {
    throw new Error(`${method} ${target}: incomplete answer: ${bytes.toString().slice(0, 200)}`);
  }
  return { bytes: bytes.length, status: response.statusCode, xCache: response.headers['x-cache'] };
}

// A connection on which requests are written and responses read one by one.
export class RawClient {
  static async open(port, host) {
    return new RawClient(await connect(port, host));
  }

  constructor(socket) {
    this.socket = socket;
    this.headQueue = [];
    this.waiters = [];
    this.ended = null;
    this.decoder = new ResponseDecoder({
      isHead: (i) => this.headQueue[i] === true,
      onComplete: (resp) => { if (!resp.interim) this.wake(); },
    });
    this.requestCount = 0;
    socket.on('data', (d) => {
      try {
        this.decoder.push(d);
      } catch (err) {
        this.error = err;
      }
      this.wake();
    });
    const end = (how) => () => {
      if (this.ended) return;
      this.ended = how;
      this.decoder.end();
      this.wake();
    };
    socket.on('end', end('close'));
    socket.on('close', end('close'));
    socket.on('error', end('reset'));
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  // `head: true` tells the decoder the response to this request has no body.
  send(bytes, { head = false, requests = 1 } = {}) {
    for (let i = 0; i < requests; i++) this.headQueue.push(head);
    this.socket.write(bytes);
  }

  finalResponses() {
    return this.decoder.responses.filter((r) => !r.interim);
  }

  // Waits for the next complete response (in order). Rejects on timeout, on a framing error,
  // or when the connection ends first.
  async next({ timeoutMs = 30000 } = {}) {
    const index = this.requestCount;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.error) throw this.error;
      const resp = this.finalResponses()[index];
      if (resp?.complete) {
        this.requestCount++;
        return resp;
      }
      if (this.ended) {
        throw new Error(`connection ended (${this.ended}) before response ${index} completed`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response ${index} within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  // Resolves 'close' | 'reset' when the server ends the connection, 'timeout' otherwise.
  async waitEnd({ timeoutMs = 30000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.ended ?? 'timeout';
  }

  close() {
    this.socket.destroy();
  }
}

// A minimal request head; `headers` is an array of [name, value] pairs, sent in order.
export function requestHead(method, target, headers = [['Host', 'localhost']],
  version = 'HTTP/1.1') {
  return `${method} ${target} ${version}\r\n` +
    headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n';
}

// Encodes pieces as chunked transfer coding, including the last-chunk.
export function chunked(pieces) {
  const out = [];
  for (const piece of pieces) {
    const buf = Buffer.from(piece);
    if (buf.length === 0) continue;  // an empty chunk would end the body early
    out.push(Buffer.from(buf.length.toString(16) + '\r\n'), buf, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}
