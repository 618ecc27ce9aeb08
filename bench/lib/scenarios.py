"""The scenarios of bench/run, as data: their options and defaults, the servers they start, the
targets they measure (server, path, headers, what a correct answer is), how caches are primed
and checked, which load tool runs, the report's tables, ratios and goals, and the texts that go
with the figures (title, load, checks). Texts are str.format templates over the options (o) and
the facts the run gathered (f)."""

import os
import tempfile

from servers import CACHE_CONTROL, details, edge_yaml, make_body, make_work_orders

CC = CACHE_CONTROL

# Common options (one parser for all): each scenario lists the ones it takes with its defaults.
COMMON = {
    "rounds": dict(type=int, metavar="R", help="measured rounds per target"),
    "duration": dict(metavar="D", help="load duration per run, e.g. 10s, 1m"),
    "connections": dict(type=int, metavar="C", help="wrk connections"),
    "threads": dict(type=int, metavar="T", help="wrk threads"),
    "workers": dict(type=int, metavar="N", help="workers of edge-proxy and nginx (Varnish keeps its default thread pools)"),
    "warmup": dict(metavar="D", help="warm-up per target before round 1 (0 skips it)"),
    "pin": dict(action="store_true", help="servers on CPU 0, the load tool on CPU 1 (wrk with one thread)"),
    "markdown": dict(action="store_true", help="print the block for bench/RESULTS.md on stdout (plain tables on stderr)"),
    "keep": dict(action="store_true", help="keep the run directory (configs, server logs, raw output)"),
}
WRK_COMMON = dict(rounds=5, duration="10s", connections=64, threads=2, workers=1, warmup="2s", pin=False,
                  markdown=False, keep=False)

WRK_LOAD = ("wrk -t{o.threads} -c{o.connections} -d{o.duration} --latency")
CACHE_EDGE = "{f[edge_bin]} (cache: {{memory: 256m}}, class ttl: 1h)"

# ---- passthrough ---------------------------------------------------------------------------------

PASSTHROUGH = dict(
    about="edge-proxy and nginx as reverse proxies without caching, in front of one nginx origin",
    tool="wrk", needs=["nginx", "wrk"], defaults=WRK_COMMON, baseline=True,
    options=[
        ("--body-bytes", dict(type=int, default=1024, metavar="B", help="origin response body size (>= 64)")),
        ("--edge-mode", dict(choices=["config", "quick"], default="config",
                             help="config: generated YAML (checked with --check-config); quick: --listen/--upstream/--workers")),
    ],
    checks_options=lambda o: [] if o.body_bytes >= 64 else ["--body-bytes must be at least 64"],
    bodies=lambda o: {"body.json": make_body(o.body_bytes)},
    servers=lambda o: [
        dict(name="origin", kind="nginx-origin", body="body.json"),
        dict(name="nginx", kind="nginx-proxy", upstream="origin"),
        dict(name="edge", kind="edge-quick" if o.edge_mode == "quick" else "edge-pass", upstream="origin"),
    ],
    targets=[dict(name="edge", server="edge", check="body", body="body.json"),
             dict(name="nginx", server="nginx", check="body", body="body.json")],
    tables=[dict(pairs="edge:nginx",
                 title="Pass-through, {o.body_bytes}-byte JSON body, {o.workers} worker(s) per proxy",
                 heading="Pass-through, {o.body_bytes}-byte body, {o.workers} worker(s)")],
    edge_setup="{f[edge_bin]} ({o.edge_mode} mode)",
    load=WRK_LOAD + "; {o.rounds} interleaved rounds (order alternates); warm-up {o.warmup} per target; "
                    "origin nginx with 1 worker on the same machine",
)

# ---- cache_hit -----------------------------------------------------------------------------------


def edge_log_yaml(o, port, up, ports, workers):
    """The edge-cache config plus an access log (JSON, every request) to a file of its own."""
    log_file = os.path.join(tempfile.mkdtemp(prefix="edge-access-log-"), "access.log")
    return edge_yaml(port, up, workers, "256m") + (
        "access_log: { path: %s, format: json, sample: 1, flush_interval: 1s, buffer_size: 4m }\n" % log_file)


