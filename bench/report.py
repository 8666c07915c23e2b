#!/usr/bin/env python3
"""report.py: the side-by-side table of bench/run, from its results file.

Usage:
  bench/report.py --common-max RESULTS      print the highest rate both servers sustain
  bench/report.py [--doc docs/performance.md] [--png docs/bench.png] [--plot-dir DIR]
                  [--machine M] [--sipeer V] [--kamailio V] [--sipp V] [--params P] RESULTS

RESULTS has one line per measurement, tab-separated: round, server, metric, values (see
bench/run). Every figure reported is the median over the rounds. The table goes to stdout;
with --doc it replaces the part of the page between <!-- bench:begin --> and
<!-- bench:end -->; with --png gnuplot draws CPU per call and latency against offered rate.
"""
import argparse
import datetime
import os
import statistics
import subprocess
import sys

SERVERS = ("sipeer", "kamailio")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 4:
                rows.append(parts)
    return rows


def num(s):
    try:
        return float(s)
    except ValueError:
        return float("nan")


def med(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def by(rows, metric, server):
    return [r for r in rows if r[2] == metric and r[1] == server]


def max_rates(rows, server):
    return [num(r[3]) for r in by(rows, "max_rate", server)]


def common_max(rows):
    m = [med(max_rates(rows, s)) for s in SERVERS]
    m = [v for v in m if v == v and v > 0]
    return int(min(m)) if m else 1000


def fmt(v, digits=0):
    if v != v:
        return "n/a"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:,.{}f}".format(v, digits)


def ratio(a, b):
    return a / b if a == a and b == b and b != 0 else float("nan")


