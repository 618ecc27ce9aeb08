"""What bench/run does with the servers of a scenario: start them from the scenario's list, check
targets (byte-identical bodies, hit markers, encodings, projections), prime caches, and drive
the load tools (wrk in interleaved rounds, lib/burst.js, lib/batch_latency.js) into the files
that bench/report.py reads."""

import json
import os
import time

import report
from core import (LIB, CpuClock, die, fetch, fetch_n, free_ports, loadavg, log, parse_duration, require_hit,
                  tcp_retrans_segs, verify_body, verify_encoded_hit, verify_hit, warn)
from servers import (CACHE_CONTROL, Server, edge_version, edge_yaml, projection_problem, start_cacheable_origin,
                     start_edge, start_nginx_cache, start_nginx_proxy, start_origin, start_slow_origin,
                     start_varnish, start_ws_origin, write)

BEFORE = "-before"  # suffix of the baseline binary's servers and targets


class Ctx:
    """One run: options, tools, servers, the report blocks and the facts the meta texts quote."""

    def __init__(self, run, opts, scenario, tools, edge_bin, baseline_bin, command):
        self.run, self.o, self.sc, self.tools = run, opts, scenario, tools
        self.edge_bin, self.baseline_bin, self.command = edge_bin, baseline_bin, command
        self.servers = {}
        self.blocks = []
        self.facts = {"edge_version": "", "load_start": loadavg()}
        self.meta_base = None

    def meta(self, **kw):
        m = dict(self.meta_base)
        m["command"] = self.command
        m["load_start"] = kw.pop("load_start", self.facts["load_start"])
        m["load_end"] = loadavg()
        m.update({k: v for k, v in kw.items() if v is not None})
        return m

    def text(self, template):
        """A scenario text: a str.format template over the options and the facts, or a function."""
        if callable(template):
            return template(self.o, self.facts)
        return template.format(o=self.o, f=self.facts)

    def add_block(self, **block):
        self.blocks.append(block)
        write(os.path.join(self.run.dir, "report.json"), json.dumps({"blocks": self.blocks}, indent=1))


def interleave(rounds, names):
    """The one order of every measurement: ROUNDS rounds over NAMES, the order rotating by one
    each round (with two targets A,B then B,A, ...), so that slow drifts of a shared machine
    hit every target alike and none always runs first."""
    n = len(names)
    for r in range(1, rounds + 1):
        for i in range(n):
            yield r, i + 1, names[(i + r - 1) % n]


# ---- servers -----------------------------------------------------------------------------------


