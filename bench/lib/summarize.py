#!/usr/bin/env python3
"""wrk output parsing and result summaries for the bench/ scripts.

  summarize.py parse WRK_OUTPUT
      -> one tab-separated line: rps p50_ms p99_ms requests errors

  summarize.py summary RESULTS_TSV META [--baseline NAME | --baseline A:B,C:D] [--markdown]
      -> table of per-target medians and ratios against the baseline target (or, with pairs,
         of A against B and C against D).

  summarize.py burst-parse BURST_OUTPUT --late-ms MS
      -> one tab-separated line digesting one burst.js output: clients ok errors reused
         spread_ms min_ms p50_ms p99_ms max_ms late markers

  summarize.py burst RESULTS_TSV META [--markdown]
      -> coalescing summary (see bench/coalesce.sh): origin requests per round and the latency
         distribution of the burst's responses, per target.

RESULTS_TSV columns: round position target rps p50_ms p99_ms requests errors cpu_cores
[tcp_retrans] (optional: results recorded before it existed lack it)
META: key=value lines (see passthrough.sh); "targets" is a comma-separated list of target
names in display order and "label.NAME" gives each target's display name.
"""

import argparse
import re
import statistics
import sys

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
TIME_RE = r"([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)\b"


def to_ms(value, unit):
    return float(value) * UNIT_MS[unit]


def parse_wrk(text):
    """Return dict with rps, p50_ms, p99_ms, requests, errors from `wrk --latency` output."""
    out = {}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if not m:
        raise ValueError("no 'Requests/sec' line")
    out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+" + pct + r"(?:\.0+)?%\s+" + TIME_RE, text, re.M)
        if not m:
            raise ValueError("no %s%% latency line (was wrk run with --latency?)" % pct)
        out[key] = to_ms(m.group(1), m.group(2))
    m = re.search(r"^\s*([0-9]+) requests in ", text, re.M)
    out["requests"] = int(m.group(1)) if m else 0
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    out["errors"] = errors
    return out


def cmd_parse(args):
    with open(args.file) as f:
        text = f.read()
    try:
        r = parse_wrk(text)
    except ValueError as e:
        sys.exit("%s: %s" % (args.file, e))
    print("%.2f\t%.3f\t%.3f\t%d\t%d" % (r["rps"], r["p50_ms"], r["p99_ms"], r["requests"], r["errors"]))


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                meta[k] = v
    # Recorded results name files relative to the repository, never by a machine's path.
    root = meta.pop("repo_root", "")
    if root:
        meta = {k: v.replace(root + "/", "") for k, v in meta.items()}
    return meta


