"""The runner of bench/run ws_echo: WebSocket echo through edge-proxy, through nginx and straight
to the origin (lib/ws_origin.mjs), measured with lib/ws_echo.mjs in interleaved rounds: per
round and target first the round-trip latency on one connection, then the throughput of many
connections with a window of messages in flight each."""

import json
import os
import time

from core import LIB, CpuClock, die, loadavg, log, warn
from runners import interleave, setup

WS_COLUMNS = ["round", "position", "target", "lat_p50_us", "lat_p99_us", "lat_samples", "msgs_per_s", "messages",
              "errors", "cpu_cores"]


def client(ctx, args, out):
    rc = ctx.run.run_client([ctx.tools["node"], os.path.join(LIB, "ws_echo.mjs")] + [str(a) for a in args], out)
    text = open(out).read().strip()
    if rc != 0 or not text:
        die("ws_echo.mjs %s failed (exit %d): %s" % (args[0], rc, text[-400:]))
    return json.loads(text.splitlines()[-1])


def ws_echo(ctx):
    o, run, f, sc = ctx.o, ctx.run, ctx.facts, ctx.sc
    if not os.path.isdir("/usr/share/nodejs/ws"):
        die("Debian's node-ws is not installed (/usr/share/nodejs/ws); install it with: sudo apt-get install -y node-ws")
    setup(ctx)
    targets = [(t["name"], ctx.servers[t["server"]], t.get("label")) for t in sc["targets"]
               if o.direct or t["name"] != "direct"]
    urls = {n: "ws://127.0.0.1:%d/echo" % s.port for n, s, _ in targets}
    labels = {n: label or s.label for n, s, label in targets}
    by = {n: s for n, s, _ in targets}
    seconds = int(o.duration.rstrip("s"))
    lat_seconds = int(o.lat_duration.rstrip("s"))
    # Each target echoes (the latency client checks every echo) before round 1.
    for n, s, _ in targets:
        d = client(ctx, ["latency", urls[n], 1, o.size], run.path("ws", "check-%s.json" % n))
        if d["errors"] or not d["n"]:
            die("%s: WebSocket echo check failed: %s" % (labels[n], d))
    log("every target echoes WebSocket messages: %s" % ", ".join(labels[n] for n, _, _ in targets))
    if o.warmup not in ("0", "0s"):
        for n, s, _ in targets:
            client(ctx, ["throughput", urls[n], int(o.warmup.rstrip("s")), o.ws_connections, o.window, o.tp_size],
                   run.path("ws", "warmup-%s.json" % n))
    results = run.path("results.tsv")
    with open(results, "w") as fh:
        fh.write("\t".join(WS_COLUMNS) + "\n")
    f["load_start"] = loadavg()
    for r, pos, name in interleave(o.rounds, [n for n, _, _ in targets]):
        srv = by[name]
        run.check_alive(srv.proc)
        lat = client(ctx, ["latency", urls[name], lat_seconds, o.size], run.path("ws", "%s-latency-round%d.json" % (name, r)))
        cpu = CpuClock(srv.proc.pid)
        tp = client(ctx, ["throughput", urls[name], seconds, o.ws_connections, o.window, o.tp_size],
                    run.path("ws", "%s-throughput-round%d.json" % (name, r)))
        cores = cpu.cores()
        run.check_alive(srv.proc)
        errors = lat["errors"] + tp["errors"]
        with open(results, "a") as fh:
            fh.write("\t".join(str(x) for x in [r, pos, name, "%.1f" % lat["p50_us"], "%.1f" % lat["p99_us"], lat["n"],
                                                "%.1f" % tp["msgs_per_s"], tp["messages"], errors,
                                                "%.2f" % cores]) + "\n")
        log("round %d/%d  %-30s rtt p50 %5.0f us  p99 %6.0f us  %8.0f msg/s  cpu %.2f  errors %d" % (
            r, o.rounds, labels[name], lat["p50_us"], lat["p99_us"], tp["msgs_per_s"], cores, errors))
        if errors:
            warn("%s: %d echo errors" % (labels[name], errors))
        time.sleep(1)
    meta = ctx.meta(load_start=f["load_start"], edge_version=f["edge_version"] + ", " + ctx.text(sc["edge_setup"]),
                    title=ctx.text(sc["title"]), heading=ctx.text(sc["heading"]), load=ctx.text(sc["load"]),
                    checks=ctx.text(sc["checks"]))
    meta["targets"] = ",".join(n for n, _, _ in targets)
    meta.update({"label." + n: labels[n] for n, _, _ in targets})
    ctx.add_block(kind="series", results="results.tsv", meta=meta, pairs=sc["pairs"], metrics=sc["metrics"],
                  columns=sc["columns"])