def start_servers(ctx, specs, bodies):
    """Start the servers of SPECS in order (origins first); each spec names its kind, the origin
    it proxies (upstream) and extra settings. With a baseline binary every edge-proxy spec that
    the scenario allows gets a twin named NAME-before."""
    o, run, tools = ctx.o, ctx.run, ctx.tools
    specs = list(specs)
    if ctx.baseline_bin:
        specs = [s2 for s in specs for s2 in ([s, dict(s, name=s["name"] + BEFORE, before=True)]
                                              if s["kind"].startswith("edge") and s.get("baseline", True) else [s])]
    ports = dict(zip([s["name"] for s in specs], free_ports(len(specs))))
    workers = getattr(o, "workers", 1) or 1
    for s in specs:
        name, port, kind = s["name"], ports[s["name"]], s["kind"]
        up = ctx.servers[s["upstream"]].port if s.get("upstream") else None
        if kind == "nginx-origin":
            srv = start_origin(run, tools, name, port, bodies[s["body"]])
            verify_body("origin", srv.url, read(bodies[s["body"]]))
            log("origin: nginx on 127.0.0.1:%d, %d-byte JSON body" % (port, len(read(bodies[s["body"]]))))
        elif kind == "cacheable-origin":
            paths = [bodies[b] for b in s["bodies"]]
            srv = start_cacheable_origin(run, tools, name, port, paths)
            for p in paths:
                verify_body("origin", srv.url + os.path.basename(p), read(p))
            log("origin: nginx on 127.0.0.1:%d, %s, Cache-Control: %s" % (
                port, ", ".join("/%s (%d bytes)" % (os.path.basename(p), len(read(p))) for p in paths), CACHE_CONTROL))
        elif kind == "slow-origin":
            delay = getattr(o, "delay_ms")
            srv = start_slow_origin(run, tools, name, port, delay, bodies[s["body"]])
            log("slow origin: Node.js on 127.0.0.1:%d, %d ms per answer, %d-byte body" % (
                port, delay, len(read(bodies[s["body"]]))))
        elif kind == "nginx-proxy":
            srv = start_nginx_proxy(run, tools, name, port, up, workers, tls=s.get("tls", ""),
                                    location_extra=s.get("location_extra", ""), connection=s.get("connection", '""'))
            log("nginx proxy (no cache%s) on %s (%d worker(s))" % (s.get("note", ""), srv.url, workers))
        elif kind == "nginx-cache":
            srv = start_nginx_cache(run, tools, name, port, up, workers, s.get("http_extra", ""), tls=s.get("tls", ""))
            log("nginx proxy_cache%s on %s (%d worker(s))" % (s.get("note", ""), srv.url, workers))
        elif kind == "ws-origin":
            srv = start_ws_origin(run, tools, name, port)
            log("WebSocket echo origin: Node.js (node-ws) on 127.0.0.1:%d" % port)
        elif kind == "varnish":
            srv = start_varnish(run, tools, name, port, up, s.get("beresp", ""))
            log("varnish on 127.0.0.1:%d (malloc,256m, default thread pools%s)" % (port, s.get("note", "")))
        elif kind.startswith("edge"):
            binary = ctx.baseline_bin if s.get("before") else ctx.edge_bin
            label = "edge-proxy (before)" if s.get("before") else "edge-proxy"
            label += s.get("label_suffix", "")
            if kind == "edge-quick":
                srv = start_edge(run, binary, name, port, argv=["--listen", "127.0.0.1:%d" % port, "--upstream",
                                                                 "127.0.0.1:%d" % up, "--workers", str(workers)],
                                 label=label)
            else:
                yaml = s["yaml"](o, port, up, ports, workers) if callable(s.get("yaml")) else \
                    edge_yaml(port, up, workers, s.get("cache"))
                srv = start_edge(run, binary, name, port, yaml=yaml, label=label, env=s.get("env"),
                                 url="https://127.0.0.1:%d/" % port if s.get("tls") else None)
            if not s.get("before"):
                ctx.facts["edge_version"] = edge_version(binary)
            log("%s on %s (%s, %d worker(s)%s)" % (label, srv.url, binary, workers,
                                                            ", cache memory %s" % s["cache"] if s.get("cache") else ""))
        else:
            die("unknown server kind %s" % kind)
        ctx.servers[name] = srv
    return ctx.servers


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- targets -----------------------------------------------------------------------------------


class Target:
    """What one measured series requests: a server, a path, request headers, what a correct
    answer is (check: body, hit, encoded, projection) and the expected body."""

    def __init__(self, spec, server, body=None):
        self.name, self.server, self.spec = spec["name"], server, spec
        self.path = spec.get("path", "")
        self.url = server.url + self.path.lstrip("/")
        self.encoding = spec.get("encoding", "")
        self.headers = ["Accept-Encoding: " + self.encoding] if self.encoding else []
        self.check_kind = spec.get("check", "hit")
        self.body = body
        suffix = spec.get("label_suffix", "")
        self.label = spec.get("label") or (server.label + (" " + suffix if suffix else ""))
        if spec.get("label") and server.name.endswith(BEFORE):
            self.label = spec["label"].replace("edge-proxy", "edge-proxy (before)")
        self.wire = None

    def check(self, fields=None):
        """One request; it must be what the target's check says. Encoded targets record the
        size on the wire."""
        if self.check_kind == "body":
            verify_body(self.label, self.url, self.body)
        elif self.check_kind == "hit":
            verify_hit(self.label, self.url, self.body, self.server.hit_header)
        elif self.check_kind == "encoded":
            self.wire = verify_encoded_hit(self.label, self.url, self.body, self.encoding, self.server.hit_header)
        elif self.check_kind == "projection":
            r = fetch(self.url)
            if r.code != 200:
                die("%s: GET %s returned HTTP %d, expected 200" % (self.label, self.url, r.code))
            require_hit(self.label, "GET " + self.url, r, self.server.hit_header)
            problem = projection_problem(self.body, r.body, fields)
            if problem:
                die("%s: GET %s is not the document cut to %s: %s" % (self.label, self.url, fields, problem))
            self.wire = (len(r.body), "")