def build(rows, args):
    """Returns (markdown table lines, goal lines, raw lines, chart data)."""
    n_rounds = len({r[0] for r in rows if r[2] == "cpu_call"})
    table = []   # (label, sipeer, kamailio, ratio, goal text, met or None)

    def row(label, s, k, digits=0, goal=None, met=None, show_ratio=True, text=None):
        cells = [fmt(s, digits), fmt(k, digits)]
        if text:
            cells = [text(s, cells[0], "sipeer"), text(k, cells[1], "kamailio")]
        table.append((label, cells[0], cells[1],
                      fmt(ratio(s, k), 2) if show_ratio else "n/a", goal or "", met))

    def vals(metric, server, col=3):
        return [num(r[col]) if len(r) > col else float("nan") for r in by(rows, metric, server)]

    def fails(metric, server):
        return sum(num(r[4]) + num(r[5]) for r in by(rows, metric, server) if len(r) > 5)

    cps = args.params_dict.get("cps", "?")
    reg_rate = args.params_dict.get("reg_rate", "?")
    s, k = med(vals("cpu_call", "sipeer")), med(vals("cpu_call", "kamailio"))
    row("CPU per call at %s calls/s (µs)" % cps, s, k, 1, "≤ 0.25", ratio(s, k) <= 0.25)
    cpu_call = (s, k)
    row("… of which in the kernel (system time, µs)", med(vals("cpu_call", "sipeer", 6)),
        med(vals("cpu_call", "kamailio", 6)), 1)
    s, k = med(vals("cpu_reg", "sipeer")), med(vals("cpu_reg", "kamailio"))
    row("CPU per authenticated registration at %s/s (µs)" % reg_rate, s, k, 1, "≤ 0.25",
        ratio(s, k) <= 0.25)
    cpu_reg = (s, k)
    row("… of which in the kernel (system time, µs)", med(vals("cpu_reg", "sipeer", 6)),
        med(vals("cpu_reg", "kamailio", 6)), 1)
    s, k = med(max_rates(rows, "sipeer")), med(max_rates(rows, "kamailio"))
    first = args.params_dict.get("ladder_min", "the first step")
    # Every round reached the ladder's top without a failure: a lower bound.
    at_top = {srv: bool(by(rows, "max_rate", srv)) and
              all(r[4] == "top" for r in by(rows, "max_rate", srv)) for srv in SERVERS}
    row("Highest zero-failure call rate (calls/s)", s, k, show_ratio=s > 0 and k > 0,
        text=lambda v, c, srv: ("< %s" % first) if v == 0 else
        ("≥ %s (the ladder's top)" % c) if at_top.get(srv) else c)
    lat = {}
    for label in ("50", "90"):
        rates = [num(r[3]) for r in rows if r[2] == "lat_" + label]
        rate = fmt(med(rates))
        for i, (what, p) in enumerate([("INVITE→100", "p50"), ("INVITE→100", "p99"),
                                        ("INVITE→100", "p99.9"), ("INVITE→200", "p50"),
                                        ("INVITE→200", "p99"), ("INVITE→200", "p99.9")]):
            s = med(vals("lat_" + label, "sipeer", 6 + i))
            k = med(vals("lat_" + label, "kamailio", 6 + i))
            lat[(label, what, p)] = (s, k)
            goal, met = None, None
            if label == "90" and what == "INVITE→100" and p == "p99":
                goal, met = "≤ 1", s <= k
            # Rounds with failed calls have SIPp's retransmissions in their tail: say so.
            bad = {srv: sum(1 for r in by(rows, "lat_" + label, srv) if num(r[4]) + num(r[5]) > 0)
                   for srv in SERVERS}
            n = {srv: len(by(rows, "lat_" + label, srv)) for srv in SERVERS}
            row("%s %s at %s %% load (%s calls/s) (µs)" % (what, p, label, rate), s, k,
                goal=goal, met=met,
                text=lambda v, c, srv: c + (" (failures in %d of %d rounds)" % (bad[srv], n[srv])
                                            if bad[srv] else ""))
    s, k = med(vals("mem_call", "sipeer")), med(vals("mem_call", "kamailio"))
    row("Memory per held call, PSS growth (bytes)", s, k, 0, "≤ 0.5", ratio(s, k) <= 0.5)
    mem = (s, k)
    k = med(vals("mem_call", "kamailio", 5))
    row("Kamailio shared memory in use per held call (bytes)", float("nan"), k, show_ratio=False)
    s, k = med(vals("idle", "sipeer")), med(vals("idle", "kamailio"))
    row("CPU when idle (ms per second)", s, k, 2)
    s = med(vals("parse", "sipeer"))
    row("Parser: typical INVITEs per second of one core's CPU time", s, float("nan"), 0, "≥ 1,000,000",
        s >= 1e6, show_ratio=False)
    parse = s
    s = med(vals("parse_ir", "sipeer"))
    row("Parser: instructions per message (callgrind; does not vary with the host's speed)",
        s, float("nan"), 0, show_ratio=False)

    lines = ["| measurement | sipeer | Kamailio | sipeer / Kamailio | goal (ratio) | met |",
             "|---|---:|---:|---:|---|---|"]
    for label, s, k, r, goal, met in table:
        mark = "" if met is None else ("yes" if met else "**no**")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (label, s, k, r, goal, mark))

    # Every round's figures, so the spread is visible.
    raw = ["| measurement | server | per round |", "|---|---|---|"]
    for metric, label, digits in (("cpu_call", "CPU per call (µs)", 1),
                                  ("cpu_reg", "CPU per registration (µs)", 1),
                                  ("max_rate", "highest zero-failure rate (calls/s)", 0),
                                  ("mem_call", "memory per held call (bytes)", 0),
                                  ("parse", "parser (messages/s)", 0)):
        for server in SERVERS:
            rs = by(rows, metric, server)
            if not rs:
                continue
            cells = []
            for r in rs:
                c = fmt(num(r[3]), digits)
                if metric == "max_rate":
                    c += " (%s)" % {"failure": "then a failure", "sipp": "then SIPp short of the rate",
                                    "top": "top of the ladder"}.get(r[4], r[4])
                elif metric in ("cpu_call", "cpu_reg") and (num(r[4]) or num(r[5])):
                    c += " (%s failed, %s retransmitted)" % (r[4], r[5])
                cells.append(c)
            raw.append("| %s | %s | %s |" % (label, server, "; ".join(cells)))
    for label in ("50", "90"):
        for server in SERVERS:
            rs = by(rows, "lat_" + label, server)
            if rs:
                cells = ["%s/%s/%s µs (%s failed, %s retransmitted)" % (r[6], r[7], r[8], r[4], r[5])
                         for r in rs]
                raw.append("| INVITE→100 p50/p99/p99.9 at %s %% | %s | %s |"
                           % (label, server, "; ".join(cells)))

    # The ladder: per server and rate, medians over the rounds in which the step was clean.
    steps = {}
    for r in rows:
        if r[2] != "step":
            continue
        rate, failed, retr = num(r[3]), num(r[5]), num(r[6])
        steps.setdefault((r[1], rate), []).append((failed + retr == 0, r))
    chart = {}
    ladder_lines = ["| offered calls/s | server | clean runs | CPU per call (µs) | INVITE→100 p50 / p99 (µs) | INVITE→200 p50 / p99 (µs) | SIPp UAC / UAS load | UDP drops: server socket / machine |",
                    "|---:|---|---|---:|---|---|---|---|"]
    for (server, rate) in sorted(steps, key=lambda x: (x[0] != "sipeer", x[1])):
        entries = steps[(server, rate)]
        clean = [r for ok, r in entries if ok]
        use = clean if clean else [r for _, r in entries]
        cpu = med([num(r[4]) for r in use])
        p50 = med([num(r[10]) for r in use])
        p99 = med([num(r[11]) for r in use])
        q50 = med([num(r[13]) for r in use])
        q99 = med([num(r[14]) for r in use])
        uac = med([num(r[8]) for r in use])
        uas = med([num(r[9]) for r in use])
        drops = "%s / %s" % (fmt(med([num(r[17]) for r in use if len(r) > 18])),
                             fmt(med([num(r[18]) for r in use if len(r) > 18])))
        ladder_lines.append("| %s | %s | %d of %d | %s | %s / %s | %s / %s | %.2f / %.2f | %s |" % (
            fmt(rate), server, len(clean), len(entries), fmt(cpu, 1), fmt(p50), fmt(p99),
            fmt(q50), fmt(q99), uac, uas, drops))
        if clean:
            chart.setdefault(server, {})[rate] = [(cpu, p50, p99)]
    # The latency runs add their points (CPU per call was measured there too).
    for r in rows:
        if r[2].startswith("lat_") and len(r) > 13 and num(r[4]) + num(r[5]) == 0:
            chart.setdefault(r[1], {}).setdefault(num(r[3]), []).append(
                (num(r[13]), num(r[6]), num(r[7])))
    chart = {srv: [(rate, med([p[0] for p in pts]), med([p[1] for p in pts]), med([p[2] for p in pts]))
                   for rate, pts in per.items()]
             for srv, per in chart.items()}

    goals = [
        ("CPU per call at most 0.25 × Kamailio's", cpu_call),
        ("CPU per authenticated registration at most 0.25 × Kamailio's", cpu_reg),
        ("p99 INVITE→100 at 90 % load at most Kamailio's", lat.get(("90", "INVITE→100", "p99"), (float("nan"),) * 2)),
        ("Memory per held call at most half of Kamailio's", mem),
    ]
    goal_lines = []
    limits = (0.25, 0.25, 1.0, 0.5)
    for (text, (s, k)), lim in zip(goals, limits):
        r = ratio(s, k)
        state = "n/a" if r != r else ("met" if r <= lim else "not met")
        goal_lines.append("- %s: **%s** (ratio %s)." % (text, state, fmt(r, 2)))
    for srv in SERVERS:
        rs = by(rows, "lat_90", srv)
        bad = sum(1 for r in rs if num(r[4]) + num(r[5]) > 0)
        if bad:
            goal_lines[2] = goal_lines[2][:-1] + "; %s had failed calls at that load in %d of %d rounds, whose retransmissions are in its tail." % (
                "sipeer" if srv == "sipeer" else "Kamailio", bad, len(rs))
    state = "n/a" if parse != parse else ("met" if parse >= 1e6 else "not met")
    goal_lines.append("- Parser at least 1,000,000 typical INVITEs per second per core: **%s** (%s/s)."
                      % (state, fmt(parse)))
    return lines, goal_lines, raw, ladder_lines, chart, n_rounds