CACHE_HIT = dict(
    about="edge-proxy, nginx proxy_cache and Varnish serving cache hits of one URL, per body size",
    tool="wrk", needs=["nginx", "wrk", "varnishd"], defaults=WRK_COMMON, baseline=True,
    options=[("--sizes", dict(default="1024,65536", metavar="LIST",
                              help="body sizes in bytes, measured one after the other (each >= 64)")),
             ("--access-log", dict(action="store_true",
                                   help="also measure edge-log: the same edge-proxy with access_log (JSON, every "
                                        "request) to a file, against edge (no access log)"))],
    checks_options=lambda o: [] if all(s.isdigit() and int(s) >= 64 for s in o.sizes.split(","))
    else ["--sizes: every size must be an integer >= 64 (got '%s')" % o.sizes],
    variants=lambda o: [int(s) for s in o.sizes.split(",")],
    bodies=lambda o: {"body-%s.json" % s: make_body(int(s)) for s in o.sizes.split(",")},
    servers=lambda o: [
        dict(name="origin", kind="cacheable-origin", bodies=["body-%s.json" % s for s in o.sizes.split(",")]),
        dict(name="nginx", kind="nginx-cache", upstream="origin"),
        dict(name="edge", kind="edge-cache", upstream="origin", cache="256m"),
        dict(name="varnish", kind="varnish", upstream="origin"),
    ] + ([dict(name="edge-log", kind="edge-cache", upstream="origin", cache="256m", yaml=edge_log_yaml,
               label_suffix=" + access log")]
         if o.access_log else []),
    targets=lambda o, size: [dict(name=n, server=n, path="body-%d.json" % size, body="body-%d.json" % size)
                             for n in ("edge", "nginx", "varnish") + (("edge-log",) if o.access_log else ())],
    prime=dict(gets=3, order=["edge", "nginx", "varnish"]),
    prefix=lambda size: "%dB" % size,
    tables=[dict(pairs=lambda o: "edge:nginx,edge:varnish" + (",edge-log:edge" if o.access_log else ""),
                 title="Cache hits, {f[variant]}-byte JSON body, {o.workers} worker(s) for edge-proxy and nginx, "
                       "Varnish with default thread pools",
                 heading="Cache hits, {f[variant]}-byte body, {o.workers} worker(s)")],
    edge_setup=CACHE_EDGE,
    load=WRK_LOAD + " on one URL; {o.rounds} interleaved rounds (order rotates); warm-up {o.warmup} per target; "
                    "every answer a cache hit (origin: nginx, 1 worker, Cache-Control: " + CC + ") on the same machine",
    checks="origin requests while priming (4 GETs each): {f[primed_text]}; origin requests during the measured runs: "
           "{f[during]} (warm-up included: {f[origin_total]}); every target answered HIT with the origin's bytes "
           "before round 1 and after every run",
)

# ---- compressed_hit ------------------------------------------------------------------------------

NGINX_GZIP = """  gzip on;
  gzip_types application/json;
  gzip_min_length 1000;
  gzip_comp_level 6;
  gzip_proxied any;"""
VARNISH_GZIP = """  if (beresp.http.Content-Type ~ "^application/json") {
    set beresp.do_gzip = true;
  }"""


def compressed_facts(o, f, variant):
    w = f["wire"]
    gz, br = w["edge-gz"][0], w["edge-br"][0]
    f["br_gz"] = round(br / gz, 2)
    return {"sizes": "gzip %d -> %d bytes (%.1f %%) from edge-proxy, %d from nginx, %d from Varnish; br (edge-proxy, "
                     "stored form at compression.brotli_quality) %d bytes (%.1f %%); br/gzip size ratio %.2f" % (
                         o.body_bytes, gz, 100 * gz / o.body_bytes, w["nginx"][0], w["varnish"][0], br,
                         100 * br / o.body_bytes, br / gz),
            "prime_edge": f["primed_group_edge"],
            "br_gz": round(br / gz, 2)}


def compressed_title(enc):
    return dict(title="Compressed cache hits (Accept-Encoding: %s), {o.body_bytes}-byte JSON body, {o.workers} worker(s) "
                      "for edge-proxy and nginx, Varnish with default thread pools" % enc,
                heading="Compressed cache hits (Accept-Encoding: %s), {o.body_bytes}-byte body, {o.workers} worker(s)" % enc)


EDGE_GROUP = "identity, gzip and br"
COMPRESSED_HIT = dict(
    about="cache hits of one ~64 KB JSON document in gzip (edge-proxy, nginx, Varnish), Brotli and identity (edge-proxy)",
    tool="wrk", needs=["nginx", "wrk", "varnishd"], defaults=WRK_COMMON, baseline=True, curl_brotli=True,
    options=[("--body-bytes", dict(type=int, default=65536, metavar="B", help="size of the JSON document (>= 4096)"))],
    checks_options=lambda o: [] if o.body_bytes >= 4096 else ["--body-bytes must be an integer >= 4096"],
    bodies=lambda o: {"orders.json": make_work_orders(o.body_bytes)},
    servers=lambda o: [
        dict(name="origin", kind="cacheable-origin", bodies=["orders.json"]),
        dict(name="nginx", kind="nginx-cache", upstream="origin", http_extra=NGINX_GZIP, note=" + gzip (level 6)"),
        dict(name="edge", kind="edge-cache", upstream="origin", cache="256m"),
        dict(name="varnish", kind="varnish", upstream="origin", beresp=VARNISH_GZIP, note=", do_gzip for JSON"),
    ],
    # One server may be measured several times, once per Accept-Encoding.
    targets=[dict(name="edge-gz", server="edge", path="orders.json", body="orders.json", encoding="gzip", check="encoded",
                  label_suffix="gzip", prime_group=EDGE_GROUP),
             dict(name="nginx", server="nginx", path="orders.json", body="orders.json", encoding="gzip", check="encoded", label_suffix="gzip"),
             dict(name="varnish", server="varnish", path="orders.json", body="orders.json", encoding="gzip", check="encoded",
                  label_suffix="gzip"),
             dict(name="edge-br", server="edge", path="orders.json", body="orders.json", encoding="br", check="encoded", label_suffix="br",
                  prime_group=EDGE_GROUP),
             dict(name="edge-id", server="edge", path="orders.json", body="orders.json", check="hit", label_suffix="identity",
                  prime_group=EDGE_GROUP)],
    # Identity first for edge-proxy (that miss fills its cache), then its gzip and br forms, which must
    # come from the stored entry.
    prime=dict(gets=3, order=["edge-id", "edge-gz", "edge-br", "nginx", "varnish"]),
    facts=compressed_facts,
    tables=[dict(compressed_title("gzip"), targets=["edge-gz", "nginx", "varnish", "edge-id"],
                 pairs="edge-gz:nginx,edge-gz:varnish,edge-gz:edge-id"),
            dict(compressed_title("br"), targets=["edge-br", "edge-id"], pairs="edge-br:edge-id")],
    texts=[("sizes: {f[sizes]}", "Compressed sizes: {f[sizes]}.")],
    goals=[dict(name="edge-proxy gzip / nginx gzip req/s", num="edge-gz", den="nginx", op=">=", goal=15.0),
           dict(name="edge-proxy gzip / Varnish gzip req/s", num="edge-gz", den="varnish", op=">=", goal=1.8),
           dict(name="edge-proxy gzip / edge-proxy identity req/s", num="edge-gz", den="edge-id", op=">=", goal=0.90),
           dict(name="edge-proxy br / edge-proxy identity req/s", num="edge-br", den="edge-id", op=">=", goal=0.90),
           dict(name="edge-proxy br / gzip body size", value="br_gz", op="<=", goal=0.85)],
    edge_setup=CACHE_EDGE,
    load=WRK_LOAD + " on one URL, with -H 'Accept-Encoding: gzip' (edge-proxy, nginx with gzip on at level 6, Varnish "
                    "with do_gzip), -H 'Accept-Encoding: br' (edge-proxy) or none (edge-proxy identity); all "
                    "{f[n_targets]} targets in the same {o.rounds} interleaved rounds (order rotates); warm-up {o.warmup} "
                    "per target; origin: nginx, 1 worker, {o.body_bytes} bytes of work-order JSON, Cache-Control: " + CC,
    checks="sizes: {f[sizes]}; origin requests while priming: edge-proxy {f[prime_edge]} (identity, gzip and br, 4 GETs "
           "each), nginx {f[primed][nginx]}, varnish {f[primed][varnish]}; origin requests during the measured runs: "
           "{f[during]} (warm-up included: {f[origin_total]}); every target answered HIT with Content-Encoding as "
           "requested (none for identity), decoding to the origin's bytes, before round 1 and after every run",
)