def make_targets(ctx, specs, bodies):
    """The scenario's targets; with a baseline binary each target on edge-proxy gets a twin on
    the baseline server, right after it."""
    out = []
    for spec in specs:
        srv = ctx.servers[spec["server"]]
        body = read(bodies[spec["body"]]) if spec.get("body") else None
        out.append(Target(spec, srv, body))
        if ctx.baseline_bin and spec["server"] + BEFORE in ctx.servers:
            twin = dict(spec, name=before_name(spec["name"]))
            out.append(Target(twin, ctx.servers[spec["server"] + BEFORE], body))
    return out


def pairs_of(table, o):
    """A table's ratio pairs: a string, or a function of the options."""
    return table["pairs"](o) if callable(table["pairs"]) else table["pairs"]


def before_name(name):
    return "edge" + BEFORE if name == "edge" else name + BEFORE


def with_baseline(ctx, pairs, targets):
    """Ratios for the baseline twins: after/before for each edge-proxy target, and the twin
    against the same references."""
    if not ctx.baseline_bin:
        return pairs
    names = {t.name for t in targets}
    plist = [p.split(":") for p in pairs.split(",") if p]
    extra = []
    for a, _ in plist:
        if before_name(a) in names and [a, before_name(a)] not in extra:
            extra.append([a, before_name(a)])
    for a, b in plist:  # the twin against the same reference (another edge-proxy target's twin)
        if before_name(a) in names:
            extra.append([before_name(a), before_name(b) if before_name(b) in names else b])
    return ",".join(":".join(p) for p in plist + extra)


def prime(ctx, targets, origin, gets, fields=None):
    """Fill each target's cache (GETS requests, the first a miss), then one more request must be
    right; returns how many requests reached the origin per target."""
    reached = {}
    for t in targets:
        before = origin.requests()
        fetch_n(t.url, gets, headers=t.headers)
        t.check(fields)
        reached[t.name] = origin.requests() - before
    return reached


# ---- wrk ---------------------------------------------------------------------------------------

WRK_COLUMNS = ["round", "position", "target", "rps", "p50_ms", "p99_ms", "requests", "errors", "cpu_cores",
               "tcp_retrans"]


def wrk_cmd(ctx, target, duration, latency=True):
    o = ctx.o
    cmd = [ctx.tools["wrk"], "-t", str(o.threads), "-c", str(o.connections), "-d", duration]
    if latency:
        cmd.append("--latency")
    for h in target.headers:
        cmd += ["-H", h]
    return cmd + [target.url]


def wrk_run(ctx, target, duration, out):
    """One measured wrk run: its figures, the CPU the target's process group used and the TCP
    segments the host retransmitted meanwhile."""
    proc = target.server.proc
    ctx.run.check_alive(proc)
    cpu = CpuClock(proc.pid)
    r0 = tcp_retrans_segs()
    if ctx.run.run_client(wrk_cmd(ctx, target, duration), out) != 0:
        die("wrk against %s failed: %s" % (target.label, read(out).decode(errors="replace")[-400:]))
    cores = cpu.cores()
    retrans = tcp_retrans_segs() - r0
    ctx.run.check_alive(proc)
    try:
        r = report.parse_wrk(read(out).decode(errors="replace"))
    except ValueError as e:
        die("could not parse wrk output %s: %s" % (out, e))
    r.update(cpu_cores=cores, tcp_retrans=retrans)
    return r


