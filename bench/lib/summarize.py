#!/usr/bin/env python3
"""wrk output parsing and result summaries for the bench/ scripts.

  summarize.py parse WRK_OUTPUT
      -> one tab-separated line: rps p50_ms p99_ms requests errors

  summarize.py summary RESULTS_TSV META [--baseline NAME] [--markdown]
      -> table of per-target medians and ratios against the baseline target.

RESULTS_TSV columns: round position target rps p50_ms p99_ms requests errors cpu_cores
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
            "errors": sum(r["errors"] for r in rs),
            "requests": sum(r["requests"] for r in rs),
            "by_round": {r["round"]: r for r in rs},
        }
    ratios = []
    if baseline in per:
        b = per[baseline]
        for t in targets:
            if t == baseline or t not in per:
                continue
            p = per[t]
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


def paired_str(p):
    if not p:
        return "n/a"
    return "%s (%s-%s)" % (fmt_ratio(p[0]), fmt_ratio(p[1]), fmt_ratio(p[2]))


def machine_line(meta):
    return "%s cores (%s), Linux %s; %s; %s; load average at start %s, at end %s" % (
        meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"),
        meta.get("nginx_version", "nginx ?"), meta.get("wrk_version", "wrk ?"),
        meta.get("load_start", "?"), meta.get("load_end", "?"))


def render_text(targets, per, ratios, meta):
    lines = []
    lines.append(meta.get("title", "benchmark"))
    lines.append("")
    cols = ["target", "median req/s", "p50 ms", "p99 ms", "CPU cores", "errors"]
    table = [cols]
    for t in targets:
        if t in per:
            p = per[t]
            table.append([p["label"], fmt_rps(p["rps"]), fmt_ms(p["p50_ms"]), fmt_ms(p["p99_ms"]),
                          "%.2f" % p["cpu"], str(p["errors"])])
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
    lines.append("  per round (req/s, p99 ms; order within the round in brackets):")
    rounds = sorted({rnd for p in per.values() for rnd in p["by_round"]})
    for rnd in rounds:
        cells = []
        for t in targets:
            r = per.get(t, {}).get("by_round", {}).get(rnd)
            if r:
                cells.append("%s %s / %s [%d]" % (per[t]["label"], fmt_rps(r["rps"]), fmt_ms(r["p99_ms"]),
                                                   r["position"]))
        lines.append("    round %d: %s" % (rnd, ";  ".join(cells)))
    lines.append("")
    lines.append("  machine: " + machine_line(meta))
    if meta.get("edge_version"):
        lines.append("  edge-proxy: " + meta["edge_version"])
    lines.append("  load: " + meta.get("load", "?"))
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
    lines.append("")
    lines.append("| target | median req/s | median p50 ms | median p99 ms | CPU cores | errors |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    for t in targets:
        if t in per:
            p = per[t]
            lines.append("| %s | %s | %s | %s | %.2f | %d |" % (
                p["label"], fmt_rps(p["rps"]), fmt_ms(p["p50_ms"]), fmt_ms(p["p99_ms"]), p["cpu"], p["errors"]))
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
    lines.append("<details><summary>Per round (req/s, p99 ms, position in round)</summary>")
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
            cells.append("%s / %s (%d)" % (fmt_rps(r["rps"]), fmt_ms(r["p99_ms"]), r["position"]) if r else "-")
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
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
