#!/usr/bin/env python3
"""dnsq.py: a tiny DNS query tool for the integration tests (python3 standard library only;
the machines have no dig or kdig).

  dnsq.py [--server ADDR:PORT] [--timeout S] [--wait S] [--tcp] NAME [TYPE]
      Sends one query for NAME (TYPE: A, AAAA, NAPTR, SRV, SOA, NS, CNAME, TXT or a number;
      default A) and prints the answer:
        rcode NOERROR aa            (the response code, then "aa" when authoritative, "tc"
                                     when truncated)
        NAME TTL TYPE RDATA         (one line per answer record, in master-file form)
        authority: NAME TTL SOA ... (the SOA of a negative answer)
      NAME may also be an E.164 number with its ENUM suffix, "+4721000001@e164.arpa", which
      is turned into 1.0.0.0.0.0.1.2.7.4.e164.arpa. Exit status 0 when a response came
      (whatever its rcode), 1 when none came within --timeout (with --wait: the query is
      repeated until a response comes or S seconds have passed), 2 on bad arguments or a
      malformed response.
  dnsq.py [--server ADDR:PORT] [--timeout S] [--tcp] --batch
      Reads "NAME TYPE" lines from standard input and asks each in turn (one process, for
      speed); each answer is printed after a line "; NAME TYPE". Exit status 0 when every
      query got a response.
"""
import argparse, random, socket, struct, sys, time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "TXT": 16, "AAAA": 28, "SRV": 33,
         "NAPTR": 35, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def enum_name(name):
    """+4721000001@e164.arpa -> 1.0.0.0.0.0.1.2.7.4.e164.arpa"""
    number, _, suffix = name.partition("@")
    digits = number[1:]
    if not digits.isdigit():
        raise ValueError("not an E.164 number: %r" % number)
    return ".".join(reversed(digits)) + "." + suffix


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError("label too long: %r" % label)
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def build_query(qid, name, qtype):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", qtype, 1)


class Malformed(Exception):
    pass


def read_name(msg, off):
    """(text name, offset after the name in place); follows compression pointers."""
    labels, jumps, end = [], 0, None
    while True:
        if off >= len(msg):
            raise Malformed("name runs past the end")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise Malformed("truncated pointer")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumps += 1
            if jumps > 128:
                raise Malformed("pointer loop")
            continue
        if n & 0xC0:
            raise Malformed("bad label type")
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "backslashreplace"))
        off += n
    return (".".join(labels) + ".") if labels else ".", (end if end is not None else off)


def char_string(msg, off):
    n = msg[off]
    raw = msg[off + 1:off + 1 + n]
    if len(raw) != n:
        raise Malformed("truncated character-string")
    s = raw.decode("latin-1").replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % s, off + 1 + n


def rdata_text(msg, rtype, off, rdlen):
    end = off + rdlen
    if rtype == 1:
        if rdlen != 4:
            raise Malformed("A of %d bytes" % rdlen)
        return socket.inet_ntop(socket.AF_INET, msg[off:end])
    if rtype == 28:
        if rdlen != 16:
            raise Malformed("AAAA of %d bytes" % rdlen)
        return socket.inet_ntop(socket.AF_INET6, msg[off:end])
    if rtype in (2, 5):
        return read_name(msg, off)[0]
    if rtype == 6:
        mname, o = read_name(msg, off)
        rname, o = read_name(msg, o)
        serial, refresh, retry, expire, minimum = struct.unpack("!IIIII", msg[o:o + 20])
        return "%s %s %d %d %d %d %d" % (mname, rname, serial, refresh, retry, expire, minimum)
    if rtype == 33:
        prio, weight, port = struct.unpack("!HHH", msg[off:off + 6])
        return "%d %d %d %s" % (prio, weight, port, read_name(msg, off + 6)[0])
    if rtype == 35:
        order, pref = struct.unpack("!HH", msg[off:off + 4])
        o = off + 4
        flags, o = char_string(msg, o)
        services, o = char_string(msg, o)
        regexp, o = char_string(msg, o)
        repl, o = read_name(msg, o)
        if o != end:
            raise Malformed("NAPTR RDATA length")
        return "%d %d %s %s %s %s" % (order, pref, flags, services, regexp, repl)
    if rtype == 16:
        parts, o = [], off
        while o < end:
            s, o = char_string(msg, o)
            parts.append(s)
        return " ".join(parts)
    return "\\# %d %s" % (rdlen, msg[off:end].hex())


def parse(msg, qid):
    if len(msg) < 12:
        raise Malformed("short response")
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    if rid != qid or not flags & 0x8000:
        raise Malformed("not the response to this query")
    off = 12
    for _ in range(qd):
        _, off = read_name(msg, off)
        off += 4
    head = "rcode " + RCODES.get(flags & 0xF, str(flags & 0xF))
    if flags & 0x0400:
        head += " aa"
    if flags & 0x0200:
        head += " tc"
    lines = [head]
    for section, count in (("", an), ("authority: ", ns)):
        for _ in range(count):
            name, off = read_name(msg, off)
            if off + 10 > len(msg):
                raise Malformed("truncated record")
            rtype, _, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            if off + rdlen > len(msg):
                raise Malformed("truncated RDATA")
            if not section or rtype == 6:
                lines.append("%s%s %d %s %s" % (section, name, ttl,
                             TYPE_NAMES.get(rtype, "TYPE%d" % rtype),
                             rdata_text(msg, rtype, off, rdlen)))
            off += rdlen
    return lines


def ask(server, port, query, qid, timeout, tcp):
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    if tcp:
        with socket.create_connection((server, port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(query)) + query)
            buf = b""
            deadline = time.monotonic() + timeout
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = s.recv(65535)
                if not chunk:
                    raise socket.timeout("connection closed")
                buf += chunk
            return buf[2:2 + struct.unpack("!H", buf[:2])[0]]
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, (server, port))
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            data, _ = s.recvfrom(65535)
            if len(data) >= 2 and struct.unpack("!H", data[:2])[0] == qid:
                return data


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default="127.0.0.30:5353")
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--wait", type=float, default=0.0)
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--batch", action="store_true")
    p.add_argument("name", nargs="?")
    p.add_argument("type", nargs="?", default="A")
    a = p.parse_args()
    server, _, port = a.server.rpartition(":")
    server = server.strip("[]")
    if a.batch:
        rc = 0
        for line in sys.stdin:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            print("; %s" % " ".join(words[:2]), flush=True)
            rc = max(rc, query(server, int(port), words[0], words[1] if len(words) > 1 else "A", a))
        return rc
    if not a.name:
        p.error("NAME is required")
    return query(server, int(port), a.name, a.type, a)


def query(server, port, qname, qtypename, a):
    try:
        qtype = int(qtypename) if qtypename.isdigit() else TYPES[qtypename.upper()]
        name = enum_name(qname) if qname.startswith("+") else qname
        qid = random.randrange(1 << 16)
        msg = build_query(qid, name, qtype)
    except (KeyError, ValueError) as e:
        print("dnsq: bad query %s %s: %s" % (qname, qtypename, e), file=sys.stderr)
        return 2
    give_up = time.monotonic() + a.wait
    while True:
        try:
            data = ask(server, port, msg, qid, a.timeout, a.tcp)
            break
        except (socket.timeout, ConnectionError, OSError) as e:
            if time.monotonic() >= give_up:
                print("no answer from %s (%s)" % (a.server, e or "timeout"))
                return 1
            time.sleep(0.1)
    try:
        print("\n".join(parse(data, qid)))
    except (Malformed, struct.error, IndexError) as e:
        print("dnsq: malformed response: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