def warmup(ctx, targets, duration):
    if parse_duration(duration, "--warmup") == 0:
        return
    for t in targets:
        log("warm-up %s (%s)" % (t.label, duration))
        out = ctx.run.path("warmup-%s.txt" % t.name)
        if ctx.run.run_client(wrk_cmd(ctx, t, duration, latency=False), out) != 0:
            die("warm-up wrk against %s failed" % t.label)
        ctx.run.check_alive(t.server.proc)


def wrk_rounds(ctx, targets, results, prefix="", after=None, origin=None):
    """The interleaved wrk rounds over TARGETS into RESULTS (TSV). Around every run the origin's
    request count is read (requests that reached it during a run are reported) and AFTER(target)
    checks the target once more. Returns the origin requests per target during the runs."""
    o = ctx.o
    during = {t.name: 0 for t in targets}
    by_name = {t.name: t for t in targets}
    with open(results, "w") as f:
        f.write("\t".join(WRK_COLUMNS) + "\n")
    for r, pos, name in interleave(o.rounds, [t.name for t in targets]):
        t = by_name[name]
        before = origin.requests() if origin else 0
        res = wrk_run(ctx, t, o.duration, ctx.run.path("wrk", "%s%s-round%d.txt" % (prefix + "-" if prefix else "", name, r)))
        if origin:
            n = origin.requests() - before
            during[name] += n
            if n:
                warn("%s: the origin received %d request(s) during a measured run" % (t.label, n))
        if after:
            after(t)
        with open(results, "a") as f:
            f.write("%d\t%d\t%s\t%.2f\t%.3f\t%.3f\t%d\t%d\t%.2f\t%d\n" % (
                r, pos, name, res["rps"], res["p50_ms"], res["p99_ms"], res["requests"], res["errors"],
                res["cpu_cores"], res["tcp_retrans"]))
        log("%sround %d/%d  %-18s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %.2f  errors %d  tcp retrans %d" % (
            prefix + ": " if prefix else "", r, o.rounds, t.label, res["rps"], res["p50_ms"], res["p99_ms"],
            res["cpu_cores"], res["errors"], res["tcp_retrans"]))
        if res["errors"]:
            warn("wrk reported %d socket errors / non-2xx responses for %s" % (res["errors"], t.label))
        time.sleep(1)  # let closed connections drain before the next target starts
    return during


def labels_meta(targets, names=None):
    shown = [t for t in targets if names is None or t.name in names]
    if names is not None:
        shown.sort(key=lambda t: names.index(t.name) if t.name in names else 99)
    m = {"targets": ",".join(t.name for t in shown)}
    m.update({"label." + t.name: t.label for t in shown})
    return m


def prime_targets(ctx, targets, origin, fields):
    """Prime in the scenario's order and check what reached the origin: one request per target,
    or per server for a group of targets that share one stored entry (identity, gzip and br of
    edge-proxy), or what the target's prime_expect says (0: a projection of a stored entry)."""
    sc, f = ctx.sc, ctx.facts
    first = sc["prime"]["order"]
    order = sorted(targets, key=lambda t: first.index(t.name.replace(BEFORE, "")) if t.name.replace(BEFORE, "") in first
                   else len(first))
    f["primed"] = reached = prime(ctx, order, origin, sc["prime"]["gets"], fields)
    groups = {}
    for t in order:
        if t.spec.get("prime_group"):
            key = (t.spec["prime_group"], t.server.name)
            groups[key] = groups.get(key, 0) + reached[t.name]
        elif reached[t.name] != t.spec.get("prime_expect", 1):
            warn("%s: %d requests for a cacheable URL reached the origin %d times (expected %d)" % (
                t.label, sc["prime"]["gets"] + 1, reached[t.name], t.spec.get("prime_expect", 1)))
    for (group, server), n in groups.items():
        f["primed_group_" + server] = n
        if n != 1:
            warn("%s: %s requests for one URL reached the origin %d times (expected 1)" % (
                ctx.servers[server].label, group, n))
    log("every target answers as checked: %s" % ", ".join(
        "%s %s" % (t.label, "%d bytes on the wire" % t.wire[0] if t.wire else "ok") for t in targets))


