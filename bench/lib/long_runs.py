"""The runners of the scenarios that are not rounds of one load tool: load (10,000 connections,
and the soak), purge (propagation, micro-benchmark, hits under purges) and memory_flood."""

import json
import os
import re
import resource
import signal
import time

import report
from core import (LIB, REPO_ROOT, CpuClock, die, fetch, fetch_n, free_ports, loadavg, log, parse_duration, rss_kb,
                  tool_output, verify_body, warn)
from runners import interleave
from servers import (nginx_label, start_demo_origin, start_edge, start_nginx_static, start_redis, start_varnish,
                     varnish_label, write, edge_version)


def admin_stats(port, token):
    r = fetch("http://127.0.0.1:%d/stats" % port, headers=["Authorization: Bearer " + token])
    try:
        return json.loads(r.body)
    except ValueError:
        return {}


def wait_log_event(run, proc, logfile, event, timeout):
    """The JSON line {"event": EVENT, ...} a Node.js helper printed to LOGFILE."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(logfile, errors="replace") as f:
            for line in f:
                if '"event":"%s"' % event in line:
                    return json.loads(line)
        run.check_alive(proc)
        time.sleep(1)
    return None


# ---- load and soak -------------------------------------------------------------------------------


class Load:
    """bench/run load: edge-proxy with config/examples/edge.yaml (its four ports rewritten) in
    front of the demo origin holds --idle keep-alive connections (lib/idle_conns.mjs) while
    --active connections run a mix of hits, misses, fields and batches (one wrk per kind,
    lib/load_mix.lua); then hits only against edge-proxy and against nginx serving the same
    bodies as files. --soak runs the mix at a steady rate and samples RSS."""

    def __init__(self, ctx):
        self.ctx, self.o, self.run, self.sc, self.tools = ctx, ctx.o, ctx.run, ctx.sc, ctx.tools
        o = self.o
        self.mode = "soak" if o.soak else "load"
        o.warmup = o.warmup or ("30s" if o.soak else "5s")
        self.duration_s = parse_duration(o.duration, "--duration")
        self.warmup_s = parse_duration(o.warmup, "--warmup")
        self.fill_max_s = parse_duration(o.fill_max, "--fill-max")
        self.soak_s = parse_duration(o.soak, "--soak") if o.soak else 0
        for k in ("idle", "touch", "pace_ms", "soak_delay_ms", "rss_limit"):
            if getattr(o, k) < 0:
                die("--%s must be an integer >= 0" % k.replace("_", "-"))
        if o.active <= 0 or self.duration_s <= 0:
            die("--active and --duration must be > 0")
        m = re.fullmatch(r"([0-9]+),([0-9]+),([0-9]+),([0-9]+)", o.mix)
        if not m:
            die("--mix takes four percentages (got '%s')" % o.mix)
        pct = [int(g) for g in m.groups()]
        if sum(pct) != 100:
            die("--mix percentages must add up to 100 (got '%s')" % o.mix)
        self.kinds = self.sc["kinds"]
        self.conns = {k: o.active * p // 100 for k, p in zip(self.kinds[1:], pct[1:])}
        self.conns["hits"] = o.active - sum(self.conns.values())  # the rounding remainder goes to the hits
        for k in self.kinds:
            if self.conns[k] <= 0:
                die("--mix gives no connection to %s with --active %d" % (k, o.active))
        self.nonce = "%d-%d" % (time.time(), os.getpid())
        self.kind_runs = 0
        self.rows = self.run.path("results.tsv")
        self.cpu_rows = self.run.path("cpu.tsv")
        write(self.rows, "label\tkind\tconnections\trequests\trps\tp50_ms\tp99_ms\terrors\n")
        write(self.cpu_rows, "label\tedge\torigin\n")
        self.m = {}  # the report's figures

    def raise_nofile(self):
        """Every child inherits the limit: the proxy holds idle + active client sockets plus its
        upstream pool, the idle client the idle ones, wrk the active ones."""
        need = self.o.idle + self.o.active + 2048
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = max(need, 65536)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            die("ulimit -n %d failed (hard limit %s)" % (want, hard))
        self.need = need
        self.m["nofile"] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if self.m["nofile"] < need:
            die("descriptor limit is %d (hard %s), need %d for --idle %d --active %d; raise the hard limit "
                "(limits.conf, LimitNOFILE) or lower --idle" % (self.m["nofile"], hard, need, self.o.idle, self.o.active))

    def start_servers(self):
        o, run, tools = self.o, self.run, self.tools
        p_origin, p_edge, p_admin, p_redis, self.nginx_port = free_ports(5)
        self.admin_port, self.token = p_admin, "bench-load-token"
        os.environ["EDGE_ADMIN_TOKEN"] = self.token
        if tools.get("redis-server"):
            start_redis(run, tools, "redis", p_redis)
            self.m["redis_note"] = "redis-server on 127.0.0.1:%d" % p_redis
        else:
            self.m["redis_note"] = "no redis-server installed: the subscriber retries in the background"
        self.origin = start_demo_origin(run, tools, "origin", p_origin)
        # The reference config with its four ports (listener, upstream, Redis, admin) rewritten.
        src = os.path.join(REPO_ROOT, "config", "examples", "edge.yaml")
        with open(src) as f:
            text = f.read()
        for prefix, old, new in (("  - ", 8080, p_edge), ("      - ", 3000, p_origin), ("    address: ", 6379, p_redis),
                                 ("  listen: ", 9091, p_admin)):
            text = re.sub(r"^(%s)127\.0\.0\.1:%d\b" % (re.escape(prefix), old), r"\g<1>127.0.0.1:%d" % new, text,
                          flags=re.M)
        if o.workers:
            text = re.sub(r"^workers: auto\b", "workers: %d" % o.workers, text, flags=re.M)
        for p in (p_edge, p_origin, p_redis, p_admin):
            if not re.search(r"127\.0\.0\.1:%d\b" % p, text):
                die("could not rewrite the ports of %s (port %d)" % (src, p))
        self.config = text
        self.edge = start_edge(run, self.ctx.edge_bin, "edge", p_edge, yaml=text, health="health")
        write(run.path("edge", "edge.yaml.diff"), tool_output(["diff", src, os.path.join(run.dir, "edge", "edge.yaml")]))
        self.m["edge_version"] = edge_version(self.ctx.edge_bin)
        with open("/proc/%d/limits" % self.edge.proc.pid) as f:
            self.m["edge_nofile"] = int(next(line.split()[3] for line in f if line.startswith("Max open files")))
        if self.m["edge_nofile"] < self.need:
            die("edge-proxy runs with a descriptor limit of %d" % self.m["edge_nofile"])
        self.url = self.edge.url.rstrip("/")
        log("edge-proxy on %s (config/examples/edge.yaml, workers %s, descriptor limit %d), demo origin on "
            "127.0.0.1:%d, %s" % (self.url, o.workers or "auto", self.m["edge_nofile"], p_origin, self.m["redis_note"]))

    def expect_hit(self, path):
        r = fetch(self.url + path)
        if r.code != 200 or r.header("x-cache").upper() != "HIT":
            die("GET %s%s: HTTP %d, X-Cache '%s' (expected 200 and HIT)" % (self.url, path, r.code,
                                                                           r.header("x-cache") or "<absent>"))

    def check_batch(self):
        items = self.sc["batch_items"]
        body = json.dumps({"requests": [{"id": "i%d" % i, "method": "GET", "path": p} for i, p in enumerate(items)]})
        r = fetch(self.url + "/api/v1/batch", headers=["Content-Type: application/json"], data=body, timeout=10)
        if r.code != 200:
            die("POST /api/v1/batch failed (HTTP %d)" % r.code)
        got = json.loads(r.body)["responses"]
        bad = [x for x in got if x.get("status") != 200]
        if bad or len(got) != len(items):
            die("batch check failed: %d items, not 200: %s" % (len(got), bad[:3]))

    def prime_and_check(self):
        sc = self.sc
        for p in sc["hot_paths"] + ["/api/v1/work-orders", "/api/v1/sites"] + sc["fields_paths"]:
            fetch_n(self.url + p, 2)
            self.expect_hit(p)
        self.check_batch()
        log("primed: %d hot URLs and %d fields selections answer HIT, a batch of %d answers 200 per item" % (
            len(sc["hot_paths"]), len(sc["fields_paths"]), len(sc["batch_items"])))

    # -- idle connections
    def open_idle(self):
        o = self.o
        self.m["idle_ready"], self.idle_open_errors, self.idle = "open 0 of 0", 0, None
        if o.idle <= 0:
            return
        log("opening %d idle keep-alive connections (one GET each, then one every %ds)" % (o.idle, o.touch))
        self.idle_log = self.run.path("idle.log")
        self.idle = self.run.spawn("idle", self.idle_log, [
            self.tools["node"], os.path.join(LIB, "idle_conns.mjs"), "--port", str(self.edge.port), "--count",
            str(o.idle), "--path", self.sc["hot_paths"][0], "--touch-s", str(o.touch)])
        ev = wait_log_event(self.run, self.idle, self.idle_log, "ready", 300)
        if ev is None:
            die("the idle connections were not open after 300 s")
        self.idle_open_errors = ev["open_errors"]
        self.m["idle_ready"] = "open %d of %d in %d ms" % (ev["open"], o.idle, ev["ms"])
        log("idle connections: %s (%d failed)" % (self.m["idle_ready"], ev["open_errors"]))

    def check_idle(self):
        """One request on every idle connection; closed ones and failures are errors."""
        self.m["idle_check"], self.idle_errors = "-", self.idle_open_errors
        if not self.idle:
            return
        self.run.check_alive(self.idle)
        os.kill(self.idle.pid, signal.SIGUSR2)
        ev = wait_log_event(self.run, self.idle, self.idle_log, "check", 120) if self.idle.poll() is None else None
        if ev is None:
            with open(self.idle_log) as f:
                ev = next((json.loads(line) for line in f if '"event":"check"' in line), None)
        if ev is None:
            die("the idle connection check did not finish within 120 s")
        self.idle_errors = self.idle_open_errors + ev["closed_before"] + ev["failed"] + ev["touch_errors"]
        self.m["idle_check"] = ("%d held for %d s: %d closed by the server, %d answered 200 at the end, %d failed, "
                                "%d keep-alive touches failed" % (ev["held"], ev["held_s"], ev["closed_before"],
                                                                 ev["answered"], ev["failed"], ev["touch_errors"]))
        log("idle connections: " + self.m["idle_check"])

    # -- wrk per kind
    def start_kind(self, kind, url, conns, duration, out, delay=0):
        """One wrk in the background for one kind of request (lib/load_mix.lua)."""
        paths = {"hits": self.sc["hot_paths"], "fields": self.sc["fields_paths"],
                 "batch": self.sc["batch_items"]}.get(kind, [])
        threads = 2 if conns >= 500 and not self.o.pin else 1
        self.kind_runs += 1  # each wrk numbers its miss URLs from 1: a new nonce per run keeps them unique
        env = dict(os.environ, LOAD_DELAY_MS=str(delay))
        return self.run.client([self.tools["wrk"], "-t", str(threads), "-c", str(conns), "-d", duration, "--latency",
                                "-s", os.path.join(LIB, "load_mix.lua"), url, "--", kind,
                                "%s-%d" % (self.nonce, self.kind_runs)] + paths, open(out, "wb"), env=env)

    def wait_kinds(self, procs):
        rcs = [self.run.wait_client(p) for p in procs]
        if any(rcs):
            die("a wrk run failed (rc %s); raw output in %s" % (max(rcs), self.run.path("wrk")))
        self.run.check_alive(self.edge.proc)

    def add_row(self, label, kind, conns, out):
        with open(out, errors="replace") as f:
            try:
                r = report.parse_wrk(f.read())
            except ValueError as e:
                die("could not parse %s: %s" % (out, e))
        with open(self.rows, "a") as f:
            f.write("%s\t%s\t%d\t%d\t%.2f\t%.3f\t%.3f\t%d\n" % (label, kind, conns, r["requests"], r["rps"], r["p50_ms"],
                                                                r["p99_ms"], r["errors"]))
        log("%-10s %-7s c=%-4d %9d req %9.0f req/s  p50 %8.3f ms  p99 %8.3f ms  errors %d" % (
            label, kind, conns, r["requests"], r["rps"], r["p50_ms"], r["p99_ms"], r["errors"]))

    def run_mix(self, label, secs, delay=0, tick=None):
        """The four kinds at once; one row per kind; TICK(seconds) every 10 s while it runs."""
        e, o = CpuClock(self.edge.proc.pid), CpuClock(self.origin.proc.pid)
        outs = {k: self.run.path("wrk", "%s-%s.txt" % (label, k)) for k in self.kinds}
        procs = [self.start_kind(k, self.url, self.conns[k], "%ds" % secs, outs[k], delay) for k in self.kinds]
        t0 = time.time()
        done = 0
        while time.time() - t0 < secs:
            time.sleep(1)
            elapsed = int(time.time() - t0)
            if tick and elapsed // 10 > done:
                done = elapsed // 10
                tick(done * 10)
        self.wait_kinds(procs)
        ec, oc = e.cores(), o.cores()
        with open(self.cpu_rows, "a") as f:
            f.write("%s\t%.2f\t%.2f\n" % (label, ec, oc))
        log("%s: CPU cores used: edge-proxy %.2f, demo origin %.2f" % (label, ec, oc))
        for k in self.kinds:
            self.add_row(label, k, self.conns[k], outs[k])

    def hits_only(self, label, url, out, delay=0):
        self.wait_kinds([self.start_kind("hits", url, self.o.active, "%ds" % self.duration_s, out, delay)])
        self.add_row(label, "hits", self.o.active, out)

    def cache_stats(self):
        """'entries bytes' of the proxy's cache, from the admin API's GET /stats."""
        def find(v):
            if isinstance(v, dict):
                if "entries" in v and "bytes" in v:
                    return v
                for x in v.values():
                    r = find(x)
                    if r:
                        return r
            return None
        s = find(admin_stats(self.admin_port, self.token)) or {}
        return "%s %s" % (s.get("entries", "?"), s.get("bytes", "?"))

    def rss(self):
        return rss_kb(self.edge.proc.pid)

    def start_nginx(self):
        """nginx (as many workers as the proxy has threads serving) answering the hot paths with
        the bodies edge-proxy serves, from files."""
        www = self.run.subdir("nginx-www")
        for p in self.sc["hot_paths"]:
            r = fetch(self.url + p)
            if r.code != 200:
                die("GET %s failed" % p)
            os.makedirs(os.path.dirname(www + p), exist_ok=True)
            write(www + p, r.body)
        for root, dirs, files in os.walk(www):
            for n in dirs:
                os.chmod(os.path.join(root, n), 0o755)
        os.chmod(www, 0o755)
        srv = start_nginx_static(self.run, self.tools, "nginx", self.nginx_port, www, self.o.workers or os.cpu_count())
        for p in self.sc["hot_paths"]:
            with open(www + p, "rb") as f:
                verify_body("nginx", srv.url + p.lstrip("/"), f.read())
        return srv

    # Closed loop (every connection sends its next request as soon as the answer is in) measures
    # throughput: with 1,000 connections the latency is mostly queueing. The paced runs (a pause
    # of --pace-ms before each request) put the same connections at a rate the machine can serve.
    def run_load(self):
        o, m = self.o, self.m
        m["rss_before"], m["cache_before"] = self.rss(), self.cache_stats()
        log("RSS before: %s MB (cache entries/bytes: %s)" % (report.mb(m["rss_before"]), m["cache_before"]))
        if self.warmup_s > 0:
            log("warm-up: the mix for %ds" % self.warmup_s)
            self.run_mix("warmup", self.warmup_s)
        log("mix, closed loop: %d hits + %d misses + %d fields + %d batch connections for %ds, %d idle" % (
            self.conns["hits"], self.conns["misses"], self.conns["fields"], self.conns["batch"], self.duration_s, o.idle))
        mid = max(10, self.duration_s // 2 // 10 * 10)
        m["rss_during"] = None

        def tick(sec):
            if m["rss_during"] is None and sec >= mid:
                m["rss_during"] = self.rss()
                log("RSS during the mix (%ds): %s MB" % (sec, report.mb(m["rss_during"])))
        self.run_mix("mix", self.duration_s, tick=tick)
        m["rss_during"] = m["rss_during"] or self.rss()
        if o.pace_ms > 0:
            log("mix, paced: the same connections, each pausing %d ms before each request" % o.pace_ms)
            self.run_mix("paced", self.duration_s, o.pace_ms)
        self.expect_hit(self.sc["hot_paths"][0])
        log("hits only: %d connections against edge-proxy for %ds" % (o.active, self.duration_s))
        self.hits_only("hits-only", self.url, self.run.path("wrk", "hits-only-edge.txt"))
        if o.pace_ms > 0:
            self.hits_only("hits-paced", self.url, self.run.path("wrk", "hits-paced-edge.txt"), o.pace_ms)
        m["rss_after"], m["cache_after"] = self.rss(), self.cache_stats()
        log("RSS after: %s MB (cache entries/bytes: %s)" % (report.mb(m["rss_after"]), m["cache_after"]))
        if o.nginx:
            nginx = self.start_nginx()
            log("hits only: %d connections against %s (same bodies, static files)" % (o.active, m["nginx_label"]))
            url = nginx.url.rstrip("/")
            self.hits_only("nginx", url, self.run.path("wrk", "hits-only-nginx.txt"))
            if o.pace_ms > 0:
                self.hits_only("nginx-paced", url, self.run.path("wrk", "hits-paced-nginx.txt"), o.pace_ms)

    def fill_cache(self):
        """Misses as fast as they go until the cache holds 90 % of its budget (cache.memory) or
        --fill-max passed: the soak starts with the cache at the size eviction keeps it at."""
        if self.fill_max_s <= 0:
            self.m["fill_note"] = "cache not filled (--fill-max 0)"
            return
        mm = re.search(r"^cache:\s*\n(?:[ \t]+.*\n)*?[ \t]+memory:\s*(\S+)", self.config, re.M)
        if not mm:
            die("no cache.memory in the config")
        num, unit = re.fullmatch(r"([0-9]+)([kmgKMG]?)", mm.group(1)).groups()
        budget = int(num) * {"": 1, "k": 1024, "m": 1 << 20, "g": 1 << 30}[unit.lower()]
        log("filling the cache with misses up to 90%% of %d MB (at most %ds)" % (budget >> 20, self.fill_max_s))
        t0 = time.time()
        entries, nbytes = "?", 0
        while time.time() - t0 < self.fill_max_s:
            self.wait_kinds([self.start_kind("misses", self.url, 200, "10s", self.run.path("wrk", "fill.txt"))])
            entries, b = self.cache_stats().split()
            nbytes = int(b) if b.isdigit() else 0
            log("fill: %s entries, %d MB, RSS %s MB" % (entries, nbytes >> 20, report.mb(self.rss())))
            if nbytes * 10 >= budget * 9:
                break
        self.m["fill_note"] = "cache filled with misses for %d s to %s entries / %d MB of %d MB" % (
            time.time() - t0, entries, nbytes >> 20, budget >> 20)

    def run_soak(self):
        o, m = self.o, self.m
        samples = self.run.path("rss.tsv")
        write(samples, "phase\tseconds\trss_kb\tcache_entries\tcache_bytes\n")

        def sample(phase, sec):
            rss, cache = self.rss(), self.cache_stats()
            with open(samples, "a") as f:
                f.write("%s\t%s\t%d\t%s\n" % (phase, sec, rss, cache.replace(" ", "\t")))
            return rss, cache
        m["rss_before"] = self.rss()
        self.fill_cache()
        if self.warmup_s > 0:
            log("warm-up: the mix at the soak rate for %ds" % self.warmup_s)
            self.run_mix("warmup", self.warmup_s, o.soak_delay_ms)
        m["rss_start"], m["cache_start"] = sample("start", 0)
        log("soak: the mix for %ds, each connection pausing %d ms per request; RSS at start %s MB (cache %s)" % (
            self.soak_s, o.soak_delay_ms, report.mb(m["rss_start"]), m["cache_start"]))
        half = self.soak_s // 2 // 10 * 10
        m["rss_mid"] = None

        def tick(sec):
            rss, cache = sample("run", sec)
            if m["rss_mid"] is None and sec >= half:
                m["rss_mid"], m["cache_mid"] = rss, cache
                log("soak: RSS at %ds (middle) %s MB (cache %s)" % (sec, report.mb(rss), cache))
        self.run_mix("soak", self.soak_s, o.soak_delay_ms, tick=tick)
        m["rss_end"], m["cache_end"] = sample("end", self.soak_s)
        if m["rss_mid"] is None:
            m["rss_mid"], m["cache_mid"] = m["rss_end"], m["cache_end"]
        with open(samples) as f:
            values = [int(line.split("\t")[2]) for line in list(f)[1:]]
        m["rss_max"], m["rss_min"] = max(values), min(values)
        m["rss_growth"] = round((m["rss_max"] - m["rss_start"]) * 100 / m["rss_start"], 1)
        m["rss_spread"] = round((m["rss_max"] - m["rss_min"]) * 100 / m["rss_start"], 1)
        log("soak: RSS at end %s MB; largest growth over start %.1f %%, spread (max - min) / start %.1f %%" % (
            report.mb(m["rss_end"]), m["rss_growth"], m["rss_spread"]))

    def go(self):
        o, m, ctx = self.o, self.m, self.ctx
        self.raise_nofile()
        m["nginx_label"] = nginx_label(self.tools)
        self.start_servers()
        self.prime_and_check()
        load_start = loadavg()
        self.open_idle()
        self.run_load() if self.mode == "load" else self.run_soak()
        self.check_idle()
        with open(self.rows) as f:
            wrk_errors = sum(int(line.split("\t")[7]) for line in list(f)[1:] if not line.startswith("warmup\t"))
        m["errors"] = wrk_errors + self.idle_errors
        with open(self.cpu_rows) as f:
            m["cpu_line"] = ", ".join("%s %s / %s" % tuple(line.rstrip("\n").split("\t")) for line in list(f)[1:]
                                      if not line.startswith("warmup\t"))
        c = self.conns
        if self.mode == "soak":
            title = ("Soak %s: %d idle + %d active connections, the same mix with a pause of %d ms before each request "
                     "on each connection" % (o.soak, o.idle, o.active, o.soak_delay_ms))
        else:
            title = ("Load: %d idle + %d active keep-alive connections, mix %d hits / %d misses / %d fields / %d batch "
                     "connections" % (o.idle, o.active, c["hits"], c["misses"], c["fields"], c["batch"]))
        label = m["nginx_label"]
        m["run_labels"] = {"mix": "edge-proxy mix, closed loop", "paced": "edge-proxy mix, paced %d ms" % o.pace_ms,
                           "soak": "edge-proxy mix, paced %d ms" % o.soak_delay_ms,
                           "hits-only": "edge-proxy hits, closed loop", "hits-paced": "edge-proxy hits, paced %d ms" % o.pace_ms,
                           "nginx": "%s files, closed loop" % label, "nginx-paced": "%s files, paced %d ms" % (label, o.pace_ms)}
        meta = ctx.meta(load_start=load_start, title=title, mode=self.mode, workers=o.workers, pace_ms=o.pace_ms,
                        rss_limit=o.rss_limit, **m)
        ctx.add_block(kind="load", results="results.tsv", meta=meta)
        rc = 0
        if m["errors"]:
            warn("%d errors (wrk socket errors, non-2xx answers, idle connections lost or failing)" % m["errors"])
            rc = 1
        if self.mode == "soak" and m["rss_growth"] > o.rss_limit:
            warn("RSS grew %.1f %% after warm-up (limit %d %%)" % (m["rss_growth"], o.rss_limit))
            rc = 1
        log("load average at start %s, at end %s" % (load_start, loadavg()))
        return rc


def load(ctx):
    return Load(ctx).go()


# ---- purge ---------------------------------------------------------------------------------------

PURGE_VCL = """  if (req.method == "PURGE") { return (purge); }
  if (req.method == "BAN") {
    ban("req.url == " + req.url);
    return (synth(200, "Ban added"));
  }"""


def purge(ctx):
    """Redis, the demo origin, edge-proxy (subscribed, admin API on) and Varnish (PURGE and BAN
    allowed); 1. purge propagation (lib/purge_latency.mjs); 2. the purge micro-benchmark when
    built; 3. hits on one URL with and without a stream of purges (lib/purge_stream.mjs), in
    interleaved rounds."""
    o, run, tools = ctx.o, ctx.run, ctx.tools
    node = tools["node"]
    p_redis, p_origin, p_edge, p_admin, p_varnish = free_ports(5)
    token = os.environ["EDGE_ADMIN_TOKEN"] = "bench-admin-token"
    redis = start_redis(run, tools, "redis", p_redis)
    start_demo_origin(run, tools, "origin", p_origin)
    edge = start_edge(run, ctx.edge_bin, "edge", p_edge, health="_test/cache/p/ready", yaml="""listen: 127.0.0.1:%d
