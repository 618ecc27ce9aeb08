#!/usr/bin/env python3
"""The report of every bench/run scenario, from the files a run leaves in its run directory.

  bench/report.py RUN_DIR [--markdown]
      prints the tables of the run described by RUN_DIR/report.json; with --markdown the block
      for bench/RESULTS.md goes to stdout and the plain tables to stderr. bench/run calls it at
      the end of every run; with --keep (or after a failure) the run directory stays and the
      report can be printed again.
  bench/report.py parse WRK_OUTPUT
      one wrk --latency output -> "rps p50_ms p99_ms requests errors", tab-separated.

report.json holds {"blocks": [BLOCK, ...]}; each BLOCK has a "kind", the files it reads
(relative to RUN_DIR) and a "meta" object (date, commit, machine, tool versions, command,
title, heading, load, checks, targets in display order, label.NAME per target). The kinds:
  wrk      results TSV of interleaved wrk rounds (round position target rps p50_ms p99_ms
           requests errors cpu_cores tcp_retrans): medians per target, ratios for "pairs"
           ("A:B,C:D", A against B) of medians and paired per round, CPU, errors, per round.
  goals    ratios of medians (and per round) checked against goals.
  burst    results TSV of coalescing bursts: origin requests per round, p50/p99/max, late
           answers, cache markers, errors.
  latency  the JSON of lib/batch_latency.js: p50/p90/p99/max per scenario, connections,
           errors, hit markers, and the goal lines.
  load     the runs of the load and soak scenario: requests, req/s, p50, p99, errors per run
           and kind, idle connections, CPU, RSS, targets.
  purge    purge propagation, the micro-benchmark, hits with and without purges.
  flood    one JSON line per memory flood run: RSS against the store's budget.
  series   results TSV of interleaved rounds of named figures (round position target, then one
           column per figure): medians of the "metrics", ratios of medians and per round for
           "pairs", the "columns" summed or as medians (tls_handshake, ws_echo).
  text     a line of its own ("text", "markdown").
"""

import json
import os
import re
import statistics
import sys

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
TIME_RE = r"([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)\b"


# ---- wrk -----------------------------------------------------------------------------------------


def parse_wrk(text):
    """rps, p50_ms, p99_ms, requests, errors from `wrk --latency` output."""
    out = {}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if not m:
        raise ValueError("no 'Requests/sec' line")
    out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+" + pct + r"(?:\.0+)?%\s+" + TIME_RE, text, re.M)
        if not m:
            raise ValueError("no %s%% latency line (was wrk run with --latency?)" % pct)
        out[key] = float(m.group(1)) * UNIT_MS[m.group(2)]
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


def read_tsv(path, ints=(), floats=()):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if not line.strip():
                continue
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            for k in floats:
                row[k] = float(row[k])
            for k in ints:
                row[k] = int(row[k])
            rows.append(row)
    return rows


def read_wrk_results(path):
    rows = read_tsv(path, ints=("round", "position", "requests", "errors"),
                    floats=("rps", "p50_ms", "p99_ms", "cpu_cores"))
    for row in rows:  # absent from results recorded before the column existed
        row["tcp_retrans"] = int(row["tcp_retrans"]) if row.get("tcp_retrans") not in (None, "") else None
    return rows


def fmt_rps(v):
    return "{:,.0f}".format(v)


def fmt_ms(v):
    return "%.3f" % v if v < 1 else "%.2f" % v


def fmt_ratio(v):
    return "%.2f" % v


def shown_targets(meta, rows):
    return [t for t in meta.get("targets", "").split(",") if t] or sorted({r["target"] for r in rows})


def paired_ratios(per, a, b, key):
    """Ratios of A's and B's figure in the same round (measured back to back)."""
    return [r[key] / per[b]["by_round"][rnd][key]
            for rnd, r in per[a]["by_round"].items() if rnd in per[b]["by_round"]]


def summarize(rows, meta, pairs):
    targets = shown_targets(meta, rows)
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
    if ":" in pairs:
        pairs = [tuple(p.split(":", 1)) for p in pairs.split(",") if p]
    else:
        pairs = [(t, pairs) for t in targets if t != pairs]
    ratios = []
    for t, base in pairs:
        if t not in per or base not in per:
            continue
        entry = {"target": t, "label": per[t]["label"], "baseline_label": per[base]["label"]}
        for k in ("rps", "p99_ms"):
            entry[k] = per[t][k] / per[base][k]
            vals = paired_ratios(per, t, base, k)
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
    tools = [meta[k] for k in ("nginx_version", "varnish_version", "wrk_version", "node_version",
                               "redis_version", "openssl_version") if meta.get(k)]
    return "%s cores (%s), Linux %s; %s; load average at start %s, at end %s" % (
        meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"),
        "; ".join(tools) or "?", meta.get("load_start", "?"), meta.get("load_end", "?"))


