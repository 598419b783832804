#!/usr/bin/python3
"""A stand-in for the `dkimkit` program, built on dkimpy, to test the interop harness itself.

It implements just the subset of the CLI that the interop scripts use:

  fake_dkimkit.py keygen -d DOMAIN -s SELECTOR [-t rsa|ed25519] [-b BITS] [-o DIR]
  fake_dkimkit.py sign -k KEY.pem -d DOMAIN -s SELECTOR [-a ALG] [-c HDR/BODY]
                       [--headers a:b:c] [FILE]
  fake_dkimkit.py verify --zone ZONEFILE --json [FILE...]

Run either interop script with `--dkimkit tests/interop/fake_dkimkit.py`. Every check should
pass; if one fails, the harness is wrong, not dkimkit. This file is never part of a real test run.
"""

import argparse
import base64
import json
import os
import re
import sys

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def txt_strings(value):
    """Splits a TXT value into quoted strings of at most 255 bytes."""
    return " ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255))


def cmd_keygen(args):
    out_dir = args.o or "."
    if args.t == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=args.b or 2048)
        pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with open(os.path.join(out_dir, args.s + ".private"), "wb") as f:
        f.write(pem)
    record = "v=DKIM1; k=%s; p=%s" % (args.t or "rsa", base64.b64encode(pub).decode())
    with open(os.path.join(out_dir, args.s + ".txt"), "w") as f:
        f.write("%s._domainkey.%s. IN TXT ( %s )\n" % (args.s, args.d, txt_strings(record)))
    return 0


def load_signing_key(path):
    """Returns the key in dkimpy's format: PKCS#1 PEM for RSA, base64 seed for Ed25519."""
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        return base64.b64encode(raw)
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def cmd_sign(args):
    data = open(args.file, "rb").read() if args.file else sys.stdin.buffer.read()
    linesep = b"\n" if b"\r\n" not in data and b"\n" in data else b"\r\n"
    hdr, _, body = (args.c or "relaxed/relaxed").partition("/")
    body = body or "simple"
    algs = args.a or ["rsa-sha256"] * len(args.k)
    include = [h.encode() for h in args.headers.split(":")] if args.headers else None
    for key_path, selector, alg in zip(args.k, args.s, algs):
        sig = dkim.sign(data, selector.encode(), args.d.encode(), load_signing_key(key_path),
                        canonicalize=(hdr.encode(), body.encode()),
                        signature_algorithm=alg.encode(), include_headers=include,
                        linesep=linesep)
        data = sig + data
    sys.stdout.buffer.write(data)
    return 0


def parse_zone(path):
    records = {}
    text = open(path, encoding="utf-8").read()
    text = re.sub(r";[^\n\"]*$", "", text, flags=re.M)
    for m in re.finditer(r"^(\S+)\s+(?:\d+\s+)?IN\s+TXT\s+(\((?:[^)\"]|\"[^\"]*\")*\)|(?:\"[^\"]*\"\s*)+)",
                         text, flags=re.M):
        owner = m.group(1).lower().rstrip(".") + "."
        value = "".join(re.findall(r"\"([^\"]*)\"", m.group(2)))
        records[owner.encode()] = value.encode()
    return records


def cmd_verify(args):
    records = parse_zone(args.zone)

    def dnsfunc(name, timeout=5):
        return records.get(name.lower())

    worst = 0
    for path in args.files:
        data = open(path, "rb").read()
        headers, _ = dkim.rfc822_parse(data)
        sigs = []
        idx = 0
        for name, value in headers:
            if name.lower() != b"dkim-signature":
                continue
            tags = dkim.util.parse_tag_value(value)
            try:
                ok = dkim.DKIM(data).verify(idx=idx, dnsfunc=dnsfunc)
                status, reason = ("pass", "") if ok else ("fail", "signature did not verify")
            except dkim.DKIMException as e:
                # dkimpy raises on a body hash mismatch; RFC 6376 calls that a fail.
                status = "fail" if "body hash mismatch" in str(e) else "permerror"
                reason = str(e)
            sigs.append({"result": status,
                         "domain": tags.get(b"d", b"").decode(),
                         "selector": tags.get(b"s", b"").decode(),
                         "algorithm": tags.get(b"a", b"").decode(),
                         "reason": reason})
            idx += 1
        if not sigs:
            overall = "none"
        elif any(s["result"] == "pass" for s in sigs):
            overall = "pass"
        else:
            overall = sigs[0]["result"]
        worst = max(worst, 0 if overall == "pass" else 1)
        print(json.dumps({"file": path, "result": overall, "signatures": sigs}))
    return worst


def main():
    parser = argparse.ArgumentParser(prog="fake_dkimkit")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("keygen")
    p.add_argument("-d", required=True)
    p.add_argument("-s", required=True)
    p.add_argument("-t", default="rsa", choices=["rsa", "ed25519"])
    p.add_argument("-b", type=int)
    p.add_argument("-o")
    p = sub.add_parser("sign")
    p.add_argument("-k", action="append", required=True)
    p.add_argument("-d", required=True)
    p.add_argument("-s", action="append", required=True)
    p.add_argument("-a", action="append")
    p.add_argument("-c")
    p.add_argument("--headers")
    p.add_argument("file", nargs="?")
    p = sub.add_parser("verify")
    p.add_argument("--zone", required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("files", nargs="*")
    args = parser.parse_args()
    return {"keygen": cmd_keygen, "sign": cmd_sign, "verify": cmd_verify}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