def run_wrk_scenario(ctx, variant=None):
    """A wrk scenario (passthrough, cache_hit, compressed_hit, fields_batch --part hits): the
    scenario's targets, primed and checked, measured in interleaved rounds; one report block per
    table of the scenario, then its goals."""
    sc, o, f = ctx.sc, ctx.o, ctx.facts
    origin = ctx.servers["origin"]
    counting = origin if origin.access_log else None  # a cacheable origin logs every request
    specs = sc["targets"](o, variant) if callable(sc["targets"]) else sc["targets"]
    targets = make_targets(ctx, specs, ctx.bodies)
    names_all = {t.name for t in targets}
    fields = getattr(o, "fields", None)
    f["load_start"] = loadavg()
    f["n_targets"] = len(targets)
    if sc.get("prime"):
        prime_targets(ctx, targets, counting, fields)
    else:
        for t in targets:
            t.check(fields)
        log("all targets return the origin body")
    f["wire"] = {t.name: t.wire for t in targets if t.wire}
    if sc.get("facts"):
        f.update(sc["facts"](o, f, variant))
    at_start = counting.requests() if counting else 0
    warmup(ctx, targets, o.warmup)
    results = "results%s.tsv" % ("-%s" % variant if variant is not None else "")
    during = wrk_rounds(ctx, targets, ctx.run.path(results), prefix=sc.get("prefix", lambda v: "")(variant),
                        after=lambda t: t.check(fields), origin=counting)
    for t in targets:
        t.check(fields)  # still healthy and correct after the load
    f["during"] = ", ".join("%s %d" % (t.label, during[t.name]) for t in targets)
    f["origin_total"] = (counting.requests() - at_start) if counting else 0
    f["primed_text"] = ", ".join("%s %d" % (t.label, f["primed"][t.name]) for t in targets) if sc.get("prime") else ""
    f["variant"] = variant
    for table in sc["tables"]:
        names = table.get("targets")
        if names and ctx.baseline_bin:
            names = [m for n in names for m in ([n, before_name(n)] if before_name(n) in names_all else [n])]
        meta = ctx.meta(load_start=f["load_start"], edge_version=f["edge_version"] + ", " + ctx.text(sc["edge_setup"]),
                        title=ctx.text(table["title"]), heading=ctx.text(table["heading"]), load=ctx.text(sc["load"]),
                        checks=ctx.text(sc["checks"]) if sc.get("checks") else None)
        meta.update(labels_meta(targets, names))
        ctx.add_block(kind="wrk", results=results, meta=meta, pairs=with_baseline(ctx, pairs_of(table, o), targets))
    for text in sc.get("texts", []):
        ctx.add_block(kind="text", text=ctx.text(text[0]), markdown=ctx.text(text[1]))
    if sc.get("goals"):
        goals = [dict(g, value=f[g["value"]]) if isinstance(g.get("value"), str) else g for g in sc["goals"]]
        ctx.add_block(kind="goals", results=results, goals=goals)


# ---- bursts (coalescing) -------------------------------------------------------------------------