workers: 1
upstreams:
  app: {servers: [127.0.0.1:%d]}
cache: {memory: 1g}
route_classes:
  p: {ttl: 1h, tags: ["org:{query.org}:wo"]}
routes:
  - {match: {path_prefix: /_test/cache/p/}, upstream: app, class: p}
invalidation:
  redis: {address: 127.0.0.1:%d}
admin:
  listen: 127.0.0.1:%d
""" % (p_edge, p_origin, p_redis, p_admin))
    start_varnish(run, tools, "varnish", p_varnish, p_origin, recv=PURGE_VCL)
    load_start = loadavg()

    log("1. propagation (%d samples per method)" % o.messages)
    lat = run.path("latency.jsonl")
    if run.run_client([node, os.path.join(LIB, "purge_latency.mjs"), "--edge", str(p_edge), "--admin", str(p_admin),
                       "--redis", str(p_redis), "--varnish", str(p_varnish), "--messages", str(o.messages)],
                      lat, pin=False) != 0:
        die("the propagation client failed: %s" % open(lat, errors="replace").read()[-600:])

    micro = os.environ.get("MICRO_BENCH_BIN") or os.path.join(REPO_ROOT, "build-bench-redis", "bench", "micro", "purge_bench")
    micro_out = None
    if os.access(micro, os.X_OK):
        log("2. micro-benchmark: " + micro)
        micro_out = "micro.txt"
        run.run_client([micro, "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                       run.path(micro_out), pin=False)
    else:
        log("2. micro-benchmark skipped: build it with -DPROXY_BUILD_BENCH=ON into build-bench-redis "
            "(or name it in MICRO_BENCH_BIN)")

    log("3. hit throughput: storing %d entries" % o.entries)
    if run.run_client([node, os.path.join(LIB, "purge_latency.mjs"), "--edge", str(p_edge), "--store", str(o.entries)],
                      run.path("store.log"), pin=False) != 0:
        die("storing the entries failed (see store.log)")
    hot = edge.url + "_test/cache/p/hot"
    fetch(hot)
    if not fetch(hot).header("x-cache").startswith("HIT"):
        die("the hot URL is not a hit")
    seconds = parse_duration(o.duration, "--duration")
    wrk = [tools["wrk"], "-t", "1", "-c", str(o.connections), "-d", o.duration, hot]
    results = run.path("results.tsv")
    write(results, "round\tposition\ttarget\trps\n")
    for r, pos, cond in interleave(o.rounds, ["no-purges", "purges"]):
        stream = None
        if cond == "purges":
            stream = run.client([node, os.path.join(LIB, "purge_stream.mjs"), "--redis", str(p_redis), "--rate",
                                 str(o.rate), "--seconds", str(seconds + 1)], open(run.path("stream-%d.json" % r), "wb"),
                                pin=False)
            time.sleep(0.5)
        out = run.path("wrk-%s-%d.txt" % (cond, r))
        if run.run_client(wrk, out) != 0:
            die("wrk failed: %s" % open(out).read()[-300:])
        text = open(out).read()
        if re.search(r"^(Non-2xx|Socket errors)", text, re.M):
            die("wrk saw errors: " + out)
        rps = float(re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M).group(1))
        if stream:
            run.wait_client(stream)
        with open(results, "a") as f:
            f.write("%d\t%d\t%s\t%.2f\n" % (r, pos, cond, rps))
        log("round %d: %s %.0f req/s%s" % (r, "%d purges/s" % o.rate if stream else "no purges", rps,
                                          " (%s)" % open(run.path("stream-%d.json" % r)).read().strip() if stream else ""))
    run.check_alive(edge.proc)
    run.check_alive(redis.proc)
    write(run.path("stats.json"), json.dumps(admin_stats(p_admin, token)))
    meta = ctx.meta(load_start=load_start, edge_version=edge_version(ctx.edge_bin) + ", " + ctx.edge_bin + " (workers: 1, "
                    "cache: {memory: 1g}, subscribed to Redis, admin API on)",
                    title="Purge propagation, 1M-entry purges, hits under purges", rate=str(o.rate),
                    heading="purge propagation, 1M-entry purges, hits under purges",
                    wrk="wrk -t1 -c%d -d%s" % (o.connections, o.duration),
                    load="propagation: %d samples per method, each on a freshly stored entry checked to be a HIT; hits: "
                         "wrk -t1 -c%d -d%s on one stored URL, %d interleaved rounds without purges and while "
                         "lib/purge_stream.mjs publishes %d soft purges per second (%d entries stored beforehand); "
                         "%s with PURGE and BAN" % (o.messages, o.connections, o.duration, o.rounds, o.rate, o.entries,
                                                    varnish_label(tools)))
    ctx.add_block(kind="purge", propagation="latency.jsonl", results="results.tsv", micro=micro_out, stats="stats.json",
                  meta=meta)


# ---- memory flood --------------------------------------------------------------------------------


def flood(ctx):
    """lib/memory_flood.mjs once per round, each with a proxy of its own: RSS under a flood of
    unique cacheable URLs against the store's budget."""
    o, run = ctx.o, ctx.run
    if o.bin:
        binary = os.path.abspath(o.bin)
    else:
        binary = os.environ.get("EDGE_PROXY_BIN") or "build/edge-proxy"
        binary = binary if os.path.isabs(binary) else os.path.join(REPO_ROOT, binary)
    if not os.access(binary, os.X_OK):
        die("no edge-proxy binary at %s (build it, or pass --bin)" % binary)
    log("edge-proxy: %s; %d cores; load average %s" % (binary, os.cpu_count(), loadavg()))
    out = run.path("flood.jsonl")
    write(out, "")
    load_start = loadavg()
    for r in range(1, o.rounds + 1):
        part = run.path("flood-%d.json" % r)
        rc = run.run_client([ctx.tools["node"], os.path.join(LIB, "memory_flood.mjs"), "--bin", binary, "--memory",
                             o.memory, "--count", str(o.count), "--parallel", str(o.parallel), "--compress-on-store",
                             str(o.compress_on_store)], part, pin=False)
        text = open(part, errors="replace").read()
        lines = [line for line in text.splitlines() if line.startswith("{")]
        if rc != 0 or not lines:
            die("the flood client failed: %s" % text[-600:])
        log("round %d: %s" % (r, lines[-1]))
        with open(out, "a") as f:
            f.write(lines[-1] + "\n")
    meta = ctx.meta(load_start=load_start, edge_version=edge_version(binary) + ", " + binary,
                    title="Memory under a flood of unique keys, cache.memory %s, compress_on_store %s" % (
                        o.memory, "on" if o.compress_on_store else "off"),
                    heading="Memory under a flood of unique keys, cache.memory %s" % o.memory,
                    load="lib/memory_flood.mjs: demo origin, edge-proxy workers: 2, cache {memory: %s, shards: 16}, one "
                         "class ttl: 10m%s; %d keep-alive connections, %d unique URLs after 2000 warm-up ones (280 B to "
                         "4 KB, every 10th 16 KB, every 50th 64 KB, half padded with poorly compressible text, every 3rd "
                         "with gzip); RSS is VmRSS from /proc, the store's figures from the admin API's /stats" % (
                             o.memory, ", compress_on_store" if o.compress_on_store else "", o.parallel, o.count))
    ctx.add_block(kind="flood", results="flood.jsonl", meta=meta)
