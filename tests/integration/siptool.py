#!/usr/bin/env python3
"""siptool.py: a small SIP client and TLS capture server for the integration tests, with an
explicit source address (so that several "providers" can live on 127.0.0.x).

  siptool.py send [options] PROTO HOST:PORT METHOD REQUEST-URI
      PROTO is udp, tcp or tls. Sends one request from --bind ADDRESS (any port) and prints
      the status line of the final answer, or "no answer" (nothing within --timeout), or
      "closed" (the connection was closed first), or "refused: REASON" (no connection, TLS
      handshake failed). Exit status 0 when a final answer came, 1 otherwise.
      --cert PEM --key KEY: TLS client certificate; --ca PEM: verify the server against it
      (--sni NAME: and its name); --from URI; --header "Name: value" (repeatable).
  siptool.py batch --dir DIR FILE
      Several sends at once (one process, one thread each): each line of FILE is NAME and
      the arguments of send; the result line goes to DIR/NAME.probe.
  siptool.py capture [options] HOST:PORT
      A TLS server that requires a client certificate chaining to --ca. It answers OPTIONS
      200, ignores ACK and answers the first other request with --status, writing it to
      --out preceded by "#source: ADDR:PORT" and "#client-san: NAME..." lines. Exits
      --linger seconds after that, or after --timeout seconds in all.
"""
import argparse, random, select, socket, ssl, sys, threading, time


def build(method, ruri, proto, laddr, lport, frm, headers):
    n = random.randrange(1 << 30)
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/%s %s:%d;branch=z9hG4bKst%d;rport" % (proto.upper(), laddr, lport, n),
        "From: <%s>;tag=st%d" % (frm, n),
        "To: <%s>" % ruri,
        "Call-ID: siptool-%d" % n,
        "CSeq: 1 %s" % method,
        "Max-Forwards: 70",
    ]
    lines += headers
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def status_of(data):
    first = data.split(b"\r\n", 1)[0].decode("latin-1")
    if not first.startswith("SIP/2.0 "):
        return None, first
    try:
        return int(first.split(" ", 2)[1]), first
    except ValueError:
        return None, first


def read_message(sock, buf, deadline):
    """One SIP message from a stream (header + Content-Length body). Returns (msg, rest);
    msg None on timeout, b"" when the peer closed."""
    while True:
        buf = buf.lstrip(b"\r\n")  # keep-alive CRLFs between messages
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode("latin-1")
            clen = 0
            for line in head.split("\r\n")[1:]:
                name, _, val = line.partition(":")
                if name.strip().lower() in ("content-length", "l"):
                    clen = int(val.strip() or "0")
            total = head_end + 4 + clen
            if len(buf) >= total:
                return buf[:total], buf[total:]
        left = deadline - time.time()
        if left <= 0:
            return None, buf
        if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                return None, buf
        chunk = sock.recv(65536)
        if not chunk:
            return b"", buf
        buf += chunk


def send(a):
    """One request; returns the result line (see the module doc)."""
    host, port = a.dest.rsplit(":", 1)
    port = int(port)
    frm = a.frm or "sip:tester@%s" % a.bind
    deadline = time.time() + a.timeout
    if a.proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.bind, 0))
        msg = build(a.method, a.ruri, "udp", a.bind, s.getsockname()[1], frm, a.header)
        interval = 0.5
        while time.time() < deadline:
            s.sendto(msg, (host, port))
            until = min(deadline, time.time() + interval)
            while True:
                left = until - time.time()
                if left <= 0:
                    break
                r, _, _ = select.select([s], [], [], left)
                if not r:
                    break
                data = s.recv(65535)
                code, first = status_of(data)
                if code is not None and code >= 200:
                    return first
            interval = min(interval * 2, 4)
        return "no answer"
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((a.bind, 0))
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        s.connect((host, port))
    except OSError as e:
        return "refused: connect: %s" % e
    lport = s.getsockname()[1]
    if a.proto == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if a.ca:
            ctx.load_verify_locations(a.ca)
            ctx.check_hostname = bool(a.sni)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if a.cert:
            ctx.load_cert_chain(a.cert, a.key)
        try:
            s = ctx.wrap_socket(s, server_hostname=a.sni or None)
        except (ssl.SSLError, OSError) as e:
            return "refused: tls: %s" % e
    msg = build(a.method, a.ruri, a.proto, a.bind, lport, frm, a.header)
    buf = b""
    try:
        s.sendall(msg)
        while True:
            m, buf = read_message(s, buf, deadline)
            if m is None:
                return "no answer"
            if m == b"":
                return "closed"
            code, first = status_of(m)
            if code is not None and code >= 200:
                return first
    except ssl.SSLError as e:  # TLS 1.3: the server's verdict on our certificate comes late
        return "refused: tls: %s" % e
    except OSError as e:
        return "closed: %s" % e


