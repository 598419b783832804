#!/usr/bin/python3
"""Small helpers for the milter end-to-end test (tests/e2e/milter_e2e.sh) and the milter load
figures (bench/milter/load.sh). Run with Debian's /usr/bin/python3 (python3-dkim).

    e2e_mail.py free-port                     a TCP (and UDP) port free on 127.0.0.1
    e2e_mail.py wait-port PORT SECONDS [PID]  exit 0 once 127.0.0.1:PORT accepts connections
                                              (1 on timeout, 2 as soon as PID has exited)
    e2e_mail.py strip-sink IN OUT             an smtp-sink capture file -> the message as
                                              delivered (its X-* lines and its own Received
                                              field removed), with CRLF line endings
    e2e_mail.py fields FILE NAME              each header field NAME of FILE, unfolded, one a line
    e2e_mail.py dkimpy ZONE FILE              verify every DKIM-Signature of FILE with dkimpy,
                                              keys from the TXT records of zone file ZONE; prints
                                              one line per signature, exit 0 only if all pass
"""
import os
import re
import socket
import sys
import time


def free_port():
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            print(port)
            return 0
        except OSError:
            pass
        finally:
            t.close()
            u.close()
    return 1


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_port(port, seconds, pid=None):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        if pid is not None and not alive(pid):
            return 2
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", int(port)))
            return 0
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    return 1


def header_and_body(data):
    """Splits a message (any line endings) into its header lines and its body (bytes)."""
    lines = data.split(b"\n")
    header = []
    for i, line in enumerate(lines):
        line = line.rstrip(b"\r")
        if line == b"":
            return header, b"\n".join(lines[i + 1:])
        header.append(line)
    return header, b""


def unfold(header_lines):
    """Header lines -> list of (name, value) with continuation lines joined."""
    out = []
    for line in header_lines:
        if line[:1] in (b" ", b"\t") and out:
            out[-1][1] += b" " + line.strip()
        elif b":" in line:
            name, value = line.split(b":", 1)
            out.append([name, value.strip()])
    return out


def strip_sink(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and lines[i].startswith(b"X-"):
        i += 1
    if i < len(lines) and lines[i].lower().startswith(b"received:"):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    message = b"\n".join(lines[i:])
    message = re.sub(rb"\r?\n", b"\r\n", message)
    with open(dst, "wb") as f:
        f.write(message)
    return 0


def fields(path, name):
    with open(path, "rb") as f:
        header, _ = header_and_body(f.read())
    for n, v in unfold(header):
        if n.strip().lower() == name.lower().encode():
            print("%s: %s" % (n.decode("ascii", "replace"), v.decode("utf-8", "replace")))
    return 0


def zone_records(path):
    """owner name (lower case, trailing dot) -> TXT value, for single-line TXT records."""
    records = {}
    with open(path, "rb") as f:
        for line in f:
            m = re.match(rb"^(\S+)\s+(?:\d+\s+)?IN\s+TXT\s+(.*)$", line)
            if m:
                owner = m.group(1).lower()
                if not owner.endswith(b"."):
                    continue
                records[owner] = b"".join(re.findall(rb'"([^"]*)"', m.group(2)))
    return records


def dkimpy(zone, path):
    import dkim  # Debian's python3-dkim
    records = zone_records(zone)

    def dnsfunc(name, timeout=5):
        return records.get(name.lower().rstrip(b".") + b".")

    with open(path, "rb") as f:
        message = f.read()
    count = sum(1 for n, _ in dkim.rfc822_parse(message)[0] if n.lower() == b"dkim-signature")
    if count == 0:
        print("no DKIM-Signature")
        return 1
    ok_all = True
    for idx in range(count):
        try:
            ok = dkim.DKIM(message).verify(idx=idx, dnsfunc=dnsfunc)
            print("signature %d: %s" % (idx, "pass" if ok else "fail"))
        except dkim.DKIMException as e:
            ok = False
            print("signature %d: exception %s" % (idx, e))
        ok_all = ok_all and ok
    return 0 if ok_all else 1


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "free-port":
        return free_port()
    if cmd == "wait-port":
        return wait_port(args[0], args[1], int(args[2]) if len(args) > 2 else None)
    if cmd == "strip-sink":
        return strip_sink(args[0], args[1])
    if cmd == "fields":
        return fields(args[0], args[1])
    if cmd == "dkimpy":
        return dkimpy(args[0], args[1])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