# ---- fields_batch --------------------------------------------------------------------------------

BATCH_ITEMS = 10


def fields_yaml(o, port, origin_port, ports, workers):
    """Two upstreams (/slow/ to the slow origin), one caching class with the fields defaults
    written out, the batch section at its defaults."""
    return """listen: ["127.0.0.1:%d"]
workers: %d
cache: { memory: 256m }
batch: { path: /api/v1/batch, max_items: 20, concurrency: 10 }
upstreams:
  origin:
    servers: ["127.0.0.1:%d"]
    pool: { max_idle: 128 }
  slow:
    servers: ["127.0.0.1:%d"]
    pool: { max_idle: 128 }
route_classes:
  cached: { ttl: 1h, fields: { enabled: true, envelope: data, memoize: true } }
routes:
  - match: { path_prefix: /slow/ }
    upstream: slow
    class: cached
  - match: { path_prefix: / }
    upstream: origin
    class: cached
""" % (port, workers, origin_port, ports["slow"])


def fields_bodies(o):
    orders = make_work_orders(o.body_bytes)
    out = {"orders.json": orders}
    out.update({"wo-%d.json" % (i + 1): d for i, d in enumerate(details(orders, BATCH_ITEMS))})
    return out


def latency_plan(o, u, det):
    """The scenarios of lib/batch_latency.js (kinds, URLs, checks, samples)."""
    items = [{"path": "/wo-%d.json" % (i + 1), "body_file": p} for i, p in enumerate(det)]
    body = det[0]
    e, s = u["edge"], u["slow"]

    def get(name, url, header, warm=50, fresh=False):
        return dict(name=name, kind="get", url=url, body_file=body, hit_header=header, samples=o.samples,
                    warm=warm, **({"fresh": True} if fresh else {}))

    def unique(name, base, prefix):
        return dict(name=name, kind="get-unique", base=base, prefix=prefix, body_file=body, origin_count=s + "/count",
                    samples=o.slow_samples, warm=3)
    batch = dict(kind="batch", url=e + "/api/v1/batch", items=items, hit_header="x-cache", samples=o.samples)
    return {"rounds": o.rounds, "timeout_ms": 10000, "pause_ms": 3, "scenarios": [
        get("edge-hit", e + "/wo-1.json", "x-cache"),
        dict(batch, name="edge-batch-hit", warm=50),
        get("edge-hit-fresh", e + "/wo-1.json", "x-cache", warm=5, fresh=True),
        dict(batch, name="edge-batch-hit-fresh", warm=5, fresh=True),
        get("nginx-hit", u["nginx"] + "/wo-1.json", "x-cache-status"),
        get("varnish-hit", u["varnish"] + "/wo-1.json", "x-cache"),
        dict(name="edge-batch-miss", kind="batch-unique", url=e + "/api/v1/batch", prefix="/slow/b-", n=BATCH_ITEMS,
             body_file=body, origin_count=s + "/count", samples=o.slow_samples, warm=3),
        unique("edge-miss", e, "/slow/e-"),
        unique("nginx-miss", u["nginxslow"], "/slow/n-"),
        unique("direct-miss", s, "/slow/d-"),
    ]}


