"""A milter protocol client (the MTA's side) for the shell rigs: one connection, any client
address in the connect step, each step sent as the negotiated flags allow.

    import milter_client as mc
    c = mc.connection("unix:/tmp/x/m.sock")     # or "inet:PORT@127.0.0.1"
    flags = c.negotiate(0x1fffff)               # the protocol flags the milter chose
    r = c.message("198.51.100.7", ["<bob@example.org>"], fields, b"Hello.\\r\\n")
    # r.early: replies before the end of the message; r.end: those after it ("i(NAME)", "a", ...)

As a program: milter_client.py SOCKET CLIENT_IP MESSAGE_FILE [RCPT...] sends one message and
prints "end=REPLIES", then each inserted field as "insert NAME: VALUE" (folds kept as \\n), then
"ms=MILLISECONDS" (connect to final reply). milter_client.py --batch reads one message a line,
"SOCKET CLIENT_IP MESSAGE_FILE QUEUE_ID [RCPT...]" (no RCPT: <bob@example.org>), sends them in order (one connection each) and
prints one line each: "QUEUE_ID end=REPLIES ms=MILLISECONDS ar=AUTHENTICATION_RESULTS" (the
field added, on one line; "-" for none).
"""
import socket
import struct
import sys
import time

# SMFIP_* flags of the steps (no-step, no-reply) the client checks.
STEPS = {"C": (0x1, 0x1000), "H": (0x2, 0x2000), "M": (0x4, 0x4000), "R": (0x8, 0x8000),
         "T": (0x200, 0x10000), "L": (0x20, 0x80), "N": (0x40, 0x40000), "B": (0x10, 0x80000)}
HDR_LEADSPC = 0x100000


def z(text):
    return (text if isinstance(text, bytes) else text.encode()) + b"\0"


class result:
    def __init__(self):
        self.early, self.end, self.inserted = [], [], []


class connection:
    def __init__(self, spec, timeout=10):
        if spec.startswith("unix:"):
            self.s = socket.socket(socket.AF_UNIX)
            self.s.settimeout(timeout)
            self.s.connect(spec[5:])
        else:
            port, host = spec[5:].split("@")
            self.s = socket.create_connection((host, int(port)), timeout=timeout)
        self.timeout = timeout
        self.flags = 0

    def cmd(self, c, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + c + data)

    def reply(self, timeout=None):
        """One reply (its bytes), or None on a timeout or a closed connection."""
        self.s.settimeout(self.timeout if timeout is None else timeout)
        try:
            head = b""
            while len(head) < 4:
                chunk = self.s.recv(4 - len(head))
                if not chunk:
                    return None
                head += chunk
            n = struct.unpack(">I", head)[0]
            body = b""
            while len(body) < n:
                chunk = self.s.recv(n - len(body))
                if not chunk:
                    return None
                body += chunk
            return body
        except socket.timeout:
            return None

    def negotiate(self, offer=0x1fffff, actions=0x1ff):
        self.cmd(b"O", struct.pack(">III", 6, actions, offer))
        o = self.reply()
        self.flags = struct.unpack(">I", o[9:13])[0]
        return self.flags

    def step(self, r, c, data):
        """Sends step `c` unless the milter left it out; collects its reply when it has one."""
        no_flag, nr_flag = STEPS[c.decode()]
        if self.flags & no_flag:
            return
        self.cmd(c, data)
        if not self.flags & nr_flag:
            rep = self.reply()
            r.early.append(rep[:1].decode() if rep else "none")

    def message(self, ip, rcpts, fields, body, queue_id="QID1", helo="client.example",
                mail_from="<alice@example.com>", check_stray=False):
        """One SMTP session's message: connect (from `ip`), HELO, MAIL, RCPT..., header fields
        ((name, value) pairs, value after the colon with its leading space), body; then the end
        of the message and its replies. `check_stray`: with MAIL negotiated without reply, wait
        0.5 s before the end for a reply that must not come (noted as "stray:C" in early)."""
        r = result()
        family = b"6" if ":" in ip else b"4"
        self.cmd(b"D", b"C" + z("j") + z("mx.example.net"))
        self.step(r, b"C", z(helo) + family + struct.pack(">H", 25) + z(ip))
        if r.early and r.early[-1] == "a":  # accepted at connect: nothing more is sent
            return r
        self.step(r, b"H", z(helo))
        self.cmd(b"D", b"M" + z("i") + z(queue_id))
        self.step(r, b"M", z(mail_from))
        for rcpt in rcpts:
            self.step(r, b"R", z(rcpt))
        self.step(r, b"T", b"")
        for n, v in fields:
            self.step(r, b"L", z(n) + z(v if self.flags & HDR_LEADSPC else v.lstrip()))
        self.step(r, b"N", b"")
        for off in range(0, max(len(body), 1), 65535):
            self.step(r, b"B", body[off:off + 65535])
        if check_stray and self.flags & STEPS["M"][1]:
            stray = self.reply(0.5)
            if stray:
                r.early.append("stray:" + stray[:1].decode())
        self.cmd(b"E")
        while True:
            rep = self.reply()
            if rep is None:
                r.end.append("none")
                break
            c = rep[:1].decode()
            if c == "i":
                name, value = rep[5:].split(b"\0")[:2]
                r.inserted.append((name.decode(), value.decode(errors="replace")))
                r.end.append("i(" + name.decode() + ")")
            elif c == "y":
                r.end.append("y(" + rep[1:].split(b"\0")[0].decode() + ")")
            else:
                r.end.append(c)
            if c in "catryd":
                break
        return r

    def close(self):
        try:
            self.cmd(b"Q")
        except OSError:
            pass  # the milter may have closed first
        self.s.close()


def parse_fields(data):
    """The header fields of a CRLF message as (name, value) pairs and its body."""
    head, _, body = data.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += "\n" + line.decode()
        else:
            n, _, v = line.decode().partition(":")
            fields.append([n, v])
    return [(n, v) for n, v in fields], body


def batch(lines):
    for line in lines:
        words = line.split()
        if not words:
            continue
        spec, ip, path, qid = words[:4]
        rcpts = words[4:] or ["<bob@example.org>"]  # libmilter wants one before the header
        fields, body = parse_fields(open(path, "rb").read())
        start = time.monotonic()
        c = connection(spec)
        c.negotiate()
        r = c.message(ip, rcpts, fields, body, queue_id=qid)
        ms = (time.monotonic() - start) * 1000
        c.close()
        ar = [v for n, v in r.inserted if n == "Authentication-Results"]
        print("%s end=%s ms=%d ar=%s" % (qid, ",".join(r.end), ms,
                                         ar[0].replace("\n", " ").replace("\t", "") if ar else "-"),
              flush=True)


def main(argv):
    if argv[1:2] == ["--batch"]:
        return batch(sys.stdin)
    spec, ip, path = argv[1], argv[2], argv[3]
    fields, body = parse_fields(open(path, "rb").read())
    start = time.monotonic()
    c = connection(spec)
    c.negotiate()
    r = c.message(ip, argv[4:], fields, body)
    ms = (time.monotonic() - start) * 1000
    c.close()
    print("end=" + ",".join(r.end))
    for n, v in r.inserted:
        print("insert %s:%s" % (n, v.replace("\n", "\\n")))
    print("ms=%d" % ms)


if __name__ == "__main__":
    main(sys.argv)