def draw(chart, png, plot_dir):
    files = {}
    for server, pts in chart.items():
        path = os.path.join(plot_dir, "chart-%s.dat" % server)
        with open(path, "w") as f:
            f.write("# rate cpu_us p50_100_us p99_100_us\n")
            for p in sorted(pts):
                f.write("%g %g %g %g\n" % p)
        files[server] = path
    if not files:
        return False

    def plots(col, title_fmt):
        out = []
        for server, style in (("sipeer", "lc rgb '#1f77b4' pt 7"), ("kamailio", "lc rgb '#d62728' pt 5")):
            if server in files:
                out.append("'%s' using 1:%d with linespoints %s title '%s'"
                           % (files[server], col, style, title_fmt % ("sipeer" if server == "sipeer" else "Kamailio")))
        return out
    script = """
set terminal pngcairo size 1200,480 font 'Sans,10'
set output '%s'
set multiplot layout 1,2 title 'sipeer and Kamailio 5.6 under SIPp load (runs without failures; medians over rounds)'
set grid
set key top left
set offsets graph 0.05, graph 0.05, graph 0.1, 0
set xlabel 'offered load (calls/s)'
set ylabel 'CPU per call (µs, all processes)'
set yrange [0:*]
plot %s
set ylabel 'INVITE to 100 Trying (µs)'
set logscale y
set yrange [*:*]
set offsets graph 0.05, graph 0.05, 0, 0
plot %s
unset multiplot
""" % (png, ", ".join(plots(2, "%s")),
       ", ".join(plots(3, "%s p50") + [p.replace("linespoints", "linespoints dt 2") for p in plots(4, "%s p99")]))
    with open(os.path.join(plot_dir, "chart.gp"), "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", os.path.join(plot_dir, "chart.gp")], check=True)
    return True