def cmd_send(a):
    line = send(a)
    print(line)
    return 0 if line.startswith("SIP/2.0 ") else 1


def cmd_batch(a, parser):
    """Several sends at once, one per line of a.file: NAME ARGUMENTS-OF-SEND (shell words);
    writes each result line to DIR/NAME.probe (DIR: --dir)."""
    import shlex
    jobs = []
    for line in open(a.file):
        words = shlex.split(line)
        if not words:
            continue
        sa = parser.parse_args(["send"] + words[1:])
        t = threading.Thread(target=lambda n=words[0], sa=sa: open(
            "%s/%s.probe" % (a.dir, n), "w").write(send(sa) + "\n"))
        t.start()
        jobs.append(t)
    for t in jobs:
        t.join()
    return 0


def reply(req, status, reason):
    head = req.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    keep = []
    for line in head[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            keep.append(line)
        elif name in ("to", "t"):
            keep.append(line if ";tag=" in line or status == 100 else line + ";tag=cap1")
    return ("SIP/2.0 %d %s\r\n%s\r\nContent-Length: 0\r\n\r\n"
            % (status, reason, "\r\n".join(keep))).encode()


def cmd_capture(a):
    host, port = a.listen.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(a.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(8)
    print("listening", flush=True)
    end = [time.time() + a.timeout]
    done = threading.Event()

    def serve(conn, peer):
        try:
            tconn = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with open(a.out + ".err", "a") as f:
                f.write("handshake from %s:%d failed: %s\n" % (peer[0], peer[1], e))
            conn.close()
            return
        cert = tconn.getpeercert() or {}
        sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
        buf = b""
        while time.time() < end[0]:
            try:
                m, buf = read_message(tconn, buf, min(end[0], time.time() + 0.5))
            except (ssl.SSLError, OSError):
                break
            if m == b"":
                break
            if m is None:
                continue
            code, first = status_of(m)
            if code is not None:
                continue
            method = first.split(" ", 1)[0]
            if method == "ACK":
                continue
            if method == "OPTIONS":
                tconn.sendall(reply(m, 200, "OK"))
                continue
            if done.is_set():
                tconn.sendall(reply(m, 503, "Service Unavailable"))
                continue
            with open(a.out, "wb") as f:
                f.write(("#source: %s:%d\n#client-san: %s\n" % (peer[0], peer[1], " ".join(sans))).encode())
                f.write(m)
            tconn.sendall(reply(m, a.status, "Captured"))
            done.set()
            end[0] = min(end[0], time.time() + a.linger)
        tconn.close()

    ls.settimeout(0.2)
    while time.time() < end[0]:
        try:
            conn, peer = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
    ls.close()
    time.sleep(0.3)
    return 0 if done.is_set() else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument("--timeout", type=float, default=3.0)
    s.add_argument("--cert"); s.add_argument("--key"); s.add_argument("--ca"); s.add_argument("--sni")
    s.add_argument("--from", dest="frm")
    s.add_argument("--header", action="append", default=[])
    s.add_argument("proto", choices=["udp", "tcp", "tls"])
    s.add_argument("dest"); s.add_argument("method"); s.add_argument("ruri")
    b = sub.add_parser("batch")
    b.add_argument("--dir", required=True)
    b.add_argument("file")
    c = sub.add_parser("capture")
    c.add_argument("--cert", required=True); c.add_argument("--key", required=True)
    c.add_argument("--ca", required=True); c.add_argument("--out", required=True)
    c.add_argument("--status", type=int, default=486)
    c.add_argument("--timeout", type=float, default=20.0)
    c.add_argument("--linger", type=float, default=1.0)
    c.add_argument("listen")
    a = p.parse_args()
    rc = (cmd_send(a) if a.cmd == "send" else cmd_batch(a, p) if a.cmd == "batch"
          else cmd_capture(a))
    sys.exit(rc)


if __name__ == "__main__":
    main()