FIELDS_BATCH = dict(
    about="sparse fieldsets (?fields= hits against plain hits) and batch fan-out latency",
    tool="fields_batch", needs=["nginx", "wrk", "varnishd", "node"], defaults=WRK_COMMON, baseline=True,
    options=[
        ("--part", dict(choices=["all", "hits", "latency"], default="all", help="which part to run")),
        ("--body-bytes", dict(type=int, default=65536, metavar="B", help="size of the work-order document (>= 8192)")),
        ("--fields", dict(default="id,number,status,site,asset.id", metavar="F", help="the selection of the ?fields= target")),
        ("--samples", dict(type=int, default=500, metavar="N", help="latency samples per round, cached scenarios")),
        ("--slow-samples", dict(type=int, default=40, metavar="N", help="latency samples per round behind the slow origin")),
        ("--delay-ms", dict(type=int, default=100, metavar="MS", help="slow origin delay")),
    ],
    checks_options=lambda o: (["--body-bytes must be an integer >= 8192"] if o.body_bytes < 8192 else []) +
    (["--fields takes names, dots and commas only"] if not all(c.isalnum() or c in "_.," for c in o.fields) else []) +
    ["--%s must be a positive integer" % k.replace("_", "-") for k in ("samples", "slow_samples", "delay_ms")
     if getattr(o, k) <= 0],
    bodies=fields_bodies,
    servers=lambda o: [
        dict(name="origin", kind="cacheable-origin", bodies=["orders.json"] + ["wo-%d.json" % (i + 1) for i in range(BATCH_ITEMS)]),
        dict(name="slow", kind="slow-origin", body="wo-1.json"),
        dict(name="nginx", kind="nginx-cache", upstream="origin"),
        dict(name="nginxslow", kind="nginx-proxy", upstream="slow"),
        dict(name="edge", kind="edge-fields", upstream="origin", yaml=fields_yaml, cache="256m"),
        dict(name="varnish", kind="varnish", upstream="origin"),
    ],
    targets=lambda o, v: [
        dict(name="edge-plain", server="edge", path="orders.json", body="orders.json", label_suffix="plain hit"),
        dict(name="edge-fields", server="edge", path="orders.json?fields=" + o.fields, body="orders.json",
             check="projection", label="edge-proxy ?fields= hit", prime_expect=0),
        dict(name="nginx-plain", server="nginx", path="orders.json", body="orders.json", label_suffix="plain hit"),
        dict(name="varnish-plain", server="varnish", path="orders.json", body="orders.json", label_suffix="plain hit"),
    ],
    # Edge plain first: its miss stores the document; the projection must be cut from the stored
    # entry (the fields parameter is not part of the cache key and never reaches the origin).
    prime=dict(gets=3, order=["edge-plain", "edge-fields", "nginx-plain", "varnish-plain"]),
    facts=lambda o, f, v: {"projected": f["wire"]["edge-fields"][0]},
    tables=[dict(pairs="edge-fields:edge-plain,edge-plain:nginx-plain,edge-plain:varnish-plain,edge-fields:varnish-plain",
                 title="Sparse fieldsets: cache hits of a {o.body_bytes}-byte JSON array, plain and ?fields={o.fields}, "
                       "{o.workers} worker(s) for edge-proxy and nginx, Varnish with default thread pools",
                 heading="Sparse fieldsets, cache hits of a {o.body_bytes}-byte document, {o.workers} worker(s)")],
    goals=[dict(name="edge-proxy ?fields= hits / plain hits, req/s", num="edge-fields", den="edge-plain", op=">=",
                goal=0.80)],
    edge_setup="{f[edge_bin]} (cache: {{memory: 256m}}, class {{ttl: 1h, fields: {{enabled: true, envelope: data, "
               "memoize: true}}}})",
    load=WRK_LOAD + ", no Accept-Encoding (identity); edge-proxy on /orders.json and on /orders.json?fields={o.fields}, "
                    "nginx proxy_cache and Varnish on /orders.json (neither has field projection: their plain hits of "
                    "the same document are the reference); all {f[n_targets]} targets in the same {o.rounds} interleaved "
                    "rounds (order rotates); warm-up {o.warmup} per target; origin: nginx, 1 worker, {o.body_bytes} bytes "
                    "of work-order JSON (a top-level array), Cache-Control: " + CC,
    checks="projection: {o.body_bytes} -> {f[projected]} bytes, every element with exactly the members {o.fields} and "
           "the origin's values (checked with python before round 1 and after every run); origin requests while "
           "priming (4 GETs each): {f[primed_text]}; origin requests during the measured runs: {f[during]} (warm-up "
           "included: {f[origin_total]}); every target answered HIT before round 1 and after every run",
    latency_plan=latency_plan,
    latency_order=["edge-hit", "nginx-hit", "varnish-hit", "edge-batch-hit", "edge-hit-fresh", "edge-batch-hit-fresh",
                   "edge-miss", "nginx-miss", "direct-miss", "edge-batch-miss"],
    latency_labels={
        "edge-hit-fresh": "edge-proxy, single cached hit, new connection each",
        "edge-batch-hit-fresh": "edge-proxy, batch of %d cached items, new connection each" % BATCH_ITEMS,
        "edge-hit": "edge-proxy, single cached hit",
        "nginx-hit": "nginx proxy_cache, single cached hit",
        "varnish-hit": "Varnish, single cached hit",
        "edge-batch-hit": "edge-proxy, batch of %d cached items" % BATCH_ITEMS,
        "edge-miss": "edge-proxy, single request to the {o.delay_ms} ms origin",
        "nginx-miss": "nginx (no cache), single request to the {o.delay_ms} ms origin",
        "direct-miss": "{o.delay_ms} ms origin directly (no proxy)",
        "edge-batch-miss": "edge-proxy, batch of %d uncached items, {o.delay_ms} ms origin" % BATCH_ITEMS,
    },
    latency_title="Batch fan-out latency: sequential requests on one keep-alive connection per scenario, {o.workers} worker(s)",
    latency_heading="Batch fan-out latency, {o.workers} worker(s)",
    latency_edge="{f[edge_bin]} (cache: {{memory: 256m}}, class {{ttl: 1h}}, batch: {{concurrency: 10, max_items: 20}})",
    latency_load="lib/batch_latency.js (Node.js, one keep-alive connection per scenario, one request at a time, no "
                 "Accept-Encoding); 10 scenarios in the same {o.rounds} interleaved rounds (order rotates), {o.samples} "
                 "samples per round for the cached ones and {o.slow_samples} for those behind the origin, after untimed "
                 "warm-up requests, a 3 ms pause between two samples (outside the clock); latency = request issued to "
                 "last byte of the answer; the two \"new connection each\" scenarios send Connection: close and open a "
                 "connection per request (its setup is inside the clock). Detail documents: %d work orders of about "
                 "{f[detail_bytes]} bytes each from the nginx origin (Cache-Control: %s); the batch body is "
                 "{{\"requests\":[{{\"id\",\"method\":\"GET\",\"path\"}}, x %d]}}; the slow origin (lib/slow_origin.js, "
                 "{o.delay_ms} ms per answer, same Cache-Control) gets a path never requested before for every item "
                 "and every single request, so each is a miss" % (BATCH_ITEMS, CC, BATCH_ITEMS),
    latency_checks=lambda o, f: (
        "every answer checked after its clock stopped: 200 with the origin's bytes (single requests) or %d item "
        "responses with status 200 and the right document as body (batches); single hits and every item of the "
        "cached batch with X-Cache (nginx: X-Cache-Status) HIT; for the uncached batches and single misses the slow "
        "origin's counter showed every path exactly once; slow-origin requests during the run: %d (expected %d incl. "
        "warm-up)" % (BATCH_ITEMS, f["slow_total"], (o.rounds * o.slow_samples + 3) * (BATCH_ITEMS + 3))),
)