def run_bursts(ctx):
    """CLIENTS concurrent GETs of one cold key per target and round (a fresh key each time),
    through lib/burst.js; the slow origin's count for that key tells how many went through."""
    o, run, f = ctx.o, ctx.run, ctx.facts
    origin = ctx.servers["origin"]
    body = read(ctx.bodies["body.json"])
    late_ms = o.delay_ms * 3 // 2
    f["late_ms"] = late_ms
    names = [n for n in ctx.servers if n != "origin"]
    warm = {}
    checked = []
    for n in names:
        srv = ctx.servers[n]
        path = "coalesce/check-" + n
        warm[n] = srv.url + path
        verify_body(srv.label, srv.url + path, body)
        verify_hit(srv.label, srv.url + path, body, srv.hit_header)
        c = origin.count("/" + path)
        if c != 1:
            warn("%s: two sequential GETs of a cacheable URL reached the origin %d times (expected 1)" % (srv.label, c))
        checked.append("%s %d" % (srv.label, c))
    log("every proxy caches: second GET is a HIT with the origin's bytes")
    f["checked"] = ", ".join(checked)
    targets = [(n, ctx.servers[n]) for n in names]
    if o.direct:
        direct = Server("direct", origin.port, origin.proc, "origin direct (no proxy)")
        warm["direct"] = origin.url + "count"
        targets.append(("direct", direct))
    by = dict(targets)
    results = run.path("results.tsv")
    with open(results, "w") as fh:
        fh.write("\t".join(report.BURST_COLUMNS) + "\n")
    f["load_start"] = loadavg()
    for r, pos, name in interleave(o.rounds, [n for n, _ in targets]):
        srv = by[name]
        run.check_alive(srv.proc)
        path = "/coalesce/round%d-%s-%d" % (r, name, int.from_bytes(os.urandom(4), "big"))
        out = run.path("burst", "%s-round%d.txt" % (name, r))
        with open(out, "wb") as so, open(out + ".stderr", "wb") as se:
            p = run.client([ctx.tools["node"], os.path.join(LIB, "burst.js"), srv.url.rstrip("/") + path,
                            str(o.clients), ctx.bodies["body.json"], warm[name] if o.preconnect else "-", "30000"],
                           so, stderr=se, pin=False)
            rc = run.wait_client(p)
        if rc != 0:
            warn("%s: some requests of the burst failed (see %s)" % (srv.label, out))
        if os.path.getsize(out) == 0:
            die("%s: the burst client printed nothing: %s" % (srv.label, read(out + ".stderr")[-400:]))
        run.check_alive(srv.proc)
        n = origin.count(path)
        d = report.parse_burst(read(out).decode(), late_ms)
        with open(results, "a") as fh:
            fh.write("\t".join([str(r), str(pos), name, str(n)] + [
                str(d[k]) if isinstance(d[k], (int, str)) else "%.3f" % d[k] for k in report.BURST_COLUMNS[4:]]) + "\n")
        if o.preconnect and d["reused"] != o.clients:
            warn("%s: only %d of %d requests went out on a pre-opened connection" % (srv.label, d["reused"], o.clients))
        log("round %d/%d  %-24s origin %3d  p50 %6.0f ms  p99 %6.0f ms  max %6.0f ms  late %3d  errors %d  %s" % (
            r, o.rounds, srv.label, n, d["p50_ms"], d["p99_ms"], d["max_ms"], d["late"], d["errors"], d["markers"]))
        time.sleep(1)  # let the burst's connections close before the next one
    meta = ctx.meta(load_start=f["load_start"], edge_version=f["edge_version"] + ", " + ctx.text(ctx.sc["edge_setup"]),
                    title=ctx.text(ctx.sc["title"]), heading=ctx.text(ctx.sc["heading"]),
                    load=ctx.text(ctx.sc["load"]), checks=ctx.text(ctx.sc["checks"]), late_ms=str(late_ms))
    meta["targets"] = ",".join(n for n, _ in targets)
    meta.update({"label." + n: s.label for n, s in targets})
    ctx.add_block(kind="burst", results="results.tsv", meta=meta)


# ---- batch latency -------------------------------------------------------------------------------


