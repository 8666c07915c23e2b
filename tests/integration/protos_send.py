#!/usr/bin/env python3
"""protos_send.py: sends the 4,527 PROTOS c07-sip cases to a running sipeer over UDP (each
INVITE then its teardown), with an OPTIONS liveness check after each group; prints one line
per group and exits 1 when the daemon stops answering."""
import os, socket, sys, time

data, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
src_ip, src_port = "127.0.0.1", int(sys.argv[4]) if len(sys.argv) > 4 else 5098
cases_dir = os.path.join(data, "cases")

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((src_ip, src_port))
sock.settimeout(0)

def fill(pdu, n):
    subst = {b"<To>": b"sipeer@127.0.0.1", b"<From>": b"protos@127.0.0.1",
             b"<From-Address>": src_ip.encode(), b"<From-IP>": src_ip.encode(),
             b"<Local-Port>": str(src_port).encode(), b"<Branch-ID>": b"z9hG4bK%d" % n,
             b"<Call-ID>": b"protos-%d" % n, b"<CSeq>": b"1", b"<Teardown-Method>": b"CANCEL"}
    for k, v in subst.items():
        pdu = pdu.replace(k, v)
    if b"<Content-Length>" in pdu:
        i = pdu.find(b"\r\n\r\n")
        body = len(pdu) - (i + 4) if i >= 0 else 0
        pdu = pdu.replace(b"<Content-Length>", str(body).encode())
    return pdu

def pdus(raw):
    out, i = [], 0
    while i < len(raw):
        sp = raw.index(b" ", i)
        n = int(raw[i:sp]); out.append(raw[sp + 1:sp + 1 + n]); i = sp + 1 + n
    return out

def drain():
    got = 0
    while True:
        try:
            sock.recv(65535); got += 1
        except (BlockingIOError, socket.timeout):
            return got

def alive(seq):
    cid = "liveness-%d" % seq
    msg = ("OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKlive%d\r\n"
           "From: <sip:protos@%s>;tag=l%d\r\nTo: <sip:%s:%d>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (host, port, src_ip, src_port, seq,
           src_ip, seq, host, port, cid)).encode()
    deadline = time.time() + 10
    sock.sendto(msg, (host, port))
    next_send = time.time() + 0.5
    while time.time() < deadline:
        try:
            r = sock.recv(65535)
            if cid.encode() in r and r.startswith(b"SIP/2.0 200"):
                return True
        except (BlockingIOError, socket.timeout):
            time.sleep(0.01)
            if time.time() > next_send:
                sock.sendto(msg, (host, port)); next_send = time.time() + 0.5
    return False

groups = []
with open(os.path.join(data, "groups.tsv")) as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        name, first, count = line.split("\t")
        groups.append((name, int(first), int(count)))

sent = answered = 0
for gi, (name, first, count) in enumerate(groups):
    for n in range(first, first + count):
        path = os.path.join(cases_dir, "%07d" % n)
        with open(path, "rb") as f:
            raw = f.read()
        for pdu in pdus(raw):
            # A few cases exceed what one IPv4 datagram carries: send what fits.
            sock.sendto(fill(pdu, n)[:65507], (host, port)); sent += 1
        if n % 16 == 0:
            answered += drain()
            time.sleep(0.002)
    answered += drain()
    ok = alive(gi)
    print("group %-28s cases %4d  liveness %s" % (name, count, "ok" if ok else "NO ANSWER"), flush=True)
    if not ok:
        sys.exit(1)
print("sent %d datagrams, %d answers received" % (sent, answered))