# ---- coalesce ------------------------------------------------------------------------------------

COALESCE = dict(
    about="a burst of concurrent requests for one cold key behind a slow origin: origin requests and waits",
    tool="burst", needs=["nginx", "varnishd", "node"], baseline=True,
    defaults=dict(rounds=5, workers=1, markdown=False, keep=False),
    options=[
        ("--clients", dict(type=int, default=200, metavar="N", help="concurrent requests per burst (at most 256)")),
        ("--delay-ms", dict(type=int, default=500, metavar="MS", help="origin delay per answer")),
        ("--body-bytes", dict(type=int, default=1024, metavar="B", help="origin body size")),
        ("--no-direct", dict(dest="direct", action="store_false", help="skip the reference burst straight at the origin")),
        ("--cold-connections", dict(dest="preconnect", action="store_false",
                                    help="a new connection per request instead of pre-opened keep-alive ones")),
    ],
    checks_options=lambda o: (["--clients must be between 1 and 256"] if not 0 < o.clients <= 256 else []) +
    (["--body-bytes must be at least 64"] if o.body_bytes < 64 else []) +
    (["--delay-ms must be a positive integer"] if o.delay_ms <= 0 else []),
    bodies=lambda o: {"body.json": make_body(o.body_bytes)},
    servers=lambda o: [
        dict(name="origin", kind="slow-origin", body="body.json"),
        dict(name="edge", kind="edge-cache", upstream="origin", cache="256m"),
        dict(name="nginx", kind="nginx-cache", upstream="origin", note=" (proxy_cache_lock on, 5s)"),
        dict(name="varnish", kind="varnish", upstream="origin"),
    ],
    title="Coalescing: {o.clients} concurrent requests for one cold key, origin answers after {o.delay_ms} ms, "
          "{o.workers} worker(s) for edge-proxy and nginx",
    heading="Coalescing, {o.clients} clients on a cold key, {o.delay_ms} ms origin, {o.workers} worker(s)",
    edge_setup="{f[edge_bin]} (cache: {{memory: 256m}}, class ttl: 1h, default lock_timeout)",
    load=lambda o, f: (
        "lib/burst.js: %d GETs issued at once, %s, latency = issue to last byte; %d rounds, a fresh key per target and "
        "round, order rotates; origin lib/slow_origin.js (%d ms, %d-byte body, Cache-Control: %s); nginx "
        "proxy_cache_lock on, proxy_cache_lock_timeout 5s; Varnish default VCL besides the backend; late = answered "
        "after %d ms (1.5 x the origin delay)" % (
            o.clients, "over %d keep-alive connections opened just before (with GETs of an already cached URL)" % o.clients
            if o.preconnect else "one new connection each", o.rounds, o.delay_ms, o.body_bytes, CC, f["late_ms"])),
    checks="two sequential GETs of a cold key: {f[checked]} origin request(s), the second a HIT with the origin's bytes",
)

# ---- load (10,000 connections) and soak ----------------------------------------------------------

