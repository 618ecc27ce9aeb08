"""TLS for bench/run: the certificate made for a run (openssl CLI, into the run directory), the
TLS settings of nginx and edge-proxy that use it, the check of what a listener negotiates, and
the runners of the tls_hit (wrk over https) and tls_handshake (lib/tls_connect.c) scenarios.

Both proxies get the same certificate and the same protocol: TLS 1.3 only, its default suites
(both servers and OpenSSL clients pick TLS_AES_256_GCM_SHA384 with X25519), one session ticket
per full handshake (edge-proxy sends one; nginx is told `ssl_conf_command NumTickets 1`), no
server-side session cache (resumption is by tickets only on both)."""

import json
import os
import subprocess
import time

from core import CpuClock, die, fetch, free_ports, loadavg, log, parse_duration, tool_run, warn
from runners import interleave, make_targets, prime_targets, run_wrk_scenario, setup

CERT_KINDS = {
    "p256": (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "ECDSA P-256"),
    "rsa2048": (["-newkey", "rsa:2048"], "RSA 2048"),
}
ADMIN_TOKEN = "bench-tls-admin-token"


def make_cert(run, kind):
    """A self-signed certificate for localhost and 127.0.0.1 in RUN_DIR/tls/; (cert, key)."""
    d = run.subdir("tls")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    args, _ = CERT_KINDS[kind]
    rc, out = tool_run(["openssl", "req", "-x509"] + args + ["-nodes", "-keyout", key, "-out", cert, "-days", "2",
                                                             "-subj", "/CN=localhost", "-addext",
                                                             "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    if rc != 0:
        die("openssl req failed: %s" % out)
    os.chmod(d, 0o755)
    os.chmod(key, 0o644)  # nginx workers run as the invoking user
    return cert, key


def nginx_tls(o):
    """Server-level ssl_* directives of the nginx targets."""
    return """    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols TLSv1.3;
    ssl_session_tickets on;
    ssl_session_cache off;
    ssl_conf_command NumTickets 1;
""" % (o.cert_file, o.key_file)


def edge_tls_yaml(o, port, origin_port, workers, cache_memory="256m", admin_port=None):
    """edge-proxy with one TLS listener (the run's certificate, TLS 1.3 only, tickets on), the
    cache and one caching class as in cache_hit; with ADMIN_PORT the admin API (its /stats
    counts TLS handshakes and resumptions)."""
    admin = ("admin:\n  listen: 127.0.0.1:%d\n  token_env: EDGE_ADMIN_TOKEN\n" % admin_port) if admin_port else ""
    return """listen:
  - address: 127.0.0.1:%d
    tls:
      certificates: [{ cert: %s, key: %s }]
      min_version: "1.3"
      alpn: [http/1.1]
      session_tickets: true
workers: %s
cache: { memory: %s }
upstreams:
  origin:
    servers: ["127.0.0.1:%d"]
    pool: { max_idle: 128 }
route_classes:
  cached: { ttl: 1h }
routes:
  - match: { path_prefix: / }
    upstream: origin
    class: cached
%s""" % (port, o.cert_file, o.key_file, workers, cache_memory, origin_port, admin)


def negotiated(port):
    """'TLSv1.3 TLS_AES_256_GCM_SHA384, X25519, ECDSA' as an OpenSSL client sees the listener."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=10)
    new = proto = temp = sig = ""
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("New, "):
            new = line
        elif line.startswith("Server Temp Key:"):
            temp = line.split(":", 1)[1].split(",")[0].strip()
        elif line.startswith("Peer signature type:"):
            sig = line.split(":", 1)[1].strip()
        elif line.startswith("Protocol") and not proto:
            proto = line.split(":", 1)[1].strip()
    if not new:
        die("openssl s_client could not complete a handshake with 127.0.0.1:%d:\n%s" % (port, p.stdout[-600:]))
    cipher = new.split("Cipher is ")[-1]
    return "%s %s, %s, %s" % (proto or new.split(",")[1].strip(), cipher, temp, sig)


def prepare(ctx):
    """The run's certificate, and the TLS parameters every TLS listener must negotiate."""
    o = ctx.o
    o.cert_file, o.key_file = make_cert(ctx.run, o.cert)
    ctx.facts["cert"] = CERT_KINDS[o.cert][1]


def check_negotiated(ctx):
    """Every TLS server negotiates the same protocol, suite, group and signature."""
    seen = {}
    for name, srv in ctx.servers.items():
        if srv.url.startswith("https:"):
            seen[srv.label] = negotiated(srv.port)
    if len(set(seen.values())) != 1:
        die("the TLS listeners negotiate different parameters: %s" % seen)
    ctx.facts["negotiated"] = next(iter(seen.values()))
    log("TLS: every listener negotiates %s (certificate %s)" % (ctx.facts["negotiated"], ctx.facts["cert"]))


def wrk_scenario(ctx):
    """tls_hit: the certificate, the servers, the check of what every TLS listener negotiates,
    then the wrk scenario (priming, checks, interleaved rounds) as any other."""
    prepare(ctx)
    setup(ctx)
    check_negotiated(ctx)
    run_wrk_scenario(ctx)


# ---- handshakes ----------------------------------------------------------------------------------

HS_COLUMNS = ["round", "position", "target", "conns_per_s", "connections", "reused", "server_resumed", "errors",
              "p50_ms", "p99_ms", "bytes_per_conn", "cpu_cores"]


def build_client(ctx):
    """lib/tls_connect.c, compiled into the run directory."""
    exe = ctx.run.path("bin", "tls_connect")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls_connect.c")
    rc, out = tool_run(["cc", "-O2", "-pthread", "-o", exe, src, "-lssl", "-lcrypto"])
    if rc != 0:
        die("could not build lib/tls_connect.c (needs a C compiler and libssl-dev): %s" % out)
    return exe


def admin_stats_tls(port):
    r = fetch("http://127.0.0.1:%d/stats" % port, headers=["Authorization: Bearer " + ADMIN_TOKEN])
    if r.code != 200:
        die("edge-proxy admin GET /stats returned HTTP %d" % r.code)
    found = {}

    def walk(v):
        if isinstance(v, dict):
            if "tls" in v and isinstance(v["tls"], dict) and "resumed" in v["tls"]:
                found.update(v["tls"])
            for x in v.values():
                walk(x)
    walk(json.loads(r.body))
    if "handshakes" not in found:
        die("edge-proxy /stats has no tls.handshakes / tls.resumed")
    return found["handshakes"], found["resumed"]


def handshakes(ctx):
    """tls_handshake: per round and target, THREADS client threads (lib/tls_connect.c) open
    connections for D seconds, each a TLS 1.3 handshake (full, or resumed with the ticket of the
    thread's previous connection), one GET of a cached 1 KB body, close."""
    o, run, f = ctx.o, ctx.run, ctx.facts
    prepare(ctx)
    o.admin_port = free_ports(1)[0]
    os.environ["EDGE_ADMIN_TOKEN"] = ADMIN_TOKEN
    setup(ctx)
    check_negotiated(ctx)
    exe = build_client(ctx)
    specs = ctx.sc["targets"](o, None)
    targets = make_targets(ctx, specs, ctx.bodies)
    origin = ctx.servers["origin"]
    prime_targets(ctx, [t for t in targets if t.spec.get("mode") == "new"], origin, None)
    by = {t.name: t for t in targets}
    seconds = parse_duration(o.duration, "--duration")
    f["primed_text"] = ", ".join("%s %d" % (ctx.servers[t.server.name].label, f["primed"][t.name])
                                 for t in targets if t.name in f["primed"])
    results = run.path("results.tsv")
    with open(results, "w") as fh:
        fh.write("\t".join(HS_COLUMNS) + "\n")
    f["load_start"] = loadavg()
    if parse_duration(o.warmup, "--warmup"):
        for t in targets:
            log("warm-up %s (%s)" % (t.label, o.warmup))
            out = run.path("tls_connect", "warmup-%s.json" % t.name)
            run.run_client([exe, "127.0.0.1", str(t.server.port), "/" + t.path.lstrip("/"), str(o.clients),
                            str(parse_duration(o.warmup, "--warmup")), t.spec["mode"]], out)
    for r, pos, name in interleave(o.rounds, [t.name for t in targets]):
        t = by[name]
        run.check_alive(t.server.proc)
        is_edge = t.server.name == "edge"
        s0 = admin_stats_tls(o.admin_port) if is_edge else None
        cpu = CpuClock(t.server.proc.pid)
        out = run.path("tls_connect", "%s-round%d.json" % (name, r))
        if run.run_client([exe, "127.0.0.1", str(t.server.port), "/" + t.path.lstrip("/"), str(o.clients),
                           str(seconds), t.spec["mode"]], out) != 0:
            die("tls_connect against %s failed: %s" % (t.label, open(out).read()[-400:]))
        cores = cpu.cores()
        run.check_alive(t.server.proc)
        d = json.loads(open(out).read().strip().splitlines()[-1])
        resumed = -1
        if is_edge:
            s1 = admin_stats_tls(o.admin_port)
            hs, resumed = s1[0] - s0[0], s1[1] - s0[1]
            if hs < d["connections"]:
                warn("%s: /stats counted %d handshakes for %d connections" % (t.label, hs, d["connections"]))
        rate = d["connections"] / d["seconds"]
        bpc = d["bytes"] / d["connections"] if d["connections"] else 0
        with open(results, "a") as fh:
            fh.write("\t".join(str(x) for x in [r, pos, name, "%.1f" % rate, d["connections"], d["reused"], resumed,
                                                d["errors"], "%.3f" % d["p50_ms"], "%.3f" % d["p99_ms"], "%.0f" % bpc,
                                                "%.2f" % cores]) + "\n")
        log("round %d/%d  %-34s %8.0f conn/s  reused %d/%d%s  p50 %.2f ms  p99 %.2f ms  cpu %.2f  errors %d" % (
            r, o.rounds, t.label, rate, d["reused"], d["connections"],
            "  (server: %d resumed)" % resumed if is_edge else "", d["p50_ms"], d["p99_ms"], cores, d["errors"]))
        if t.spec["mode"] == "reuse" and d["reused"] < d["connections"] - o.clients:
            warn("%s: only %d of %d connections were resumed" % (t.label, d["reused"], d["connections"]))
        if t.spec["mode"] == "new" and d["reused"]:
            warn("%s: %d connections were resumed in the full-handshake mode" % (t.label, d["reused"]))
        time.sleep(1)
    for t in targets:
        t.check()
    meta = ctx.meta(load_start=f["load_start"], edge_version=f["edge_version"] + ", " + ctx.text(ctx.sc["edge_setup"]),
                    title=ctx.text(ctx.sc["title"]), heading=ctx.text(ctx.sc["heading"]), load=ctx.text(ctx.sc["load"]),
                    checks=ctx.text(ctx.sc["checks"]))
    meta["targets"] = ",".join(t.name for t in targets)
    meta.update({"label." + t.name: t.label for t in targets})
    ctx.add_block(kind="series", results="results.tsv", meta=meta, pairs=ctx.sc["pairs"],
                  metrics=ctx.sc["metrics"], columns=ctx.sc["columns"])
