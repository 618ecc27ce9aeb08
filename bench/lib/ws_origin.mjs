// WebSocket echo origin for bench/run ws_echo (Debian's node-ws):
//   node ws_origin.mjs PORT
// Every message goes back on its connection as it came (text or binary); no compression. A plain
// HTTP request gets 200 "ok" (the driver's readiness check).
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire('/usr/share/nodejs/ws/');
const WebSocket = require('ws');

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
const wss = new WebSocket.WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
server.listen(port, '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
