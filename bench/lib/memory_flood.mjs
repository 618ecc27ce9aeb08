// A flood of GETs to unique cacheable URLs through a real edge-proxy with a small cache budget,
// reporting the proxy's RSS (VmRSS) against the store's own count. Run by bench/run memory_flood.
//
//   node bench/lib/memory_flood.mjs [--bin PATH] [--memory 32m] [--count 30000] [--parallel 32]
//                               [--workers 2] [--shards 16] [--compress-on-store 0|1]
//
// The size mix is JSON API traffic: mostly a few hundred bytes to 4 KB, every 10th 16 KB and
// every 50th 64 KB; half the bodies compress poorly. With --compress-on-store 1 the class stores
// gzip forms at once and Brotli forms on the background thread, as api_list in
// config/examples/edge.yaml does.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const lib = path.join(here, '..', '..', 'tests', 'integration', 'lib');
const args = parseArgs(process.argv.slice(2));
if (args.bin) process.env.EDGE_PROXY_BIN = path.resolve(args.bin);
process.env.EDGE_ADMIN_TOKEN = 'memory-flood-token';

const { startOrigin } = await import(path.join(lib, 'origin.mjs'));
const { startProxy } = await import(path.join(lib, 'proxy.mjs'));
const { toYaml } = await import(path.join(lib, 'config.mjs'));
const { rssKb, sampleRss } = await import(path.join(lib, 'rss.mjs'));
const { request } = await import(path.join(lib, 'http.mjs'));

const SMALL_SIZES = [280, 450, 700, 1100, 1600, 2300, 3100, 4096];

export function sizeOf(i) {
  if (i % 50 === 49) return 64 * 1024;
  if (i % 10 === 9) return 16 * 1024;
  return SMALL_SIZES[(i * 7) % SMALL_SIZES.length];
}

function parseArgs(argv) {
  const out = { memory: '32m', count: 30000, parallel: 32, workers: 2, shards: 16,
    'compress-on-store': 0 };
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['count', 'parallel', 'workers', 'shards', 'compress-on-store']) {
    out[k] = Number(out[k]);
  }
  return out;
}

async function flood(port, from, count, parallel) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  let next = from;
  let bad = 0;
  const end = from + count;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < end) {
      const i = next++;
      const noise = i % 2 === 0 ? '&pad=noise' : '';
      const res = await request(port, { path: `/_test/cache/flood/${i}?size=${sizeOf(i)}${noise}`,
        headers: { 'accept-encoding': i % 3 === 0 ? 'gzip' : 'identity' }, agent });
      if (res.status !== 200) bad++;
    }
  }));
  agent.destroy();
  return bad;
}

const origin = await startOrigin();
const proxy = await startProxy({ yaml: toYaml({
  listen: ['127.0.0.1:0'],
  workers: args.workers,
  cache: { memory: args.memory, shards: args.shards },
  upstreams: { app: { servers: [origin.address] } },
  route_classes: { flood: { ttl: '10m', compress_on_store: args['compress-on-store'] === 1,
    tags: ['flood:{path.3}'] } },
  routes: [{ match: { path_prefix: '/_test/cache/' }, upstream: 'app', class: 'flood' }],
  admin: { listen: '127.0.0.1:0' },
}) });
const adminPort = Number(proxy.stderr.match(/admin API at http:\/\/\S+:(\d+)/)?.[1]);
const storeStats = async () => JSON.parse((await request(adminPort, { path: '/stats',
  headers: { authorization: `Bearer ${process.env.EDGE_ADMIN_TOKEN}` } })).body).store;

try {
  const idleKb = rssKb(proxy.pid);
  const warm = Math.min(2000, args.count);
  await flood(proxy.port, 1e9, warm, args.parallel);  // another key range: not counted
  const warmKb = rssKb(proxy.pid);
  const rss = sampleRss(proxy.pid);
  const started = Date.now();
  const bad = await flood(proxy.port, 0, args.count, args.parallel);
  const seconds = (Date.now() - started) / 1000;
  const sampled = rss.stop();
  const store = await storeStats();
  const budgetKb = store.budget / 1024;
  const result = {
    memory: args.memory, compress_on_store: args['compress-on-store'] === 1,
    workers: args.workers, shards: args.shards, count: args.count,
    seconds, bad, idle_kb: idleKb, warm_kb: warmKb, max_kb: sampled.maxKb,
    end_kb: rssKb(proxy.pid), store_entries: store.entries,
    store_kb: Math.round(store.bytes / 1024),
    budget_kb: budgetKb, evictions: store.evictions,
    limit_kb: Math.round(1.5 * budgetKb + idleKb),
  };
  result.within_limit = result.max_kb <= result.limit_kb;
  console.log(JSON.stringify(result));
} finally {
  await proxy.stop();
  await origin.stop();
}
