#!/usr/bin/env python3
"""dns_report.py: the table of bench/dns_call.sh, from its results file.

Usage:
  bench/dns_report.py [--doc docs/performance.md] [--machine M] [--sipeer V] [--nsd V]
                      [--params P] RESULTS

RESULTS has one line per measurement, tab-separated:
  0 lookups|decisions MEDIAN_PER_S MIN MAX                  (bench_dns_lookup, 5 runs)
  ROUND static|enum CPU_US SYS_US OK FAILED RETRANSMISSIONS SIPP_EXIT NSD_CPU_US
        NSD_QUERIES INVITE_100_P50_US INVITE_200_P50_US INVITE_200_P99_US
The figures of the calls are medians over the rounds. The table goes to stdout; with --doc it
replaces the part of the page between <!-- bench-dns:begin --> and <!-- bench-dns:end -->
(or is appended when the markers are missing).
"""
import argparse
import datetime
import sys

# bench/report.py: the same number helpers, the same markers rule
from report import fmt, med, num, write_section

BEGIN, END = "<!-- bench-dns:begin -->", "<!-- bench-dns:end -->"
GOAL = 1e6


def build(rows, params):
    look = {r[1]: [num(x) for x in r[2:5]] for r in rows if r[1] in ("lookups", "decisions")}
    calls = {c: [r for r in rows if r[1] == c] for c in ("static", "enum")}
    n_rounds = max(len(calls["static"]), len(calls["enum"]))

    def col(case, i):
        return [num(r[i]) for r in calls[case] if len(r) > i]

    def per_call_q(case):
        return [num(r[9]) / num(r[4]) if num(r[4]) > 0 else float("nan") for r in calls[case]]

    lines = ["| measurement | static route | uncached ENUM + SRV | difference |",
             "|---|---:|---:|---:|"]

    def row(label, s, e, digits=1, diff=True):
        d = fmt(e - s, digits) if diff and s == s and e == e else ""
        lines.append("| %s | %s | %s | %s |" % (label, fmt(s, digits), fmt(e, digits), d))

    cps = params.get("cps", "?")
    s, e = med(col("static", 2)), med(col("enum", 2))
    row("sipeer CPU per call at %s calls/s (µs, user + system, all threads)" % cps, s, e)
    cpu = (s, e)
    row("… of which in the kernel (µs)", med(col("static", 3)), med(col("enum", 3)))
    row("NSD CPU per call (µs, all its processes; not in sipeer's figure)",
        med(col("static", 8)), med(col("enum", 8)))
    row("DNS questions NSD answered per call", med(per_call_q("static")), med(per_call_q("enum")), 2)
    row("INVITE→100 p50 (µs, SIPp)", med(col("static", 10)), med(col("enum", 10)), 0)
    row("INVITE→200 p50 (µs, SIPp)", med(col("static", 11)), med(col("enum", 11)), 0)
    row("INVITE→200 p99 (µs, SIPp)", med(col("static", 12)), med(col("enum", 12)), 0)
    failed = {c: sum(num(r[5]) for r in calls[c]) for c in calls}
    ok = {c: sum(num(r[4]) for r in calls[c]) for c in calls}
    lines.append("| calls completed / failed (all rounds) | %s / %s | %s / %s | |"
                 % (fmt(ok["static"]), fmt(failed["static"]), fmt(ok["enum"]), fmt(failed["enum"])))

    cached = ["| cached, one core (bench_dns_lookup) | median | ns each | min – max of 5 runs | goal | met |",
              "|---|---:|---:|---|---|---|"]
    lk = look.get("lookups", [float("nan")] * 3)
    dc = look.get("decisions", [float("nan")] * 3)
    met = "n/a" if lk[0] != lk[0] else ("yes" if lk[0] >= GOAL else "**no**")
    cached.append("| look-ups per second (`sp_resolver_query` hits: 1,000 names, NAPTR/SRV/A) | %s | %s | %s – %s | ≥ 1,000,000 | %s |"
                  % (fmt(lk[0]), fmt(1e9 / lk[0], 1) if lk[0] else "n/a", fmt(lk[1]), fmt(lk[2]), met))
    cached.append("| routing decisions per second (`sp_router_resolve` of an ENUM number: ENUM NAPTR, NAPTR, SRV, A, AAAA all cached) | %s | %s | %s – %s | | |"
                  % (fmt(dc[0]), fmt(1e9 / dc[0], 0) if dc[0] else "n/a", fmt(dc[1]), fmt(dc[2])))

    raw = ["| round | case | sipeer CPU per call (µs) | in the kernel (µs) | NSD CPU per call (µs) | questions to NSD | calls ok / failed / retransmissions | SIPp exit |",
           "|---|---|---:|---:|---:|---:|---|---|"]
    for r in sorted(rows, key=lambda r: (r[0], r[1] != "static")):
        if r[1] in ("static", "enum") and len(r) >= 13:
            raw.append("| %s | %s | %s | %s | %s | %s | %s / %s / %s | %s |" % (
                r[0], "static route" if r[1] == "static" else "uncached ENUM + SRV",
                r[2], r[3], r[8], fmt(num(r[9])), fmt(num(r[4])), fmt(num(r[5])), fmt(num(r[6])), r[7]))

    goals = []
    state = "n/a" if lk[0] != lk[0] else ("met" if lk[0] >= GOAL else "not met")
    goals.append("- Cached look-ups, at least 1,000,000 per second per core: **%s** (%s/s, %s ns each)."
                 % (state, fmt(lk[0]), fmt(1e9 / lk[0], 1) if lk[0] else "n/a"))
    s, e = cpu
    # Each round's pair (static, then ENUM, minutes apart) shares the machine's state of the
    # moment: the median of the pairs' differences is the steadier figure.
    pairs = {}
    for r in rows:
        if r[1] in ("static", "enum"):
            pairs.setdefault(r[0], {})[r[1]] = num(r[2])
    diffs = [p["enum"] - p["static"] for p in pairs.values() if "enum" in p and "static" in p]
    nq = med(per_call_q("enum")) - med(per_call_q("static"))
    if s == s and e == e:
        goals.append("- A call that needs an uncached ENUM + SRV resolution cost sipeer %s µs of CPU, "
                     "a call on a static route %s µs: %s µs more (%s×; the median of the rounds' "
                     "differences: %s µs, about %s µs per DNS question), with NSD's %s µs per call on top."
                     % (fmt(e, 1), fmt(s, 1), fmt(e - s, 1), fmt(e / s, 2) if s else "n/a",
                        fmt(med(diffs), 1), fmt(med(diffs) / nq if nq > 0 else float("nan"), 0),
                        fmt(med(col("enum", 8)), 1)))
    return cached, lines, raw, goals, n_rounds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--doc")
    ap.add_argument("--machine", default="?")
    ap.add_argument("--sipeer", default="?")
    ap.add_argument("--nsd", default="?")
    ap.add_argument("--params", default="")
    args = ap.parse_args()
    rows = []
    with open(args.results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 5:
                rows.append(parts)
    params = dict(p.split("=", 1) for p in args.params.split() if "=" in p)
    cached, table, raw, goals, n_rounds = build(rows, params)
    head = ["Measured %s on %s (shared with other work, so noisy); sipeer %s, NSD %s. Calls: "
            "medians of %d round(s), static route and uncached ENUM alternating (A B A B), "
            "sipeer started afresh for each run. Parameters: `%s`."
            % (datetime.date.today().isoformat(), args.machine, args.sipeer, args.nsd, n_rounds,
               args.params)]
    out = head + [""] + cached + [""] + table + [""] + goals
    print("\n".join(out))
    if args.doc:
        section = [BEGIN,
                   "<!-- generated by bench/dns_call.sh (bench/dns_report.py); edit outside the markers -->",
                   "", "### Results of the last DNS run", ""] + out + [
                   "", "Every round:", ""] + raw + ["", END]
        write_section(args.doc, BEGIN, END, section)


if __name__ == "__main__":
    sys.exit(main())