LOAD = dict(
    about="10,000 connections (idle + a mix of hits, misses, fields, batch) on the reference config; --soak for RSS",
    tool="load", needs=["nginx", "wrk", "node"], optional=["redis-server"],
    defaults=dict(duration="30s", workers=None, warmup=None, pin=False, markdown=False, keep=False),
    options=[
        ("--idle", dict(type=int, default=9000, metavar="N", help="idle keep-alive connections held for the whole run")),
        ("--active", dict(type=int, default=1000, metavar="N", help="connections of the mix and of the hits-only runs")),
        ("--mix", dict(default="70,10,10,10", metavar="H,M,F,B", help="percent of --active for hits, misses, fields, batch")),
        ("--pace-ms", dict(type=int, default=100, metavar="MS", help="pause before each request in the paced runs (0 skips them)")),
        ("--touch", dict(type=int, default=40, metavar="S", help="each idle connection sends a GET every S seconds (0: never)")),
        ("--soak", dict(nargs="?", const="10m", default=None, metavar="D", help="soak mode for D (default 10m)")),
        ("--soak-delay-ms", dict(type=int, default=100, metavar="MS", help="pause before each request in the soak")),
        ("--fill-max", dict(default="180s", metavar="D", help="soak: longest cache fill (0 skips the fill)")),
        ("--rss-limit", dict(type=int, default=10, metavar="PCT", help="soak: largest RSS growth after warm-up that passes")),
        ("--no-nginx", dict(dest="nginx", action="store_false", help="skip the nginx runs")),
    ],
    help_notes={"warmup": "mix warm-up before measuring (default 5s; soak: 30s)",
                "workers": "replaces the config's workers: auto (default: keep auto)",
                "pin": "servers on CPU 0, wrk on CPU 1 (use with --workers 1)"},
    # ?fields= selections of cached lists (the list entry is keyed without `fields`) and the hot URLs
    # of the demo API (config/examples/edge.yaml: api_detail, api_list, filter_options).
    hot_paths=["/api/v1/work-orders/1", "/api/v1/work-orders/2", "/api/v1/work-orders/3", "/api/v1/sites/1",
               "/api/v1/filter-options"],
    fields_paths=["/api/v1/work-orders?fields=id,title,status", "/api/v1/work-orders?fields=id,site.name,priority,assignee",
                  "/api/v1/sites?fields=id,name"],
    batch_items=["/api/v1/work-orders/1", "/api/v1/sites/1", "/api/v1/work-orders/2?fields=id,title"],
    kinds=["hits", "misses", "fields", "batch"],
)

# ---- purge ---------------------------------------------------------------------------------------

PURGE = dict(
    about="purge propagation (Redis, admin API, Varnish PURGE/BAN), the purge micro-benchmark, hits under purges",
    tool="purge", needs=["wrk", "varnishd", "node", "redis-server"],
    defaults=dict(rounds=5, duration="5s", connections=32, markdown=False, keep=False),
    options=[
        ("--messages", dict(type=int, default=500, metavar="N", help="samples per propagation method")),
        ("--rate", dict(type=int, default=1000, metavar="N", help="purges per second in the purge condition")),
        ("--entries", dict(type=int, default=20000, metavar="N", help="entries stored before the throughput rounds")),
    ],
)

# ---- memory_flood --------------------------------------------------------------------------------

MEMORY_FLOOD = dict(
    about="RSS under a flood of unique keys with a small cache budget (bench/lib/memory_flood.mjs)",
    tool="flood", needs=["node"], defaults=dict(rounds=1, markdown=False, keep=False),
    help_notes={"rounds": "runs, one proxy each"},
    options=[
        ("--bin", dict(default=None, metavar="PATH", help="edge-proxy binary (default: $EDGE_PROXY_BIN, else build/edge-proxy)")),
        ("--memory", dict(default="32m", metavar="SIZE", help="cache.memory")),
        ("--count", dict(type=int, default=30000, metavar="N", help="unique URLs requested")),
        ("--parallel", dict(type=int, default=32, metavar="N", help="keep-alive connections")),
        ("--compress-on-store", dict(type=int, choices=[0, 1], default=0,
                                     help="store gzip at once and Brotli in the background")),
    ],
)

# ---- TLS: cache hits over TLS, handshakes -----------------------------------------------------------

TLS_CERT = ("--cert", dict(choices=["p256", "rsa2048"], default="p256",
                           help="the certificate made for the run: ECDSA P-256 or RSA 2048"))
TLS_SETUP = ("TLS 1.3 only on both ({f[negotiated]} as openssl s_client sees each listener), the same "
             "{f[cert]} certificate made for the run with the openssl CLI; edge-proxy: listener tls with "
             "min_version \"1.3\", session_tickets: true (1 ticket per full handshake); nginx: ssl_protocols "
             "TLSv1.3, ssl_session_tickets on, ssl_session_cache off, ssl_conf_command NumTickets 1")


def _edge_tls(o, port, up, ports, workers, admin=False):
    import tls
    return tls.edge_tls_yaml(o, port, up, workers, admin_port=o.admin_port if admin else None)


def _nginx_tls(o):
    import tls
    return tls.nginx_tls(o)


