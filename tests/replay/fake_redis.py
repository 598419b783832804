#!/usr/bin/python3
"""A hostile Redis for tests/replay/redis_replay_test.cpp: fake_redis.py MODE PORT, on 127.0.0.1.

int: every command gets the integer 42. huge: every command gets the start of a 1 GB bulk string,
then 64 KiB chunks, never the end. hugearray: an array said to have 2 000 000 000 elements.
silent: reads, never answers. close: closes each connection once a command arrives. badscript:
SET -> +OK, GET -> a 64-digit key, anything else -> an array of two integers (the wrong shape
for the replay script). nested: an array of 1100 arrays of 1000 integers (1.1 million elements
in small arrays). stale: SET -> +OK, GET -> a 64-digit key, the script -> the counts of one
signature, except that the first connection to send the script answers it after 0.8 s by
closing, and the next three (enough failures in a row to mark the store down) close at once."""
import socket
import sys
import threading
import time

mode, port = sys.argv[1], int(sys.argv[2])


def commands(buf):
    """Complete RESP commands at the start of buf: (list of [name, ...], bytes used)."""
    out, pos = [], 0
    while True:
        if not buf.startswith(b"*", pos):
            return out, pos
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return out, pos
        n, p, args = int(buf[pos + 1:end]), end + 2, []
        for _ in range(n):
            end = buf.find(b"\r\n", p)
            if end < 0 or not buf.startswith(b"$", p):
                return out, pos
            size = int(buf[p + 1:end])
            if len(buf) < end + 2 + size + 2:
                return out, pos
            args.append(buf[end + 2:end + 2 + size])
            p = end + 2 + size + 2
        out.append(args)
        pos = p


scripted = [0]  # connections that sent the script so far
lock = threading.Lock()


def serve(conn):
    buf, index = b"", None
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            cmds, used = commands(buf)
            buf = buf[used:]
            for c in cmds:
                name = c[0].upper()
                if mode == "int":
                    conn.sendall(b":42\r\n")
                elif mode == "hugearray":
                    conn.sendall(b"*2000000000\r\n")
                elif mode == "nested":
                    inner = b"*1000\r\n" + b":1\r\n" * 1000
                    conn.sendall(b"*1100\r\n" + inner * 1100)
                elif mode == "stale":
                    if name == b"SET":
                        conn.sendall(b"+OK\r\n")
                        continue
                    if name == b"GET":
                        conn.sendall(b"$64\r\n" + b"ab" * 32 + b"\r\n")
                        continue
                    if index is None:
                        with lock:
                            index = scripted[0]
                            scripted[0] += 1
                    if index == 0:
                        time.sleep(0.8)
                    if index <= 3:
                        conn.close()
                        return
                    conn.sendall(b"*5\r\n:1\r\n:1\r\n:0\r\n:1\r\n:0\r\n")
                elif mode == "close":
                    conn.close()
                    return
                elif mode == "huge":
                    conn.sendall(b"$1000000000\r\n")
                    while True:
                        conn.sendall(b"x" * 65536)
                elif mode == "badscript":
                    if name == b"SET":
                        conn.sendall(b"+OK\r\n")
                    elif name == b"GET":
                        conn.sendall(b"$64\r\n" + b"ab" * 32 + b"\r\n")
                    else:
                        conn.sendall(b"*2\r\n:1\r\n:2\r\n")
    except OSError:
        pass
    finally:
        conn.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
