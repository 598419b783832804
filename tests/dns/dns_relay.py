#!/usr/bin/env python3
"""A UDP DNS relay for the DNS tests, on loopback only.

It forwards each query to an upstream server and relays the answer, after an optional delay;
it can drop a share of the queries, or all of them (a black hole). Every query received is
logged as one line "<unix time> <qname>" so that tests can count what reached the server.

    dns_relay.py --listen 127.0.0.1:5301 --upstream 127.0.0.1:5300 [--delay-ms 100]
                 [--drop-rate 0.1] [--blackhole] --log FILE --pidfile FILE
"""
import argparse
import os
import random
import socket
import sys
import threading
import time


def qname(packet):
    """The question name of a DNS query, lowercased, or '?' when it cannot be read."""
    labels, i = [], 12
    try:
        while packet[i] != 0:
            n = packet[i]
            if n & 0xC0:
                return "?"
            labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
    except IndexError:
        return "?"
    return ".".join(labels).lower()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--drop-rate", type=float, default=0.0)
    ap.add_argument("--blackhole", action="store_true")
    ap.add_argument("--log", required=True)
    ap.add_argument("--pidfile", required=True)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    up_host, up_port = a.upstream.rsplit(":", 1)
    for h in (host, up_host):
        if not h.startswith("127."):
            sys.exit("dns_relay: loopback addresses only")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, int(port)))
    log = open(a.log, "a", buffering=1)
    lock = threading.Lock()
    with open(a.pidfile, "w") as f:
        f.write("%d\n" % os.getpid())

    def relay(data, client):
        if a.delay_ms:
            time.sleep(a.delay_ms / 1000.0)
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(3)
        try:
            up.sendto(data, (up_host, int(up_port)))
            answer, _ = up.recvfrom(65535)
            sock.sendto(answer, client)
        except OSError:
            pass  # upstream down or silent: the client sees a timeout
        finally:
            up.close()

    while True:
        data, client = sock.recvfrom(65535)
        with lock:
            log.write("%.3f %s\n" % (time.time(), qname(data)))
        if a.blackhole or (a.drop_rate and random.random() < a.drop_rate):
            continue
        threading.Thread(target=relay, args=(data, client), daemon=True).start()


if __name__ == "__main__":
    main()