def write_section(doc, begin, end, section):
    """Puts the lines of section (from the begin marker to the end marker) in place of the
    page's section between those markers, or at its end when it has none."""
    with open(doc) as f:
        page = f.read()
    if begin in page and end in page:
        a, b = page.index(begin), page.index(end) + len(end)
        page = page[:a] + "\n".join(section) + page[b:]
    else:
        page = page.rstrip("\n") + "\n\n" + "\n".join(section) + "\n"
    with open(doc, "w") as f:
        f.write(page)
    print("written: %s" % doc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--common-max", action="store_true")
    ap.add_argument("--doc")
    ap.add_argument("--png")
    ap.add_argument("--plot-dir", default=".")
    ap.add_argument("--machine", default="?")
    ap.add_argument("--sipeer", default="?")
    ap.add_argument("--kamailio", default="?")
    ap.add_argument("--sipp", default="?")
    ap.add_argument("--params", default="")
    args = ap.parse_args()
    rows = load(args.results)
    if args.common_max:
        print(common_max(rows))
        return
    args.params_dict = dict(p.split("=", 1) for p in args.params.split() if "=" in p)
    table, goals, raw, ladder, chart, n_rounds = build(rows, args)
    today = datetime.date.today().isoformat()
    head = ["Measured %s on %s; sipeer %s, Kamailio %s, SIPp %s. Every figure is the median of %d "
            "round(s), sipeer and Kamailio alternating (A B A B). Parameters: `%s`."
            % (today, args.machine, args.sipeer, args.kamailio, args.sipp, n_rounds, args.params)]
    print("\n".join(head + [""] + table + [""] + goals))
    print()
    print("\n".join(ladder))
    if args.png:
        if draw(chart, args.png, args.plot_dir):
            print("\nchart: %s" % args.png)
    if args.doc:
        section = [BEGIN,
                   "<!-- generated by bench/run (bench/report.py); edit outside the markers -->",
                   "", "### Results of the last `make bench`", ""] + head + [""] + table + [
                   "", "Goals (DESIGN.md section 6, issue 4):", ""] + goals + [
                   "", "Every round:", ""] + raw + [
                   "", "The ladder (highest zero-failure rate; also the chart's data):", ""] + ladder
        if args.png:
            section += ["", "![CPU per call and latency against offered rate](%s)"
                        % os.path.relpath(args.png, os.path.dirname(args.doc))]
        section += ["", END]
        write_section(args.doc, BEGIN, END, section)


if __name__ == "__main__":
    sys.exit(main())
