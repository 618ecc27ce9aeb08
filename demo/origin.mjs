#!/usr/bin/env node
// Demo JSON API origin for edge-proxy, also scripted by the integration tests.
// Usage: node demo/origin.mjs [--host 127.0.0.1] [--port 3000]   (--port 0 picks a free port)
import { parseArgs } from 'node:util';
import { createOriginServer } from './origin/server.mjs';

const USAGE = 'usage: node demo/origin.mjs [--host 127.0.0.1] [--port 3000]\n';

let options;
try {
  ({ values: options } = parseArgs({ options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '3000' },
    help: { type: 'boolean', short: 'h', default: false },
  } }));
} catch (err) {
  process.stderr.write(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const port = Number(options.port);
if (!/^\d{1,5}$/.test(options.port) || port > 65535) {
  process.stderr.write(`invalid --port "${options.port}"\n${USAGE}`);
  process.exit(2);
}

const server = createOriginServer();
server.on('error', (err) => {
  process.stderr.write(`origin: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, options.host, () => {
  const { address, port: bound } = server.address();
  const host = address.includes(':') ? `[${address}]` : address;
  process.stdout.write(`origin listening on ${host}:${bound}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  // Open keep-alive and hanging requests would otherwise hold close() forever.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
