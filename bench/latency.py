#!/usr/bin/env python3
"""latency.py: INVITE-to-100 and INVITE-to-200 times from SIPp -trace_shortmsg logs.

Usage: bench/latency.py UAC_SHORTMSG_LOG...
Prints one line: p50 p99 p99.9 of INVITE to 100 Trying, then p50 p99 p99.9 of INVITE to
200 OK, in microseconds, then the number of calls with both samples.

Each log line is tab-separated: date, time, epoch seconds (to the microsecond), S(ent) or
R(eceived), Call-ID, CSeq, start line. Per call the first INVITE sent starts both clocks
(a retransmission does not restart them), the first 100 and the first 200 to the INVITE stop
them. Percentiles are nearest-rank.
"""
import math
import sys


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def main(paths):
    sent = {}
    t100 = {}
    t200 = {}
    for path in paths:
        with open(path, encoding="latin-1") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 7 or parts[5] != "CSeq:1 INVITE":
                    continue
                when, way, call, start = float(parts[2]), parts[3], parts[4], parts[6]
                if way == "S":
                    if start.startswith("INVITE ") and call not in sent:
                        sent[call] = when
                elif start.startswith("SIP/2.0 100 "):
                    t100.setdefault(call, when)
                elif start.startswith("SIP/2.0 200 "):
                    t200.setdefault(call, when)
    a, b = [], []
    for call, t0 in sent.items():
        if call in t100 and call in t200:
            a.append((t100[call] - t0) * 1e6)
            b.append((t200[call] - t0) * 1e6)
    a.sort()
    b.sort()
    figures = [percentile(v, p) for v in (a, b) for p in (50, 99, 99.9)]
    print(" ".join("%.0f" % x for x in figures), len(a))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
