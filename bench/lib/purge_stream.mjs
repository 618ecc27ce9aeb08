// Publishes invalidation messages at a steady rate (bench/purge.sh, throughput under purges):
// every 10 ms a batch of rate/100 PUBLISHes of {"patterns":["org:<n>:*"],"soft":true}, n cycling
// over --orgs. Soft, so that every pass finds its entries again (a hard purge would leave the
// later passes nothing to do).
// Usage: node purge_stream.mjs --redis PORT --rate 1000 --seconds S [--orgs 1000]
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({ options: {
  redis: { type: 'string' }, rate: { type: 'string', default: '1000' },
  seconds: { type: 'string', default: '10' }, orgs: { type: 'string', default: '1000' } } });
const perTick = Math.max(1, Math.round(Number(opts.rate) / 100));
const socket = net.connect({ host: '127.0.0.1', port: Number(opts.redis) });
socket.on('data', () => {});
let n = 0;
let sent = 0;
const publish = (message) => `*3\r\n$7\r\nPUBLISH\r\n$18\r\ncache_invalidation\r\n` +
  `$${Buffer.byteLength(message)}\r\n${message}\r\n`;
const started = Date.now();
socket.once('connect', () => {
  const timer = setInterval(() => {
    // Catch up on late ticks so the average rate holds.
    const due = Math.floor(((Date.now() - started) / 10) * perTick) - sent;
    let batch = '';
    for (let i = 0; i < due; i++) {
      batch += publish(`{"patterns":["org:${n}:*"],"soft":true}`);
      n = (n + 1) % Number(opts.orgs);
    }
    sent += Math.max(0, due);
    if (batch) socket.write(batch);
    if (Date.now() - started >= Number(opts.seconds) * 1000) {
      clearInterval(timer);
      console.log(JSON.stringify({ sent, seconds: (Date.now() - started) / 1000 }));
      socket.end();
    }
  }, 10);
});
