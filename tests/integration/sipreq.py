#!/usr/bin/env python3
"""sipreq.py: sends one SIP request over UDP to a node and prints the status and reason of
the final answer; exits 0 when the status is the expected one. Usage:
  sipreq.py HOST:PORT METHOD REQUEST-URI EXPECTED-STATUS [HEADER-LINE...]
A header line "Max-Forwards: N" replaces the default one; "CSeq: ..." too."""
import socket, sys, time, random

dest, method, ruri, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
extra = sys.argv[5:]
lport = 5998
host, port = dest.rsplit(":", 1)
v6 = host.startswith("[")
host = host.strip("[]")
local = "::1" if v6 else "127.0.0.1"
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((local, lport))
s.settimeout(0.5)
n = random.randrange(1 << 30)
hdrs = {"Max-Forwards": "70", "CSeq": "1 %s" % method}
lines = []
for h in extra:
    name = h.split(":", 1)[0]
    if name in hdrs:
        hdrs[name] = h.split(":", 1)[1].strip()
    else:
        lines.append(h)
via_host = "[::1]" if v6 else "127.0.0.1"
msg = ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKreq%d\r\n"
       "From: <sip:tester@127.0.0.1>;tag=t%d\r\nTo: <%s>\r\nCall-ID: req%d@127.0.0.1\r\n"
       "CSeq: %s\r\nMax-Forwards: %s\r\n%sContent-Length: 0\r\n\r\n"
       % (method, ruri, via_host, lport, n, n, ruri, n, hdrs["CSeq"], hdrs["Max-Forwards"],
          "".join(l + "\r\n" for l in lines))).encode()
deadline = time.time() + 5
while time.time() < deadline:
    s.sendto(msg, (host, int(port)))
    try:
        while True:
            data = s.recv(65535)
            first = data.split(b"\r\n", 1)[0].decode("latin-1")
            code = int(first.split(" ", 2)[1])
            if code >= 200:
                print(first)
                sys.exit(0 if code == want else 1)
    except socket.timeout:
        continue
print("no answer")
sys.exit(1)