TLS_HIT = dict(
    about="cache hits of one URL over TLS (keep-alive): edge-proxy vs nginx proxy_cache, both terminating TLS 1.3",
    tool="tls_wrk", needs=["nginx", "wrk", "openssl"], defaults=WRK_COMMON, baseline=True,
    options=[("--body-bytes", dict(type=int, default=1024, metavar="B", help="body size (>= 64)")), TLS_CERT,
             ("--no-plain", dict(dest="plain", action="store_false",
                                 help="skip the plain-HTTP references (the same proxies without TLS)"))],
    checks_options=lambda o: [] if o.body_bytes >= 64 else ["--body-bytes must be at least 64"],
    bodies=lambda o: {"body.json": make_body(o.body_bytes)},
    servers=lambda o: [
        dict(name="origin", kind="cacheable-origin", bodies=["body.json"]),
        dict(name="nginx-tls", kind="nginx-cache", upstream="origin", tls=_nginx_tls(o), note=" over TLS"),
        dict(name="edge-tls", kind="edge-tls", upstream="origin", yaml=_edge_tls, tls=True, cache="256m"),
    ] + ([dict(name="nginx", kind="nginx-cache", upstream="origin"),
          dict(name="edge", kind="edge-cache", upstream="origin", cache="256m")] if o.plain else []),
    targets=lambda o, v: [
        dict(name="edge-tls", server="edge-tls", path="body.json", body="body.json", label_suffix="(TLS)"),
        dict(name="nginx-tls", server="nginx-tls", path="body.json", body="body.json", label_suffix="(TLS)"),
    ] + ([dict(name="edge", server="edge", path="body.json", body="body.json", label_suffix="(plain HTTP)"),
          dict(name="nginx", server="nginx", path="body.json", body="body.json", label_suffix="(plain HTTP)")]
         if o.plain else []),
    prime=dict(gets=3, order=["edge-tls", "nginx-tls", "edge", "nginx"]),
    tables=[dict(pairs="edge-tls:nginx-tls,edge-tls:edge,nginx-tls:nginx",
                 title="Cache hits over TLS, {o.body_bytes}-byte JSON body, {o.workers} worker(s) per proxy",
                 heading="Cache hits over TLS (keep-alive), {o.body_bytes}-byte body, {o.workers} worker(s)")],
    goals=[dict(name="edge-proxy / nginx, cache hits over TLS, req/s", num="edge-tls", den="nginx-tls", op=">=",
                goal=1.0)],
    edge_setup=CACHE_EDGE + "; " + TLS_SETUP,
    load=WRK_LOAD + " over https (wrk's OpenSSL: TLS 1.3, one handshake per connection, then keep-alive) on one "
                    "URL; {o.rounds} interleaved rounds (order rotates); warm-up {o.warmup} per target; every answer "
                    "a cache hit (origin: nginx, 1 worker, Cache-Control: " + CC + ") on the same machine; the "
                    "plain-HTTP rows are the same proxy configs without TLS, in the same rounds",
    checks="origin requests while priming (4 GETs each): {f[primed_text]}; origin requests during the measured runs: "
           "{f[during]} (warm-up included: {f[origin_total]}); every target answered HIT with the origin's bytes "
           "before round 1 and after every run",
)

TLS_HANDSHAKE = dict(
    about="new TLS connections per second (full handshakes and resumptions), edge-proxy vs nginx",
    tool="tls_handshake", needs=["nginx", "openssl", "cc"],
    defaults=dict(rounds=5, duration="10s", workers=1, warmup="2s", pin=False, markdown=False, keep=False),
    help_notes={"pin": "servers on CPU 0, the handshake client on CPU 1"},
    options=[TLS_CERT,
             ("--clients", dict(type=int, default=8, metavar="N", help="client threads, one connection at a time each")),
             ("--body-bytes", dict(type=int, default=1024, metavar="B", help="size of the cached body each connection "
                                                                         "requests (>= 64)"))],
    checks_options=lambda o: (["--clients must be a positive integer"] if o.clients <= 0 else []) +
    (["--body-bytes must be at least 64"] if o.body_bytes < 64 else []),
    bodies=lambda o: {"body.json": make_body(o.body_bytes)},
    servers=lambda o: [
        dict(name="origin", kind="cacheable-origin", bodies=["body.json"]),
        dict(name="nginx", kind="nginx-cache", upstream="origin", tls=_nginx_tls(o), note=" over TLS"),
        dict(name="edge", kind="edge-tls", upstream="origin", tls=True, cache="256m",
             yaml=lambda o, port, up, ports, workers: _edge_tls(o, port, up, ports, workers, admin=True)),
    ],
    targets=lambda o, v: [
        dict(name="edge-new", server="edge", path="body.json", body="body.json", mode="new",
             label_suffix="full handshakes"),
        dict(name="nginx-new", server="nginx", path="body.json", body="body.json", mode="new",
             label_suffix="full handshakes"),
        dict(name="edge-reuse", server="edge", path="body.json", body="body.json", mode="reuse",
             label_suffix="resumed (tickets)"),
        dict(name="nginx-reuse", server="nginx", path="body.json", body="body.json", mode="reuse",
             label_suffix="resumed (tickets)"),
    ],
    prime=dict(gets=3, order=["edge-new", "nginx-new"]),
    pairs="edge-new:nginx-new,edge-reuse:nginx-reuse",
    metrics=[dict(key="conns_per_s", label="connections/s", kind="rate", better="higher"),
             dict(key="p50_ms", label="p50 ms", kind="ms", better="lower", ratio=False),
             dict(key="p99_ms", label="p99 ms", kind="ms", better="lower", ratio=False)],
    columns=[dict(key="connections", label="connections (all rounds)", agg="sum"),
             dict(key="reused", label="resumed, client-side", agg="sum"),
             dict(key="server_resumed", label="resumed, edge-proxy /stats", agg="sum"),
             dict(key="bytes_per_conn", label="bytes read per connection", agg="median"),
             dict(key="cpu_cores", label="CPU cores", agg="median", kind="cores"),
             dict(key="errors", label="errors", agg="sum")],
    title="New TLS connections per second, {o.clients} client threads, {o.workers} worker(s) per proxy",
    heading="TLS handshakes, full and resumed, {o.clients} client threads, {o.workers} worker(s)",
    edge_setup=CACHE_EDGE + "; admin API on for /stats; " + TLS_SETUP,
    load="lib/tls_connect.c (C, OpenSSL; built by the driver): {o.clients} threads, each in a loop for {o.duration}: "
         "connect (TCP_NODELAY), TLS 1.3 handshake, GET /body.json with Connection: close (a {o.body_bytes}-byte "
         "cache hit), read to the end, close; full: no session offered; resumed: each thread offers the ticket of "
         "its previous connection (PSK with (EC)DHE, no certificate signature); connections/s = completed "
         "connections / wall time; p50/p99: connect-to-close time of one connection; {o.rounds} interleaved rounds "
         "over the four targets (order rotates); warm-up {o.warmup} per target",
    checks="every connection's answer HTTP 200 (errors column); resumed: SSL_session_reused() on the client, and "
           "for edge-proxy the admin API's tls.handshakes / tls.resumed counted around each run; each proxy's "
           "priming reached the origin once: {f[primed_text]}",
)