def run_latency(ctx):
    """Sequential requests of the fields_batch latency scenarios through lib/batch_latency.js
    (the scenarios, their checks and the rounds are in the plan it gets)."""
    o, run, f, sc = ctx.o, ctx.run, ctx.facts, ctx.sc
    s = ctx.servers
    origin, slow = s["origin"], s["slow"]
    details = ctx.details
    e = s["edge"].url
    before = origin.requests()
    for i, path in enumerate(details, 1):
        fetch_n(e + "wo-%d.json" % i, 2)
        verify_hit("edge-proxy", e + "wo-%d.json" % i, read(path), "x-cache")
    n = origin.requests() - before
    if n != len(details):
        warn("edge-proxy: priming %d detail documents reached the origin %d times (expected %d)" % (
            len(details), n, len(details)))
    for name in ("nginx", "varnish"):
        fetch_n(s[name].url + "wo-1.json", 2)
        verify_hit(s[name].label, s[name].url + "wo-1.json", read(details[0]), s[name].hit_header)
    # A slow-origin path answered through edge-proxy: MISS once, then a HIT (the route caches).
    verify_body("edge-proxy", e + "slow/check", read(details[0]))
    verify_hit("edge-proxy", e + "slow/check", read(details[0]), "x-cache")
    if slow.count("/slow/check") != 1:
        warn("edge-proxy: /slow/check reached the slow origin more than once")
    urls = {k: v.url.rstrip("/") for k, v in s.items()}
    plan = sc["latency_plan"](o, urls, details)
    plan_file = write(run.path("latency-plan.json"), json.dumps(plan, indent=1))
    out = run.path("latency.json")
    f["lat_load_start"] = loadavg()
    slow_before = slow.count()
    log("latency: %d interleaved rounds of %d scenarios (%d samples per round cached, %d behind the %d ms origin)" % (
        o.rounds, len(plan["scenarios"]), o.samples, o.slow_samples, o.delay_ms))
    # Its progress lines (one per scenario and round) go to stderr as they come.
    rc = run.wait_client(run.client([ctx.tools["node"], os.path.join(LIB, "batch_latency.js"), plan_file, out],
                                    None, stderr=None))
    if rc > 1:
        die("the latency client failed (exit %d)" % rc)
    if rc:
        warn("the latency client reported failed checks (see the errors in the table)")
    f["slow_total"] = slow.count() - slow_before
    f["detail_bytes"] = len(read(details[0]))
    meta = ctx.meta(load_start=f["lat_load_start"], edge_version=f["edge_version"] + ", " + ctx.text(sc["latency_edge"]),
                    title=ctx.text(sc["latency_title"]), heading=ctx.text(sc["latency_heading"]),
                    load=ctx.text(sc["latency_load"]), checks=ctx.text(sc["latency_checks"]), delay_ms=str(o.delay_ms))
    meta["targets"] = ",".join(sc["latency_order"])
    meta.update({"label." + k: ctx.text(v) for k, v in sc["latency_labels"].items()})
    ctx.add_block(kind="latency", results="latency.json", meta=meta)


# ---- the scenarios' runners ----------------------------------------------------------------------


def setup(ctx):
    """The scenario's documents (under bodies/) and its servers."""
    ctx.bodies = {name: write(ctx.run.path("bodies", name), data) for name, data in ctx.sc["bodies"](ctx.o).items()}
    start_servers(ctx, ctx.sc["servers"](ctx.o), ctx.bodies)


def wrk_scenario(ctx):
    setup(ctx)
    for variant in ctx.sc["variants"](ctx.o) if ctx.sc.get("variants") else [None]:
        run_wrk_scenario(ctx, variant)


def fields_batch(ctx):
    setup(ctx)
    if ctx.o.part in ("all", "hits"):
        run_wrk_scenario(ctx)
    if ctx.o.part in ("all", "latency"):
        ctx.details = [ctx.bodies["wo-%d.json" % (i + 1)] for i in range(len(ctx.bodies) - 1)]
        run_latency(ctx)


def bursts(ctx):
    setup(ctx)
    run_bursts(ctx)


def _long_runs(name):
    def runner(ctx):
        import long_runs
        return getattr(long_runs, name)(ctx)
    return runner


def _module_runner(module, name):
    def runner(ctx):
        return getattr(__import__(module), name)(ctx)
    return runner


RUNNERS = {"wrk": wrk_scenario, "fields_batch": fields_batch, "burst": bursts, "load": _long_runs("load"),
           "purge": _long_runs("purge"), "flood": _long_runs("flood"), "tls_wrk": _module_runner("tls", "wrk_scenario"),
           "tls_handshake": _module_runner("tls", "handshakes"), "ws_echo": _module_runner("ws", "ws_echo")}
