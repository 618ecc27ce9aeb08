#!/usr/bin/env python3
"""Helpers of bench/fields_batch.sh.

  fields_batch_report.py details ORDERS_JSON OUT_DIR N
      writes the first N work orders of ORDERS_JSON (a JSON array) as OUT_DIR/wo-<i>.json,
      i = 1..N, one compact JSON object each (the "detail documents").
  fields_batch_report.py check-projection ORDERS_JSON PROJECTED_JSON FIELDS
      exit 0 when PROJECTED_JSON is ORDERS_JSON cut to FIELDS (comma-separated, dotted paths
      for nested members): same number of elements, every element has exactly the selected
      members with the original values; else print what differs and exit 1.
  fields_batch_report.py latency OUT_JSON META [--markdown]
      table of the latency scenarios written by lib/batch_latency.js, plus the goal lines.
"""
import json
import statistics
import sys


def cmd_details(orders_path, out_dir, n):
    with open(orders_path) as f:
        orders = json.load(f)
    for i in range(int(n)):
        with open("%s/wo-%d.json" % (out_dir, i + 1), "w") as f:
            f.write(json.dumps(orders[i], separators=(",", ":")))


def select(value, paths):
    """value cut to the dotted paths (as the proxy should do it)."""
    out = {}
    for path in paths:
        head, _, rest = path.partition(".")
        if head not in value:
            continue
        if rest:
            if isinstance(value[head], dict):
                sub = out.setdefault(head, {})
                sub.update(select(value[head], [rest]))
        else:
            out[head] = value[head]
    return out


def cmd_check_projection(orders_path, projected_path, fields):
    with open(orders_path) as f:
        orders = json.load(f)
    try:
        with open(projected_path) as f:
            got = json.load(f)
    except ValueError as e:
        print("projected body is not JSON: %s" % e)
        return 1
    paths = fields.split(",")
    if not isinstance(got, list) or len(got) != len(orders):
        print("expected an array of %d elements, got %s" % (len(orders), type(got).__name__ if not
              isinstance(got, list) else "%d elements" % len(got)))
        return 1
    for i, (want_src, have) in enumerate(zip(orders, got)):
        want = select(want_src, paths)
        if have != want:
            print("element %d: expected %s, got %s" % (i, json.dumps(want)[:200], json.dumps(have)[:200]))
            return 1
    return 0


def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(sorted_vals) * p // 100))
    return sorted_vals[int(rank) - 1]


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                meta[k] = v
    return meta