def read_results(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if not line.strip():
                continue
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            for k in ("rps", "p50_ms", "p99_ms", "cpu_cores"):
                row[k] = float(row[k])
            for k in ("round", "position", "requests", "errors"):
                row[k] = int(row[k])
            # Absent from results recorded before the column existed.
            row["tcp_retrans"] = int(row["tcp_retrans"]) if row.get("tcp_retrans") not in (None, "") else None
            rows.append(row)
    return rows


def fmt_rps(v):
    return "{:,.0f}".format(v)


def fmt_ms(v):
    return "%.3f" % v if v < 1 else "%.2f" % v


def fmt_ratio(v):
    return "%.2f" % v


def summarize(rows, meta, baseline):
    targets = [t for t in meta.get("targets", "").split(",") if t]
    if not targets:
        targets = sorted({r["target"] for r in rows})
    per = {}
    for t in targets:
        rs = [r for r in rows if r["target"] == t]
        if not rs:
            continue
        per[t] = {
            "label": meta.get("label." + t, t),
            "rounds": len(rs),
            "rps": statistics.median(r["rps"] for r in rs),
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "cpu": statistics.median(r["cpu_cores"] for r in rs),
            "retrans": (statistics.median(r["tcp_retrans"] for r in rs)
                        if all(r["tcp_retrans"] is not None for r in rs) else None),
            "errors": sum(r["errors"] for r in rs),
            "requests": sum(r["requests"] for r in rs),
            "by_round": {r["round"]: r for r in rs},
        }
    # "A:B,C:D" compares A with B and C with D; a plain name compares every other target with it.
    if ":" in baseline:
        pairs = [tuple(p.split(":", 1)) for p in baseline.split(",") if p]
    else:
        pairs = [(t, baseline) for t in targets if t != baseline]
    ratios = []
    for t, base in pairs:
        if t not in per or base not in per:
            continue
        p, b = per[t], per[base]
        paired = {"rps": [], "p99_ms": []}
        for rnd, r in p["by_round"].items():
            br = b["by_round"].get(rnd)
            if br is None:
                continue
            paired["rps"].append(r["rps"] / br["rps"])
            paired["p99_ms"].append(r["p99_ms"] / br["p99_ms"])
        entry = {"target": t, "label": p["label"], "baseline_label": b["label"]}
        for k in ("rps", "p99_ms"):
            entry[k] = p[k] / b[k]
            vals = paired[k]
            entry[k + "_paired"] = (statistics.median(vals), min(vals), max(vals)) if vals else None
        ratios.append(entry)
    return targets, per, ratios


def retrans_note(r):
    return ", %d retr." % r["tcp_retrans"] if r.get("tcp_retrans") is not None else ""


def has_retrans(per):
    return bool(per) and all(p["retrans"] is not None for p in per.values())


def paired_str(p):
    if not p:
        return "n/a"
    return "%s (%s-%s)" % (fmt_ratio(p[0]), fmt_ratio(p[1]), fmt_ratio(p[2]))


def machine_line(meta):
    tools = [meta[k] for k in ("nginx_version", "varnish_version", "wrk_version", "node_version")
             if meta.get(k)]
    return "%s cores (%s), Linux %s; %s; load average at start %s, at end %s" % (
        meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"),
        "; ".join(tools) or "?", meta.get("load_start", "?"), meta.get("load_end", "?"))


def render_text(targets, per, ratios, meta):
    lines = []
    lines.append(meta.get("title", "benchmark"))
    lines.append("")
    retrans = has_retrans(per)
    cols = ["target", "median req/s", "p50 ms", "p99 ms", "CPU cores", "errors"]
    if retrans:
        cols.append("TCP retrans")
    table = [cols]
    for t in targets:
        if t in per:
            p = per[t]
            row = [p["label"], fmt_rps(p["rps"]), fmt_ms(p["p50_ms"]), fmt_ms(p["p99_ms"]),
                   "%.2f" % p["cpu"], str(p["errors"])]
            if retrans:
                row.append("%.0f" % p["retrans"])
            table.append(row)
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    for i, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  " + "   ".join(cells))
        if i == 0:
            lines.append("  " + "   ".join("-" * w for w in widths))
    lines.append("")
    for r in ratios:
        lines.append("  %s / %s:" % (r["label"], r["baseline_label"]))
        lines.append("    req/s ratio %s   per-round paired %s   >1 = %s serves more"
                     % (fmt_ratio(r["rps"]), paired_str(r["rps_paired"]), r["label"]))
        lines.append("    p99 ratio   %s   per-round paired %s   <1 = %s has the lower tail"
                     % (fmt_ratio(r["p99_ms"]), paired_str(r["p99_ms_paired"]), r["label"]))
    lines.append("")
    lines.append("  per round (req/s, p99 ms; order within the round in brackets; TCP retransmissions):")
    rounds = sorted({rnd for p in per.values() for rnd in p["by_round"]})
    for rnd in rounds:
        cells = []
        for t in targets:
            r = per.get(t, {}).get("by_round", {}).get(rnd)
            if r:
                cells.append("%s %s / %s [%d]%s" % (per[t]["label"], fmt_rps(r["rps"]), fmt_ms(r["p99_ms"]),
                                                     r["position"], retrans_note(r)))
        lines.append("    round %d: %s" % (rnd, ";  ".join(cells)))
    lines.append("")
    lines.append("  machine: " + machine_line(meta))
    if meta.get("edge_version"):
        lines.append("  edge-proxy: " + meta["edge_version"])
    lines.append("  load: " + meta.get("load", "?"))
    if meta.get("checks"):
        lines.append("  checks: " + meta["checks"])
    if meta.get("commit"):
        lines.append("  repository HEAD at run time: " + meta["commit"])
    lines.append("  date: " + meta.get("date", "?"))
    lines.append("  command: " + meta.get("command", "?"))
    total_errors = sum(p["errors"] for p in per.values())
    if total_errors:
        lines.append("")
        lines.append("  WARNING: wrk reported %d socket errors or non-2xx/3xx responses; "
                     "the figures of the affected target are not comparable." % total_errors)
    return "\n".join(lines)


def render_markdown(targets, per, ratios, meta):
    lines = []
    lines.append("### %s — %s" % (meta.get("date", "?"), meta.get("heading", "run")))
    lines.append("")
    lines.append("- Command: `%s`" % meta.get("command", "?"))
    if meta.get("commit"):
        lines.append("- Repository HEAD at run time: `%s`" % meta["commit"])
    lines.append("- Machine: " + machine_line(meta))
    if meta.get("edge_version"):
        lines.append("- edge-proxy: " + meta["edge_version"])
    lines.append("- Load: " + meta.get("load", "?"))
    if meta.get("checks"):
        lines.append("- Checks: " + meta["checks"])
    lines.append("")
    retrans = has_retrans(per)
    lines.append("| target | median req/s | median p50 ms | median p99 ms | CPU cores | errors |"
                 + (" median TCP retrans |" if retrans else ""))
    lines.append("|---|---:|---:|---:|---:|---:|" + ("---:|" if retrans else ""))
    for t in targets:
        if t in per:
            p = per[t]
            lines.append("| %s | %s | %s | %s | %.2f | %d |" % (
                p["label"], fmt_rps(p["rps"]), fmt_ms(p["p50_ms"]), fmt_ms(p["p99_ms"]), p["cpu"], p["errors"])
                + (" %.0f |" % p["retrans"] if retrans else ""))
    if ratios:
        lines.append("")
        lines.append("| ratio | of medians | per-round paired, median (min-max) |")
        lines.append("|---|---:|---:|")
        for r in ratios:
            lines.append("| %s / %s req/s (>1 better) | %s | %s |" % (
                r["label"], r["baseline_label"], fmt_ratio(r["rps"]), paired_str(r["rps_paired"])))
            lines.append("| %s / %s p99 (<1 better) | %s | %s |" % (
                r["label"], r["baseline_label"], fmt_ratio(r["p99_ms"]), paired_str(r["p99_ms_paired"])))
    lines.append("")
    lines.append("<details><summary>Per round (req/s, p99 ms, position in round, TCP retransmissions)</summary>")
    lines.append("")
    lines.append("| round | " + " | ".join(per[t]["label"] for t in targets if t in per) + " |")
    lines.append("|---:|" + "---:|" * len([t for t in targets if t in per]))
    rounds = sorted({rnd for p in per.values() for rnd in p["by_round"]})
    for rnd in rounds:
        cells = []
        for t in targets:
            if t not in per:
                continue
            r = per[t]["by_round"].get(rnd)
            cells.append("%s / %s (%d)%s" % (fmt_rps(r["rps"]), fmt_ms(r["p99_ms"]), r["position"], retrans_note(r))
                         if r else "-")
        lines.append("| %d | %s |" % (rnd, " | ".join(cells)))
    lines.append("")
    lines.append("</details>")
    total_errors = sum(p["errors"] for p in per.values())
    if total_errors:
        lines.append("")
        lines.append("**wrk reported %d socket errors or non-2xx/3xx responses; the affected figures are "
                     "not comparable.**" % total_errors)
    return "\n".join(lines)


def cmd_summary(args):
    meta = read_meta(args.meta)
    rows = read_results(args.results)
    if not rows:
        sys.exit("no results in %s" % args.results)
    targets, per, ratios = summarize(rows, meta, args.baseline)
    if args.markdown:
        print(render_markdown(targets, per, ratios, meta))
    else:
        print(render_text(targets, per, ratios, meta))


# ---- coalescing bursts (bench/coalesce.sh) ------------------------------------------------------

BURST_COLUMNS = ["round", "position", "target", "origin_requests", "clients", "ok", "errors",
                 "reused", "spread_ms", "min_ms", "p50_ms", "p99_ms", "max_ms", "late", "markers"]


def percentile(sorted_vals, pct):
    """Nearest-rank percentile of an ascending list (p99 of 200 values = the 198th)."""
    if not sorted_vals:
        return float("nan")
    rank = max(1, -(-len(sorted_vals) * pct // 100))  # ceil without floats
    return sorted_vals[int(rank) - 1]


def parse_burst(text, late_ms):
    """Digest burst.js output: latency figures, how many were OK and how many came late."""
    spread, reused, lat, ok, markers = 0.0, 0, [], 0, {}
    late = 0
    for line in text.splitlines():
        if line.startswith("# issue_spread_ms"):
            spread = float(line.split()[2])
            continue
        if line.startswith("# reused_sockets"):
            reused = int(line.split()[2])
            continue
        if not line.strip():
            continue
        ms, status, body_ok, marker = line.split("\t")
        ms = float(ms)
        lat.append(ms)
        if status == "200" and body_ok == "1":
            ok += 1
        if ms > late_ms:
            late += 1
        markers[marker] = markers.get(marker, 0) + 1
    if not lat:
        raise ValueError("no responses")
    lat.sort()
    return {
        "clients": len(lat), "ok": ok, "errors": len(lat) - ok, "reused": reused, "spread_ms": spread,
        "min_ms": lat[0], "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1], "late": late,
        "markers": ",".join("%s:%d" % (k, v) for k, v in sorted(markers.items(), key=lambda kv: -kv[1])),
    }


def cmd_burst_parse(args):
    with open(args.file) as f:
        text = f.read()
    try:
        r = parse_burst(text, args.late_ms)
    except ValueError as e:
        sys.exit("%s: %s" % (args.file, e))
    print("\t".join(str(r[k]) if isinstance(r[k], (int, str)) else "%.3f" % r[k]
                    for k in BURST_COLUMNS[4:]))


def read_burst_results(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if not line.strip():
                continue
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            for k in ("spread_ms", "min_ms", "p50_ms", "p99_ms", "max_ms"):
                row[k] = float(row[k])
            for k in ("round", "position", "origin_requests", "clients", "ok", "errors", "reused", "late"):
                row[k] = int(row[k])
            rows.append(row)
    return rows


def merge_markers(rows):
    total = {}
    for r in rows:
        for part in r["markers"].split(","):
            if ":" in part:
                k, v = part.rsplit(":", 1)
                total[k] = total.get(k, 0) + int(v)
    return " ".join("%s %d" % (k, v) for k, v in sorted(total.items(), key=lambda kv: -kv[1]))


def burst_summary(rows, meta):
    targets = [t for t in meta.get("targets", "").split(",") if t] or sorted({r["target"] for r in rows})
    per = {}
    for t in targets:
        rs = sorted((r for r in rows if r["target"] == t), key=lambda r: r["round"])
        if not rs:
            continue
        per[t] = {
            "label": meta.get("label." + t, t),
            "origin": [r["origin_requests"] for r in rs],
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "max_ms": statistics.median(r["max_ms"] for r in rs),
            "worst_ms": max(r["max_ms"] for r in rs),
            "late": sum(r["late"] for r in rs),
            "clients": sum(r["clients"] for r in rs),
            "errors": sum(r["errors"] for r in rs),
            "markers": merge_markers(rs),
            "by_round": {r["round"]: r for r in rs},
        }
    return targets, per


def render_burst(targets, per, meta, markdown):
    late = meta.get("late_ms", "?")
    cols = ["target", "origin requests per round", "p50 ms", "p99 ms", "max ms", "worst max ms",
            "answers > %s ms" % late, "errors", "cache markers (all rounds)"]
    table = []
    for t in targets:
        if t not in per:
            continue
        p = per[t]
        table.append([p["label"], " ".join(str(n) for n in p["origin"]), "%.0f" % p["p50_ms"],
                      "%.0f" % p["p99_ms"], "%.0f" % p["max_ms"], "%.0f" % p["worst_ms"],
                      "%d / %d" % (p["late"], p["clients"]), str(p["errors"]), p["markers"]])
    rounds = sorted({rnd for p in per.values() for rnd in p["by_round"]})
    lines = []
    if markdown:
        lines.append("### %s — %s" % (meta.get("date", "?"), meta.get("heading", "run")))
        lines.append("")
        lines.append("- Command: `%s`" % meta.get("command", "?"))
        if meta.get("commit"):
            lines.append("- Repository HEAD at run time: `%s`" % meta["commit"])
        lines.append("- Machine: " + machine_line(meta))
        if meta.get("edge_version"):
            lines.append("- edge-proxy: " + meta["edge_version"])
        lines.append("- Load: " + meta.get("load", "?"))
        if meta.get("checks"):
            lines.append("- Checks: " + meta["checks"])
        lines.append("")
        lines.append("p50/p99/max: medians over the rounds of each burst's figures; worst max: over all rounds.")
        lines.append("")
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in table:
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines.append("<details><summary>Per round (origin requests / p50 / p99 / max ms, position in round)</summary>")
        lines.append("")
        shown = [t for t in targets if t in per]
        lines.append("| round | " + " | ".join(per[t]["label"] for t in shown) + " |")
        lines.append("|---:|" + "---:|" * len(shown))
        for rnd in rounds:
            cells = []
            for t in shown:
                r = per[t]["by_round"].get(rnd)
                cells.append("%d / %.0f / %.0f / %.0f (%d)" % (r["origin_requests"], r["p50_ms"], r["p99_ms"],
                                                                r["max_ms"], r["position"]) if r else "-")
            lines.append("| %d | %s |" % (rnd, " | ".join(cells)))
        lines.append("")
        lines.append("</details>")
    else:
        lines.append(meta.get("title", "coalescing"))
        lines.append("")
        full = [cols] + table
        widths = [max(len(row[i]) for row in full) for i in range(len(cols))]
        for i, row in enumerate(full):
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1])] + [row[-1]]
            lines.append("  " + "   ".join(cells).rstrip())
            if i == 0:
                lines.append("  " + "   ".join("-" * w for w in widths))
        lines.append("")
        lines.append("  p50/p99/max: medians over the rounds of each burst's figures; worst max: over all rounds")
        lines.append("")
        lines.append("  per round (origin requests / p50 / p99 / max ms; order within the round in brackets):")
        for rnd in rounds:
            cells = []
            for t in targets:
                r = per.get(t, {}).get("by_round", {}).get(rnd)
                if r:
                    cells.append("%s %d / %.0f / %.0f / %.0f [%d]" % (per[t]["label"], r["origin_requests"], r["p50_ms"],
                                                                       r["p99_ms"], r["max_ms"], r["position"]))
            lines.append("    round %d: %s" % (rnd, ";  ".join(cells)))
        lines.append("")
        lines.append("  machine: " + machine_line(meta))
        if meta.get("edge_version"):
            lines.append("  edge-proxy: " + meta["edge_version"])
        lines.append("  load: " + meta.get("load", "?"))
        if meta.get("checks"):
            lines.append("  checks: " + meta["checks"])
        if meta.get("commit"):
            lines.append("  repository HEAD at run time: " + meta["commit"])
        lines.append("  date: " + meta.get("date", "?"))
        lines.append("  command: " + meta.get("command", "?"))
    total_errors = sum(p["errors"] for p in per.values())
    if total_errors:
        lines.append("")
        msg = ("%d responses were not 200 with the origin's bytes (or failed); the affected target's "
               "figures are not comparable." % total_errors)
        lines.append("**%s**" % msg if markdown else "  WARNING: " + msg)
    return "\n".join(lines)


def cmd_burst(args):
    meta = read_meta(args.meta)
    rows = read_burst_results(args.results)
    if not rows:
        sys.exit("no results in %s" % args.results)
    targets, per = burst_summary(rows, meta)
    print(render_burst(targets, per, meta, args.markdown))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parse", help="parse one wrk --latency output file")
    p.add_argument("file")
    p.set_defaults(func=cmd_parse)
    s = sub.add_parser("summary", help="summarize a results TSV")
    s.add_argument("results")
    s.add_argument("meta")
    s.add_argument("--baseline", default="nginx")
    s.add_argument("--markdown", action="store_true")
    s.set_defaults(func=cmd_summary)
    bp = sub.add_parser("burst-parse", help="digest one burst.js output into a TSV line")
    bp.add_argument("file")
    bp.add_argument("--late-ms", type=float, required=True, help="latency counted as late above this")
    bp.set_defaults(func=cmd_burst_parse)
    b = sub.add_parser("burst", help="summarize a coalescing results TSV")
    b.add_argument("results")
    b.add_argument("meta")
    b.add_argument("--markdown", action="store_true")
    b.set_defaults(func=cmd_burst)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