# ---- WebSocket echo --------------------------------------------------------------------------------

WS_ECHO = dict(
    about="WebSocket echo through edge-proxy and nginx (and straight to the origin): round-trip latency, messages/s",
    tool="ws_echo", needs=["nginx", "node"],
    defaults=dict(rounds=5, duration="10s", workers=1, warmup="2s", pin=False, markdown=False, keep=False),
    help_notes={"duration": "throughput run per target and round", "pin": "servers (proxies and the Node.js "
                "origin) on CPU 0, the client on CPU 1"},
    options=[
        ("--lat-duration", dict(default="5s", metavar="D", help="latency run per target and round")),
        ("--size", dict(type=int, default=32, metavar="B", help="message size of the latency runs (>= 4)")),
        ("--tp-size", dict(type=int, default=64, metavar="B", help="message size of the throughput runs (>= 4)")),
        ("--ws-connections", dict(type=int, default=50, metavar="N", help="connections of the throughput runs")),
        ("--window", dict(type=int, default=16, metavar="N", help="messages in flight per connection")),
        ("--no-direct", dict(dest="direct", action="store_false", help="skip the reference straight to the origin")),
    ],
    checks_options=lambda o: (["--size and --tp-size must be at least 4"] if min(o.size, o.tp_size) < 4 else []) +
    (["--ws-connections and --window must be positive"] if min(o.ws_connections, o.window) <= 0 else []) +
    ([] if o.lat_duration.rstrip("s").isdigit() else ["--lat-duration takes seconds, e.g. 5s"]) +
    ([] if o.duration.rstrip("s").isdigit() else ["--duration takes seconds here, e.g. 10s"]),
    bodies=lambda o: {},
    servers=lambda o: [
        dict(name="origin", kind="ws-origin"),
        dict(name="edge", kind="edge-pass", upstream="origin"),
        dict(name="nginx", kind="nginx-proxy", upstream="origin", connection='"upgrade"', note=", WebSocket upgrade",
             location_extra="      proxy_set_header Upgrade $http_upgrade;"),
    ],
    targets=[dict(name="edge", server="edge"), dict(name="nginx", server="nginx"),
             dict(name="direct", server="origin", label="origin direct (no proxy)")],
    pairs="edge:nginx,edge:direct,nginx:direct",
    metrics=[dict(key="lat_p50_us", label="RTT p50 us", kind="us", better="lower"),
             dict(key="lat_p99_us", label="RTT p99 us", kind="us", better="lower"),
             dict(key="msgs_per_s", label="messages/s", kind="rate", better="higher")],
    columns=[dict(key="lat_samples", label="RTT samples (all rounds)", agg="sum"),
             dict(key="messages", label="echoed messages (all rounds)", agg="sum"),
             dict(key="cpu_cores", label="CPU cores (throughput)", agg="median", kind="cores"),
             dict(key="errors", label="errors", agg="sum")],
    title="WebSocket echo, {o.workers} worker(s) per proxy",
    heading="WebSocket echo through the proxies, {o.workers} worker(s)",
    edge_setup="{f[edge_bin]} (route class cache: false; Upgrade: websocket tunnelled, the default)",
    load="lib/ws_echo.mjs (Node.js, node-ws, binary messages, no compression) per target and round: latency = one "
         "connection, one {o.size}-byte message in flight, {o.lat_duration} after 500 untimed messages, round trip "
         "send -> echo; throughput = {o.ws_connections} connections x {o.window} messages of {o.tp_size} bytes in "
         "flight, echoed messages per second over {o.duration} after 1 s; origin lib/ws_origin.mjs (Node.js, "
         "node-ws) on the same machine; nginx: proxy_http_version 1.1, proxy_set_header Upgrade $http_upgrade, "
         "proxy_set_header Connection \"upgrade\"; {o.rounds} interleaved rounds (order rotates); warm-up "
         "{o.warmup} of throughput per target; CPU cores: the proxy's (or the origin's) process group during the "
         "throughput run",
    checks="every echo the bytes sent (latency runs) or of the right size and in sequence per connection "
           "(throughput runs), counted in the errors column; every target echoed before round 1",
)

SCENARIOS = {
    "passthrough": PASSTHROUGH,
    "cache_hit": CACHE_HIT,
    "compressed_hit": COMPRESSED_HIT,
    "fields_batch": FIELDS_BATCH,
    "coalesce": COALESCE,
    "load": LOAD,
    "purge": PURGE,
    "memory_flood": MEMORY_FLOOD,
    "tls_hit": TLS_HIT,
    "tls_handshake": TLS_HANDSHAKE,
    "ws_echo": WS_ECHO,
}