def cmd_latency(out_path, meta_path, markdown):
    with open(out_path) as f:
        data = json.load(f)["scenarios"]
    meta = read_meta(meta_path)
    order = [t for t in meta.get("targets", "").split(",") if t] or list(data)
    per = {}
    for name in order:
        s = data[name]
        allv = sorted(v for rnd in s["rounds"] for v in rnd) or [float("nan")]
        round_p50 = [statistics.median(rnd) if rnd else float("nan") for rnd in s["rounds"]]
        per[name] = {
            "label": meta.get("label." + name, name),
            "n": sum(len(rnd) for rnd in s["rounds"]),
            "p50": pct(allv, 50), "p90": pct(allv, 90), "p99": pct(allv, 99), "max": allv[-1],
            "round_p50": round_p50,
            "errors": s["errors"], "examples": s["error_examples"],
            "markers": s["markers"], "bytes": s["response_bytes"], "origin": s["origin_checks"],
            "newconn": s.get("samples_on_new_connection", 0),
            "closed": s.get("server_closed_after_answer", 0),
            "fresh": s.get("fresh_connections", False),
        }

    def paired(a, b):
        rs = [x / y for x, y in zip(per[a]["round_p50"], per[b]["round_p50"])]
        return "%.2f (%.2f-%.2f)" % (statistics.median(rs), min(rs), max(rs))

    def markers(m):
        return ", ".join("%s %d" % (k, v) for k, v in sorted(m.items())) or "-"

    lines = []
    if markdown:
        lines.append("### %s — %s" % (meta.get("date", "?"), meta.get("heading", "latency")))
        lines.append("")
        lines.append("- Command: `%s`" % meta.get("command", "?"))
        if meta.get("commit"):
            lines.append("- Repository HEAD at run time: `%s`" % meta["commit"])
        lines.append("- Machine: %s cores (%s), Linux %s; %s; load average at start %s, at end %s" % (
            meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"),
            "; ".join(meta[k] for k in ("nginx_version", "varnish_version", "node_version") if meta.get(k)),
            meta.get("load_start", "?"), meta.get("load_end", "?")))
        if meta.get("edge_version"):
            lines.append("- edge-proxy: " + meta["edge_version"])
        lines.append("- Load: " + meta.get("load", "?"))
        if meta.get("checks"):
            lines.append("- Checks: " + meta["checks"])
        lines.append("")
        lines.append("| scenario | samples | response bytes | p50 ms | p90 ms | p99 ms | max ms | "
                     "per-round p50 ms | samples on a new connection | closed by the server after the answer | errors | X-Cache of the answers (items) |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
        for name in order:
            p = per[name]
            lines.append("| %s | %d | %d | %.3f | %.3f | %.3f | %.3f | %s | %d | %s | %d | %s |" % (
                p["label"], p["n"], p["bytes"], p["p50"], p["p90"], p["p99"], p["max"],
                " ".join("%.2f" % v for v in p["round_p50"]), p["newconn"],
                "-" if p["fresh"] else "%d" % p["closed"], p["errors"], markers(p["markers"])))
    else:
        lines.append(meta.get("title", "latency"))
        lines.append("  %-58s %7s %8s %9s %9s %9s %9s %8s %7s  %s" % (
            "scenario", "samples", "bytes", "p50 ms", "p90 ms", "p99 ms", "max ms", "new conn", "closed",
            "errors / markers"))
        for name in order:
            p = per[name]
            lines.append("  %-58s %7d %8d %9.3f %9.3f %9.3f %9.3f %8d %7s  %d / %s" % (
                p["label"], p["n"], p["bytes"], p["p50"], p["p90"], p["p99"], p["max"], p["newconn"],
                "-" if p["fresh"] else p["closed"], p["errors"], markers(p["markers"])))
        lines.append("  per-round p50 ms:")
        for name in order:
            lines.append("    %-58s %s" % (per[name]["label"], " ".join("%.2f" % v for v in per[name]["round_p50"])))
        if meta.get("checks"):
            lines.append("  checks: " + meta["checks"])
        lines.append("  command: " + meta.get("command", "?"))
    for name in order:
        for ex in per[name]["examples"]:
            lines.append(("- **error** %s: %s" if markdown else "  ERROR %s: %s") % (per[name]["label"], ex))

    # Goals (medians of all samples of the run; per-round paired ratios beside them).
    goals = []
    if "edge-hit" in per and "edge-batch-hit" in per:
        r = per["edge-batch-hit"]["p50"] / per["edge-hit"]["p50"]
        goals.append(("batch of 10 cached items p50 / single cached hit p50", "%.2f" % r,
                      "paired per round %s" % paired("edge-batch-hit", "edge-hit"), "<= 1.5", r <= 1.5))
    if "edge-hit-fresh" in per and "edge-batch-hit-fresh" in per:
        r = per["edge-batch-hit-fresh"]["p50"] / per["edge-hit-fresh"]["p50"]
        goals.append(("same, both on a new connection per request", "%.2f" % r,
                      "paired per round %s" % paired("edge-batch-hit-fresh", "edge-hit-fresh"), "<= 1.5", r <= 1.5))
    if "edge-batch-miss" in per:
        for q in ("p50", "p99"):
            v = per["edge-batch-miss"][q]
            goals.append(("batch of 10 uncached items behind the %s ms origin, %s" % (meta.get("delay_ms", "?"), q),
                          "%.1f ms" % v, "", "<= 150 ms", v <= 150))
    if markdown:
        lines.append("")
        lines.append("| goal | measured | | target | met |")
        lines.append("|---|---:|---|---:|---|")
        for name, value, extra, target, met in goals:
            lines.append("| %s | %s | %s | %s | %s |" % (name, value, extra, target, "yes" if met else "**no**"))
    else:
        lines.append("")
        for name, value, extra, target, met in goals:
            lines.append("  %-62s %10s  %-28s goal %-10s %s" % (name, value, extra, target, "met" if met else "NOT MET"))
    print("\n".join(lines))


def main(argv):
    if len(argv) >= 4 and argv[0] == "details":
        cmd_details(argv[1], argv[2], argv[3])
        return 0
    if len(argv) == 4 and argv[0] == "check-projection":
        return cmd_check_projection(argv[1], argv[2], argv[3])
    if len(argv) >= 3 and argv[0] == "latency":
        cmd_latency(argv[1], argv[2], "--markdown" in argv[3:])
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