def header_lines(meta, markdown, heading="run"):
    """The lines that go with every result: command, revision, machine, setup, checks."""
    if markdown:
        lines = ["### %s — %s" % (meta.get("date", "?"), meta.get("heading", heading)), "",
                 "- Command: `%s`" % meta.get("command", "?")]
        if meta.get("commit"):
            lines.append("- Repository HEAD at run time: `%s`" % meta["commit"])
        lines.append("- Machine: " + machine_line(meta))
        for key, name in (("edge_version", "edge-proxy"), ("load", "Load"), ("checks", "Checks")):
            if meta.get(key):
                lines.append("- %s: %s" % (name, meta[key]))
        lines.append("")
        return lines
    return [meta.get("title", heading), ""]


def footer_lines(meta):
    """The plain report's closing lines (the markdown block has them at the top)."""
    lines = ["", "  machine: " + machine_line(meta)]
    for key, name in (("edge_version", "edge-proxy"), ("load", "load"), ("checks", "checks"),
                      ("commit", "repository HEAD at run time"), ("date", "date"), ("command", "command")):
        if meta.get(key) or key in ("load", "date", "command"):
            lines.append("  %s: %s" % (name, meta.get(key, "?")))
    return lines


def table_text(rows, left=1, last_left=False):
    """Aligned columns: the first LEFT columns left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = []
        for i, (c, w) in enumerate(zip(row, widths)):
            if i < left or (last_left and i == len(row) - 1):
                cells.append(c if last_left and i == len(row) - 1 else c.ljust(w))
            else:
                cells.append(c.rjust(w))
        out.append(("  " + "   ".join(cells)).rstrip())
        if n == 0:
            out.append("  " + "   ".join("-" * w for w in widths))
    return out


def table_md(rows, align):
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return out


def render_wrk(block, rows, meta, markdown):
    targets, per, ratios = summarize(rows, meta, block.get("pairs", "nginx"))
    shown = [t for t in targets if t in per]
    retrans = has_retrans(per)
    lines = header_lines(meta, markdown)
    if markdown:
        cols = ["target", "median req/s", "median p50 ms", "median p99 ms", "CPU cores", "errors"]
    else:
        cols = ["target", "median req/s", "p50 ms", "p99 ms", "CPU cores", "errors"]
    if retrans:
        cols.append("median TCP retrans" if markdown else "TCP retrans")
    table = [cols]
    for t in shown:
        p = per[t]
        row = [p["label"], fmt_rps(p["rps"]), fmt_ms(p["p50_ms"]), fmt_ms(p["p99_ms"]),
               "%.2f" % p["cpu"], str(p["errors"])]
        if retrans:
            row.append("%.0f" % p["retrans"])
        table.append(row)
    rounds = sorted({rnd for p in per.values() for rnd in p["by_round"]})
    if markdown:
        lines += table_md(table, ["---"] + ["---:"] * (len(cols) - 1))
        if ratios:
            rt = [["ratio", "of medians", "per-round paired, median (min-max)"]]
            for r in ratios:
                rt.append(["%s / %s req/s (>1 better)" % (r["label"], r["baseline_label"]),
                           fmt_ratio(r["rps"]), paired_str(r["rps_paired"])])
                rt.append(["%s / %s p99 (<1 better)" % (r["label"], r["baseline_label"]),
                           fmt_ratio(r["p99_ms"]), paired_str(r["p99_ms_paired"])])
            lines += [""] + table_md(rt, ["---", "---:", "---:"])
        lines += ["", "<details><summary>Per round (req/s, p99 ms, position in round, TCP "
                      "retransmissions)</summary>", ""]
        pr = [["round"] + [per[t]["label"] for t in shown]]
        for rnd in rounds:
            pr.append([str(rnd)] + ["%s / %s (%d)%s" % (fmt_rps(r["rps"]), fmt_ms(r["p99_ms"]), r["position"],
                                                        retrans_note(r)) if r else "-"
                                    for r in (per[t]["by_round"].get(rnd) for t in shown)])
        lines += table_md(pr, ["---:"] * len(pr[0])) + ["", "</details>"]
    else:
        lines += table_text(table) + [""]
        for r in ratios:
            lines.append("  %s / %s:" % (r["label"], r["baseline_label"]))
            lines.append("    req/s ratio %s   per-round paired %s   >1 = %s serves more"
                         % (fmt_ratio(r["rps"]), paired_str(r["rps_paired"]), r["label"]))
            lines.append("    p99 ratio   %s   per-round paired %s   <1 = %s has the lower tail"
                         % (fmt_ratio(r["p99_ms"]), paired_str(r["p99_ms_paired"]), r["label"]))
        lines += ["", "  per round (req/s, p99 ms; order within the round in brackets; TCP retransmissions):"]
        lines += rounds_text(per, shown, rounds, lambda r: "%s / %s [%d]%s" % (
            fmt_rps(r["rps"]), fmt_ms(r["p99_ms"]), r["position"], retrans_note(r)))
        lines += footer_lines(meta)
    return lines + errors_note(per, markdown, "wrk reported %d socket errors or non-2xx/3xx responses; the figures "
                                              "of the affected target are not comparable.")


def rounds_text(per, shown, rounds, cell):
    """The plain report's per-round lines: every target's figures in that round."""
    return ["    round %d: %s" % (rnd, ";  ".join("%s %s" % (per[t]["label"], cell(r)) for t in shown
                                                   for r in [per[t]["by_round"].get(rnd)] if r))
            for rnd in rounds]


def errors_note(per, markdown, text):
    total = sum(p["errors"] for p in per.values())
    if not total:
        return []
    return ["", "**%s**" % (text % total) if markdown else "  WARNING: " + text % total]


# ---- series (named figures per round: handshakes, WebSocket echo) --------------------------------


def fmt_value(v, kind):
    if kind == "rate":
        return fmt_rps(v)
    if kind == "us":
        return "%.0f" % v
    if kind == "ms":
        return fmt_ms(v)
    if kind == "cores":
        return "%.2f" % v
    return "{:,.0f}".format(v) if float(v).is_integer() else "%g" % v


def render_series(block, rows, meta, markdown):
    """Interleaved rounds of any named figures: "metrics" (key, label, kind, better: higher or
    lower) get medians and, for "pairs" ("A:B,..."), ratios of medians and per round;
    "columns" (key, label, agg: sum or median) are shown beside them."""
    metrics, columns = block["metrics"], block.get("columns", [])
    targets = shown_targets(meta, rows)
    per = {}
    for t in targets:
        rs = [r for r in rows if r["target"] == t]
        if rs:
            per[t] = {"label": meta.get("label." + t, t), "by_round": {int(r["round"]): r for r in rs}}
            for m in metrics:
                per[t][m["key"]] = statistics.median(float(r[m["key"]]) for r in rs)
            for c in columns:
                vals = [float(r[c["key"]]) for r in rs]
                per[t][c["key"]] = sum(vals) if c.get("agg") == "sum" else statistics.median(vals)
    shown = [t for t in targets if t in per]
    lines = header_lines(meta, markdown)
    table = [["target"] + ["median " + m["label"] for m in metrics] + [c["label"] for c in columns]]
    for t in shown:
        p = per[t]
        row = [p["label"]] + [fmt_value(p[m["key"]], m.get("kind")) for m in metrics]
        for c in columns:
            v = p[c["key"]]
            row.append("-" if v < 0 else fmt_value(v, c.get("kind", "num")))
        table.append(row)
    ratios = [["ratio", "of medians", "per-round paired, median (min-max)"]]
    for pair in [p.split(":") for p in block.get("pairs", "").split(",") if p]:
        a, b = pair
        if a not in per or b not in per:
            continue
        for m in metrics:
            if not m.get("ratio", True):
                continue
            med = per[a][m["key"]] / per[b][m["key"]] if per[b][m["key"]] else float("nan")
            vals = [float(r[m["key"]]) / float(per[b]["by_round"][k][m["key"]])
                    for k, r in per[a]["by_round"].items()
                    if k in per[b]["by_round"] and float(per[b]["by_round"][k][m["key"]])]
            ratios.append(["%s / %s %s (%s better)" % (per[a]["label"], per[b]["label"], m["label"],
                                                       ">1" if m.get("better") == "higher" else "<1"),
                           fmt_ratio(med), paired_str((statistics.median(vals), min(vals), max(vals)) if vals
                                                      else None)])
    rounds = sorted({rnd for p in per.values() for rnd in p["by_round"]})

    def cell(r):
        return " / ".join(fmt_value(float(r[m["key"]]), m.get("kind")) for m in metrics) + " (%s)" % r["position"]
    if markdown:
        lines += table_md(table, ["---"] + ["---:"] * (len(table[0]) - 1))
        if len(ratios) > 1:
            lines += [""] + table_md(ratios, ["---", "---:", "---:"])
        lines += ["", "<details><summary>Per round (%s; position in round)</summary>" % " / ".join(
            m["label"] for m in metrics), ""]
        pr = [["round"] + [per[t]["label"] for t in shown]]
        for rnd in rounds:
            pr.append([str(rnd)] + [cell(r) if r else "-" for r in (per[t]["by_round"].get(rnd) for t in shown)])
        lines += table_md(pr, ["---:"] * len(pr[0])) + ["", "</details>"]
    else:
        lines += table_text(table) + [""]
        for row in ratios[1:]:
            lines.append("  %-70s %s   per-round paired %s" % tuple(row))
        lines += ["", "  per round (%s; order within the round in brackets):" % " / ".join(m["label"] for m in metrics)]
        lines += rounds_text(per, shown, rounds, cell)
        lines += footer_lines(meta)
    errs = sum(float(r.get("errors", 0)) for r in rows)
    if errs:
        text = "%d failed connections or exchanges; the affected target's figures are not comparable." % errs
        lines += ["", "**%s**" % text if markdown else "  WARNING: " + text]
    return lines


# ---- goals ---------------------------------------------------------------------------------------


def render_goals(block, rows, meta, markdown):
    """Each goal: a ratio of two targets' median req/s (num/den, with the per-round paired
    ratios beside it) or a given value, against op and goal."""
    by = {}
    for r in rows:
        by.setdefault(r["target"], {})[r["round"]] = r
    table = [["goal", "of medians", "per-round paired", "target", "met"]]
    for g in block["goals"]:
        if "value" in g:
            value, pr = g["value"], "-"
        else:
            med = {t: statistics.median(r["rps"] for r in by[t].values()) for t in (g["num"], g["den"])}
            value = med[g["num"]] / med[g["den"]]
            vals = [r["rps"] / by[g["den"]][k]["rps"] for k, r in by[g["num"]].items() if k in by[g["den"]]]
            pr = paired_str((statistics.median(vals), min(vals), max(vals)) if vals else None)
        met = value >= g["goal"] if g["op"] == ">=" else value <= g["goal"]
        table.append([g["name"], "%.2f" % value, pr, "%s %.2f" % (g["op"], g["goal"]),
                      ("yes" if met else "**no**") if markdown else ("met" if met else "NOT MET")])
    if markdown:
        return table_md(table, ["---", "---:", "---:", "---:", "---"])
    return table_text(table)


# ---- coalescing bursts -------------------------------------------------------------------------

BURST_COLUMNS = ["round", "position", "target", "origin_requests", "clients", "ok", "errors",
                 "reused", "spread_ms", "min_ms", "p50_ms", "p99_ms", "max_ms", "late", "markers"]


def percentile(sorted_vals, pct):
    """Nearest-rank percentile of an ascending list (p99 of 200 values = the 198th)."""
    if not sorted_vals:
        return float("nan")
    rank = max(1, -(-len(sorted_vals) * pct // 100))  # ceil without floats
    return sorted_vals[int(rank) - 1]


def parse_burst(text, late_ms):
    """Digest lib/burst.js output: latency figures, how many were OK and how many came late."""
    spread, reused, lat, ok, markers, late = 0.0, 0, [], 0, {}, 0
    for line in text.splitlines():
        if line.startswith("# issue_spread_ms"):
            spread = float(line.split()[2])
        elif line.startswith("# reused_sockets"):
            reused = int(line.split()[2])
        elif line.strip():
            ms, status, body_ok, marker = line.split("\t")
            ms = float(ms)
            lat.append(ms)
            ok += status == "200" and body_ok == "1"
            late += ms > late_ms
            markers[marker] = markers.get(marker, 0) + 1
    if not lat:
        raise ValueError("no responses")
    lat.sort()
    return {
        "clients": len(lat), "ok": ok, "errors": len(lat) - ok, "reused": reused, "spread_ms": spread,
        "min_ms": lat[0], "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1], "late": late,
        "markers": ",".join("%s:%d" % kv for kv in sorted(markers.items(), key=lambda kv: -kv[1])),
    }


def merge_markers(rows):
    total = {}
    for r in rows:
        for part in r["markers"].split(","):
            if ":" in part:
                k, v = part.rsplit(":", 1)
                total[k] = total.get(k, 0) + int(v)
    return " ".join("%s %d" % kv for kv in sorted(total.items(), key=lambda kv: -kv[1]))


def render_burst(block, rows, meta, markdown):
    targets = shown_targets(meta, rows)
    per = {}
    for t in targets:
        rs = sorted((r for r in rows if r["target"] == t), key=lambda r: r["round"])
        if rs:
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
    shown = [t for t in targets if t in per]
    cols = ["target", "origin requests per round", "p50 ms", "p99 ms", "max ms", "worst max ms",
            "answers > %s ms" % meta.get("late_ms", "?"), "errors", "cache markers (all rounds)"]
    table = [cols] + [[p["label"], " ".join(str(n) for n in p["origin"]), "%.0f" % p["p50_ms"],
                       "%.0f" % p["p99_ms"], "%.0f" % p["max_ms"], "%.0f" % p["worst_ms"],
                       "%d / %d" % (p["late"], p["clients"]), str(p["errors"]), p["markers"]]
                      for p in (per[t] for t in shown)]
    rounds = sorted({rnd for p in per.values() for rnd in p["by_round"]})
    note = "p50/p99/max: medians over the rounds of each burst's figures; worst max: over all rounds"

    def cell(r):
        return "%d / %.0f / %.0f / %.0f" % (r["origin_requests"], r["p50_ms"], r["p99_ms"], r["max_ms"])
    lines = header_lines(meta, markdown)
    if markdown:
        lines += [note + ".", ""] + table_md(table, ["---"] + ["---:"] * 7 + ["---"])
        lines += ["", "<details><summary>Per round (origin requests / p50 / p99 / max ms, position in "
                      "round)</summary>", ""]
        pr = [["round"] + [per[t]["label"] for t in shown]]
        for rnd in rounds:
            pr.append([str(rnd)] + ["%s (%d)" % (cell(r), r["position"]) if r else "-"
                                    for r in (per[t]["by_round"].get(rnd) for t in shown)])
        lines += table_md(pr, ["---:"] * len(pr[0])) + ["", "</details>"]
    else:
        lines += table_text(table, last_left=True) + ["", "  " + note, "",
                                                      "  per round (origin requests / p50 / p99 / max ms; "
                                                      "order within the round in brackets):"]
        lines += rounds_text(per, shown, rounds, lambda r: "%s [%d]" % (cell(r), r["position"]))
        lines += footer_lines(meta)
    return lines + errors_note(per, markdown, "%d responses were not 200 with the origin's bytes (or failed); the "
                                              "affected target's figures are not comparable.")


# ---- batch latency -----------------------------------------------------------------------------


def render_latency(block, data, meta, markdown):
    data = data["scenarios"]
    order = [t for t in meta.get("targets", "").split(",") if t] or list(data)
    per = {}
    for name in order:
        s = data[name]
        allv = sorted(v for rnd in s["rounds"] for v in rnd) or [float("nan")]
        per[name] = {
            "label": meta.get("label." + name, name),
            "n": sum(len(rnd) for rnd in s["rounds"]),
            "p50": percentile(allv, 50), "p90": percentile(allv, 90), "p99": percentile(allv, 99),
            "max": allv[-1],
            "round_p50": [statistics.median(rnd) if rnd else float("nan") for rnd in s["rounds"]],
            "errors": s["errors"], "examples": s["error_examples"],
            "markers": s["markers"], "bytes": s["response_bytes"],
            "newconn": s.get("samples_on_new_connection", 0),
            "closed": s.get("server_closed_after_answer", 0),
            "fresh": s.get("fresh_connections", False),
        }

    def paired(a, b):
        rs = [x / y for x, y in zip(per[a]["round_p50"], per[b]["round_p50"])]
        return "%.2f (%.2f-%.2f)" % (statistics.median(rs), min(rs), max(rs))

    def markers(m):
        return ", ".join("%s %d" % kv for kv in sorted(m.items())) or "-"

    lines = header_lines(meta, markdown, "latency")
    if markdown:
        table = [["scenario", "samples", "response bytes", "p50 ms", "p90 ms", "p99 ms", "max ms",
                  "per-round p50 ms", "samples on a new connection",
                  "closed by the server after the answer", "errors", "X-Cache of the answers (items)"]]
        for p in (per[n] for n in order):
            table.append([p["label"], "%d" % p["n"], "%d" % p["bytes"], "%.3f" % p["p50"], "%.3f" % p["p90"],
                          "%.3f" % p["p99"], "%.3f" % p["max"], " ".join("%.2f" % v for v in p["round_p50"]),
                          "%d" % p["newconn"], "-" if p["fresh"] else "%d" % p["closed"], "%d" % p["errors"],
                          markers(p["markers"])])
        lines += table_md(table, ["---"] + ["---:"] * 6 + ["---", "---:", "---:", "---:", "---"])
    else:
        lines = [meta.get("title", "latency")]
        lines.append("  %-58s %7s %8s %9s %9s %9s %9s %8s %7s  %s" % (
            "scenario", "samples", "bytes", "p50 ms", "p90 ms", "p99 ms", "max ms", "new conn", "closed",
            "errors / markers"))
        for p in (per[n] for n in order):
            lines.append("  %-58s %7d %8d %9.3f %9.3f %9.3f %9.3f %8d %7s  %d / %s" % (
                p["label"], p["n"], p["bytes"], p["p50"], p["p90"], p["p99"], p["max"], p["newconn"],
                "-" if p["fresh"] else p["closed"], p["errors"], markers(p["markers"])))
        lines.append("  per-round p50 ms:")
        for p in (per[n] for n in order):
            lines.append("    %-58s %s" % (p["label"], " ".join("%.2f" % v for v in p["round_p50"])))
        if meta.get("checks"):
            lines.append("  checks: " + meta["checks"])
        lines.append("  command: " + meta.get("command", "?"))
    for p in (per[n] for n in order):
        for ex in p["examples"]:
            lines.append(("- **error** %s: %s" if markdown else "  ERROR %s: %s") % (p["label"], ex))

    # Goals (medians of all samples of the run; per-round paired ratios beside them).
    goals = []
    for single, batch, name in (("edge-hit", "edge-batch-hit", "batch of 10 cached items p50 / single cached hit p50"),
                                ("edge-hit-fresh", "edge-batch-hit-fresh", "same, both on a new connection per request")):
        if single in per and batch in per:
            r = per[batch]["p50"] / per[single]["p50"]
            goals.append((name, "%.2f" % r, "paired per round %s" % paired(batch, single), "<= 1.5", r <= 1.5))
    if "edge-batch-miss" in per:
        for q in ("p50", "p99"):
            v = per["edge-batch-miss"][q]
            goals.append(("batch of 10 uncached items behind the %s ms origin, %s" % (meta.get("delay_ms", "?"), q),
                          "%.1f ms" % v, "", "<= 150 ms", v <= 150))
    lines.append("")
    if markdown:
        lines += table_md([["goal", "measured", "", "target", "met"]] +
                          [[n, v, e, t, "yes" if m else "**no**"] for n, v, e, t, m in goals],
                          ["---", "---:", "---", "---:", "---"])
    else:
        for name, value, extra, target, met in goals:
            lines.append("  %-62s %10s  %-28s goal %-10s %s" % (name, value, extra, target, "met" if met else "NOT MET"))
    return lines


# ---- load and soak -----------------------------------------------------------------------------


def mb(kb):
    return "%.1f" % (float(kb) / 1024)


def render_load(block, rows, meta, markdown):
    m = meta
    labels = m["run_labels"]
    lines = []
    if markdown:
        lines += ["### %s — %s" % (m["date"], m["title"]), "", "- Command: `%s`" % m["command"],
                  "- Repository HEAD at run time: `%s`; %s" % (m["commit"], m["edge_version"]),
                  "- Machine: %s cores, %s, kernel %s; load average %s at" % (m["nproc"], m["cpu"], m["kernel"],
                                                                               m["load_start"]),
                  "  start, %s at end" % m["load_end"],
                  "- Tools: %s, %s, %s; descriptor limit" % (m.get("wrk_version", "wrk"), m.get("node_version", "node"),
                                                            m["nginx_label"]),
                  "  %s (edge-proxy %s)" % (m["nofile"], m["edge_nofile"]),
                  "- Config: config/examples/edge.yaml, ports rewritten%s;" % (
                      ", workers: %s" % m["workers"] if m.get("workers") else ""),
                  "  %s" % m["redis_note"], ""]
        table = [["run", "kind", "connections", "requests", "req/s", "p50 ms", "p99 ms", "errors"]]
    else:
        lines.append(m["title"])
        table = [["run", "kind", "connections", "requests", "req/s", "p50 ms", "p99 ms", "errors"]]
    for r in rows:
        if r["label"] == "warmup":
            continue
        table.append([labels.get(r["label"], r["label"]), r["kind"], r["connections"], r["requests"],
                      "%.0f" % float(r["rps"]), "%.2f" % float(r["p50_ms"]), "%.2f" % float(r["p99_ms"]),
                      r["errors"]])
    if markdown:
        lines += table_md(table, ["---"] * 8) + [""]
    else:
        lines += ["  %-32s %-7s %11s %10s %10s %9s %9s %7s" % tuple(row) for row in table]
    pre = "- " if markdown else "  "
    lines.append("%sIdle connections: %s; %s" % (pre, m["idle_ready"], m["idle_check"]))
    lines.append("%sCPU cores used during the mix runs (edge-proxy / demo origin): %s" % (pre, m["cpu_line"]))
    if m["mode"] == "load":
        lines.append("%sedge-proxy RSS: before %s MB (cache entries/bytes %s), during the mix %s MB, after %s MB (%s)"
                     % (pre, mb(m["rss_before"]), m["cache_before"], mb(m["rss_during"]), mb(m["rss_after"]),
                        m["cache_after"]))
        by = {(r["label"], r["kind"]): r for r in rows}
        run = "paced" if int(m["pace_ms"]) > 0 else "mix"
        hp99 = by[(run, "hits")]["p99_ms"]
        lines.append("%sTargets: errors %d (target 0); hits p99 in the %s run %s ms (target < 10 ms): %s; "
                     "closed loop (queueing included) %s ms" % (
                         pre, m["errors"], labels[run], hp99, "met" if float(hp99) < 10 else "NOT met",
                         by[("mix", "hits")]["p99_ms"]))
    else:
        lines.append("%s%s; RSS before the fill %s MB" % (pre, m["fill_note"], mb(m["rss_before"])))
        lines.append("%sedge-proxy RSS after warm-up (cache entries/bytes in brackets): start %s MB (%s), middle "
                     "%s MB (%s), end %s MB (%s); samples every 10 s: min %s, max %s MB" % (
                         pre, mb(m["rss_start"]), m["cache_start"], mb(m["rss_mid"]), m["cache_mid"],
                         mb(m["rss_end"]), m["cache_end"], mb(m["rss_min"]), mb(m["rss_max"])))
        lines.append("%sTargets: errors %d (target 0); RSS largest growth over start %.1f %%, spread %.1f %% "
                     "(target <= %s %%): %s" % (pre, m["errors"], m["rss_growth"], m["rss_spread"], m["rss_limit"],
                                                "met" if m["rss_growth"] <= float(m["rss_limit"]) else "NOT met"))
    return lines


# ---- purge ---------------------------------------------------------------------------------------


def render_purge(block, run_dir, meta, markdown):
    with open(os.path.join(run_dir, block["propagation"])) as f:
        methods = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(run_dir, block["results"])) as f:
        hits = read_wrk_rounds(f)
    micro = ""
    if block.get("micro") and os.path.exists(os.path.join(run_dir, block["micro"])):
        with open(os.path.join(run_dir, block["micro"])) as f:
            micro = f.read().rstrip()
    off, on = hits.get("no-purges", []), hits.get("purges", [])
    mo, mn = statistics.median(off), statistics.median(on)
    lines = header_lines(meta, markdown)
    prop = [["method", "median ms", "p99 ms", "max ms"]] + [
        [m["method"], "%.3f" % m["median_ms"], "%.3f" % m["p99_ms"], "%.3f" % m["max_ms"]] for m in methods]
    rate = meta.get("rate", "?")
    hit = [["hits, %s" % meta.get("wrk", "wrk"), "rounds (req/s)", "median"],
           ["no purges", " ".join("%.0f" % x for x in off), "%.0f" % mo],
           ["%s soft purges/s" % rate, " ".join("%.0f" % x for x in on), "%.0f" % mn]]
    summary = "hit req/s median: no purges %.0f, with purges %.0f; ratio %.3f (drop %.1f%%)" % (
        mo, mn, mn / mo, 100 * (1 - mn / mo))
    if markdown:
        lines += table_md(prop, ["---", "---:", "---:", "---:"]) + [""]
        if micro:
            lines += ["```", micro, "```", ""]
        lines += table_md(hit, ["---", "---", "---:"]) + ["", summary + "."]
    else:
        lines += table_text(prop) + [""]
        if micro:
            lines += [micro, ""]
        lines += table_text(hit) + ["", "  " + summary]
        if block.get("stats"):
            with open(os.path.join(run_dir, block["stats"])) as f:
                lines += ["  admin /stats at the end: " + f.read().strip()]
        lines += footer_lines(meta)
    return lines


def read_wrk_rounds(f):
    by = {}
    header = f.readline().rstrip("\n").split("\t")
    for line in f:
        r = dict(zip(header, line.rstrip("\n").split("\t")))
        by.setdefault(r["target"], []).append(float(r["rps"]))
    return by


# ---- memory flood --------------------------------------------------------------------------------


def render_flood(block, runs, meta, markdown):
    lines = header_lines(meta, markdown)
    table = [["run", "count", "seconds", "bad", "idle RSS", "RSS after warm-up", "peak RSS", "end RSS",
              "store bytes / budget", "entries", "evictions", "1.5 x budget + idle"]]
    for i, r in enumerate(runs, 1):
        table.append([str(i), str(r["count"]), "%.1f" % r["seconds"], str(r["bad"]), mb(r["idle_kb"]) + " MB",
                      mb(r["warm_kb"]) + " MB", mb(r["max_kb"]) + " MB", mb(r["end_kb"]) + " MB",
                      "%s / %s MB" % (mb(r["store_kb"]), mb(r["budget_kb"])), str(r["store_entries"]),
                      str(r["evictions"]), "%s MB: %s" % (mb(r["limit_kb"]), "met" if r["within_limit"] else "exceeded")])
    if markdown:
        lines += table_md(table, ["---:"] * 11 + ["---"])
    else:
        lines += table_text(table, last_left=True) + footer_lines(meta)
    return lines


# ---- the run directory ---------------------------------------------------------------------------


def strip_root(value, root):
    """Recorded results name files relative to the repository, never by a machine's path."""
    if isinstance(value, str):
        return value.replace(root + "/", "")
    if isinstance(value, dict):
        return {k: strip_root(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_root(v, root) for v in value]
    return value


def render_block(block, run_dir, markdown):
    meta = block.get("meta", {})
    root = meta.get("repo_root", "")
    if root:
        meta = strip_root(meta, root)
    kind = block["kind"]
    path = os.path.join(run_dir, block["results"]) if block.get("results") else None
    if kind == "wrk":
        return render_wrk(block, read_wrk_results(path), meta, markdown)
    if kind == "series":
        return render_series(block, read_tsv(path), meta, markdown)
    if kind == "goals":
        return render_goals(block, read_wrk_results(path), meta, markdown)
    if kind == "burst":
        rows = read_tsv(path, ints=("round", "position", "origin_requests", "clients", "ok", "errors",
                                    "reused", "late"),
                        floats=("spread_ms", "min_ms", "p50_ms", "p99_ms", "max_ms"))
        return render_burst(block, rows, meta, markdown)
    if kind == "latency":
        with open(path) as f:
            return render_latency(block, json.load(f), meta, markdown)
    if kind == "load":
        return render_load(block, read_tsv(path), meta, markdown)
    if kind == "purge":
        return render_purge(block, run_dir, meta, markdown)
    if kind == "flood":
        with open(path) as f:
            return render_flood(block, [json.loads(line) for line in f if line.strip()], meta, markdown)
    if kind == "text":
        return [block["markdown"] if markdown else "  " + block["text"]]
    raise ValueError("unknown block kind %r" % kind)


def render(run_dir, markdown):
    with open(os.path.join(run_dir, "report.json")) as f:
        blocks = json.load(f)["blocks"]
    return "\n\n".join("\n".join(render_block(b, run_dir, markdown)) for b in blocks)


def report(run_dir, markdown, out=sys.stdout, err=sys.stderr):
    """The plain report on OUT; with MARKDOWN the plain one on ERR and the markdown on OUT."""
    if markdown:
        err.write(render(run_dir, False) + "\n\n")
        err.flush()
        out.write(render(run_dir, True) + "\n")
    else:
        out.write(render(run_dir, False) + "\n")
    out.flush()


def main(argv):
    if len(argv) == 2 and argv[0] == "parse":
        with open(argv[1]) as f:
            try:
                r = parse_wrk(f.read())
            except ValueError as e:
                sys.exit("%s: %s" % (argv[1], e))
        print("%.2f\t%.3f\t%.3f\t%d\t%d" % (r["rps"], r["p50_ms"], r["p99_ms"], r["requests"], r["errors"]))
        return 0
    args = [a for a in argv if a != "--markdown"]
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.exit(__doc__)
    report(args[0], "--markdown" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
