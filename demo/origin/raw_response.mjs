// Responses written straight onto the socket, bypassing node's serializer, for framings and
// headers node would not produce itself. The connection is always closed afterwards, because
// node's own response queue for this socket is left behind.
import { STATUS_CODES } from 'node:http';
import { writePattern } from './streams.mjs';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

export function validHeaderPairs(pairs) {
  return pairs.every(([name, value]) => TOKEN.test(name) && !BAD_VALUE.test(value));
}

// Waits until the request body is consumed (closing with unread input would send a RST) and
// until earlier pipelined responses on this socket are done (node then assigns it to `res`).
async function ourTurn(req, res) {
  await new Promise((resolve) => {
    if (req.complete) return resolve();
    req.on('end', resolve);
    req.on('close', resolve);
    req.resume();
  });
  if (!res.socket) await new Promise((resolve) => res.once('socket', resolve));
  return res.socket;
}

function head(status, lines) {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n` +
    lines.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n';
}

// 200 whose body is delimited only by the end of the connection.
export async function sendUntilClose(req, res, bytes, chunk) {
  const socket = await ourTurn(req, res);
  if (socket.destroyed) return;
  socket.write(head(200, [['Date', new Date().toUTCString()], ['Connection', 'close'],
    ['Content-Type', 'text/plain']]));
  if (req.method !== 'HEAD') await writePattern(socket, bytes, chunk);
  socket.end();
}

// 200 carrying exactly the given header pairs, in order. A Connection header from the test is
// merged with our "close". Framing is ours unless the test supplied its own.
export async function sendWithHeaders(req, res, pairs) {
  const socket = await ourTurn(req, res);
  if (socket.destroyed) return;
  const lower = (n) => n.toLowerCase();
  const connection = pairs.filter(([n]) => lower(n) === 'connection').map(([, v]) => v);
  const lines = pairs.filter(([n]) => lower(n) !== 'connection');
  const body = Buffer.from(JSON.stringify({ headers: pairs }));
  const te = lines.find(([n]) => lower(n) === 'transfer-encoding');
  const hasLength = lines.some(([n]) => lower(n) === 'content-length');
  lines.push(['Content-Type', 'application/json; charset=utf-8'], ['Cache-Control', 'no-store'],
    ['Date', new Date().toUTCString()], ['Connection', [...connection, 'close'].join(', ')]);
  if (!te && !hasLength) lines.push(['Content-Length', String(body.length)]);
  let payload = body;
  if (te && /chunked\s*$/i.test(te[1])) {
    payload = Buffer.concat([Buffer.from(body.length.toString(16) + '\r\n'), body,
      Buffer.from('\r\n0\r\n\r\n')]);
  }
  socket.write(head(200, lines));
  if (req.method !== 'HEAD') socket.write(payload);
  socket.end();
}
