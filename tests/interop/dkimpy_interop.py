#!/usr/bin/python3
"""Interoperability checks between the `dkimkit` program and dkimpy (Debian python3-dkim).

  /usr/bin/python3 tests/interop/dkimpy_interop.py --dkimkit PATH --workdir DIR

Both directions, for every canonicalization pair and every test message:
  * dkimkit keygen + sign (rsa-sha256 with a 2048-bit key, ed25519-sha256) -> dkimpy verifies;
  * dkimpy signs (rsa-sha256, ed25519-sha256) -> `dkimkit verify --zone Z --json` says pass;
plus a tampered body, which must fail in both directions.

Prints one line per check ("ok ..." or "FAIL ...", details on following "#" lines) and ends with
the line "N passed, M failed". Exits 0 only when every check passed. No network: dkimpy gets its
keys from a dnsfunc and dkimkit from a zone file. Temporary files stay under DIR/dkimpy_interop.
Needs the system python (/usr/bin/python3): python3-dkim, python3-nacl, python3-cryptography.
"""

import argparse
import base64
import json
import os
import re
import shutil
import sys

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from test_report import Report, run  # noqa: E402

CANONICALIZATIONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]
ALGORITHMS = ["rsa-sha256", "ed25519-sha256"]


def crlf(lines):
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


# Each message is bytes exactly as it goes on disk. Keep every header name free of white space
# before the colon: dkimpy's parser rejects that (obsolete) syntax.
MESSAGES = {
    "plain": crlf([
        "From: Alice Example <alice@example.com>",
        "To: Bob Example <bob@example.net>",
        "Subject: A plain message",
        "Date: Mon, 06 Jan 2025 10:00:00 +0000",
        "Message-ID: <plain-1@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Hello Bob,",
        "",
        "This is a plain test message.",
        "",
        "Alice",
    ]),
    # Folded headers (tab and space continuations), trailing white space on header and body
    # lines, tabs and runs of white space inside lines, and several empty lines at the end.
    "messy": crlf([
        "From: \"Alice Example\" <alice@example.com>",
        "To: Bob Example <bob@example.net>,\t",
        "\tCarol Example <carol@example.org>,  ",
        "   Dave <dave@example.org>",
        "Subject:   Folded   subject\t line  ",
        "\twith a tab continuation ",
        "  and a space continuation",
        "Date: Mon, 06 Jan 2025 10:00:00 +0000",
        "Message-ID: <messy-1@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain;",
        "\tcharset=us-ascii",
        "",
        "Line with trailing spaces   ",
        "Line with a trailing tab\t",
        "\tLine that starts with a tab",
        "Words   separated\t\tby  runs \t of white space",
        " ",
        "The line above is a single space.",
        "",
        "",
        "",
        "",
    ]),
    "empty-body": crlf([
        "From: Alice Example <alice@example.com>",
        "To: Bob Example <bob@example.net>",
        "Subject: Nothing to say",
        "Date: Mon, 06 Jan 2025 10:00:00 +0000",
        "Message-ID: <empty-1@example.com>",
        "",
    ]),
    "lf-only": "".join(line + "\n" for line in [
        "From: Alice Example <alice@example.com>",
        "To: Bob Example <bob@example.net>",
        "Subject: Unix line endings",
        "Date: Mon, 06 Jan 2025 10:00:00 +0000",
        "Message-ID: <lf-1@example.com>",
        "",
        "This message uses bare LF line endings.  ",
        "",
        "Alice",
        "",
    ]).encode("utf-8"),
    "utf8": crlf([
        "From: Jörg Müller <joerg@example.com>",
        "To: Zoë <zoe@example.net>",
        "Subject: Grüße aus Köln — ünïcödé ✓",
        "Date: Mon, 06 Jan 2025 10:00:00 +0000",
        "Message-ID: <utf8-1@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Schöne Grüße, ça va? 日本語のテキスト。",
        "Emoji: 📬 ✉️",
    ]),
}


def txt_value_from_zone_line(text):
    """Joins the quoted strings of a `... IN TXT ( "..." "..." )` line (no escapes expected)."""
    return "".join(re.findall(r'"([^"]*)"', text))


def zone_txt(value):
    """A TXT rdata as quoted strings of at most 255 bytes, for an RFC 1035 zone file."""
    return " ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255))


def tamper(message):
    """Changes one body byte ("a" -> "A" in the first body line that has one)."""
    sep = b"\r\n\r\n" if b"\r\n\r\n" in message else b"\n\n"
    head, _, body = message.partition(sep)
    pos = body.find(b"a")
    if pos < 0:
        return head + sep + b"tampered" + body
    return head + sep + body[:pos] + b"A" + body[pos + 1:]


def dkimpy_verify_all(message, records):
    """Verifies every DKIM-Signature with dkimpy. Returns (all passed, detail text)."""
    def dnsfunc(name, timeout=5):
        return records.get(name.lower().rstrip(b".") + b".")

    count = sum(1 for n, _ in dkim.rfc822_parse(message)[0] if n.lower() == b"dkim-signature")
    if count == 0:
        return False, "no DKIM-Signature in dkimkit's output"
    details = []
    ok_all = True
    for idx in range(count):
        try:
            ok = dkim.DKIM(message).verify(idx=idx, dnsfunc=dnsfunc)
            details.append("signature %d: %s" % (idx, "pass" if ok else "fail"))
        except dkim.DKIMException as e:
            ok = False
            details.append("signature %d: exception %s" % (idx, e))
        ok_all = ok_all and ok
    return ok_all, "\n".join(details)


def dkimkit_verify(dkimkit, zone, path):
    """Runs `dkimkit verify --zone Z --json FILE`; returns (parsed JSON or None, detail)."""
    code, out, err = run([dkimkit, "verify", "--zone", zone, "--json", path])
    lines = [l for l in out.decode("utf-8", "replace").splitlines() if l.strip()]
    detail = "exit %d\nstdout: %s\nstderr: %s" % (code, "\n".join(lines), err.strip())
    if len(lines) != 1:
        return None, detail
    try:
        return json.loads(lines[0]), detail
    except ValueError:
        return None, detail


def all_signatures(result, expected):
    """True when the top-level result and every signature's result equal `expected`."""
    if not isinstance(result, dict) or result.get("result") != expected:
        return False
    sigs = result.get("signatures")
    return bool(sigs) and all(s.get("result") == expected for s in sigs)


def signature_matches(message, alg, canon):
    """Checks that the topmost DKIM-Signature has the requested a= and c= tags."""
    for name, value in dkim.rfc822_parse(message)[0]:
        if name.lower() == b"dkim-signature":
            tags = dkim.util.parse_tag_value(value)
            got_alg = tags.get(b"a", b"").decode()
            got_canon = tags.get(b"c", b"simple/simple").decode()
            if "/" not in got_canon:
                got_canon += "/simple"
            if (got_alg, got_canon) != (alg, canon):
                return False, "signature has a=%s c=%s, wanted a=%s c=%s" % (
                    got_alg, got_canon, alg, canon)
            return True, ""
    return False, "no DKIM-Signature"


# --- dkimkit signs, dkimpy verifies -------------------------------------------------------------

def dkimkit_keygen(report, dkimkit, workdir, domain, selector, key_type):
    keydir = os.path.join(workdir, "keys-%s" % selector)
    os.makedirs(keydir, exist_ok=True)
    cmd = [dkimkit, "keygen", "-d", domain, "-s", selector, "-t", key_type, "-o", keydir]
    if key_type == "rsa":
        cmd += ["-b", "2048"]
    code, _, err = run(cmd)
    key = os.path.join(keydir, selector + ".private")
    txt = os.path.join(keydir, selector + ".txt")
    ok = code == 0 and os.path.isfile(key) and os.path.isfile(txt)
    record = ""
    problems = []
    if ok:
        line = open(txt, encoding="utf-8").read()
        record = txt_value_from_zone_line(line)
        owner = "%s._domainkey.%s." % (selector, domain)
        if not line.lstrip().lower().startswith(owner):
            problems.append("owner name is not %s" % owner)
        if any(len(s.encode()) > 255 for s in re.findall(r'"([^"]*)"', line)):
            problems.append("a quoted string is longer than 255 bytes")
        if "k=%s" % key_type not in record.replace(" ", "") or "p=" not in record:
            problems.append("record lacks k=%s or p=" % key_type)
        if "BEGIN PRIVATE KEY" not in open(key, encoding="utf-8", errors="replace").read():
            problems.append("private key is not PKCS#8 PEM")
    report.check("dkimkit keygen -t %s writes a usable key and TXT record" % key_type,
                 ok and not problems,
                 "exit %d\n%s\n%s" % (code, err, "\n".join(problems)))
    return (key, record) if ok else (None, None)


def dkimkit_to_dkimpy(report, dkimkit, workdir):
    domain = "dkimkit.example"
    keys = {
        "rsa-sha256": dkimkit_keygen(report, dkimkit, workdir, domain, "kitrsa", "rsa"),
        "ed25519-sha256": dkimkit_keygen(report, dkimkit, workdir, domain, "kited", "ed25519"),
    }
    records = {}
    for alg, sel in (("rsa-sha256", "kitrsa"), ("ed25519-sha256", "kited")):
        if keys[alg][1]:
            records[("%s._domainkey.%s." % (sel, domain)).encode()] = keys[alg][1].encode()

    for alg in ALGORITHMS:
        key, _ = keys[alg]
        selector = "kitrsa" if alg == "rsa-sha256" else "kited"
        for canon in CANONICALIZATIONS:
            for name, message in MESSAGES.items():
                label = "dkimkit->dkimpy %s c=%s msg=%s" % (alg, canon, name)
                if key is None:
                    report.check(label, False, "no key: dkimkit keygen failed")
                    continue
                src = os.path.join(workdir, "unsigned-%s.eml" % name)
                with open(src, "wb") as f:
                    f.write(message)
                code, signed, err = run([dkimkit, "sign", "-k", key, "-d", domain, "-s", selector,
                                         "-a", alg, "-c", canon, src])
                if code != 0:
                    report.check(label, False, "dkimkit sign exit %d\n%s" % (code, err))
                    continue
                with open(os.path.join(workdir, "kit-%s-%s-%s.eml" % (
                        alg, canon.replace("/", "-"), name)), "wb") as f:
                    f.write(signed)
                ok, detail = dkimpy_verify_all(signed, records)
                if ok and not signed.endswith(message):
                    ok, detail = False, "the signed output does not end with the input bytes"
                if ok:
                    ok, detail = signature_matches(signed, alg, canon)
                report.check(label, ok, detail)
                if name == "lf-only" and canon == "relaxed/relaxed":
                    report.check("dkimkit sign keeps LF-only line endings (%s)" % alg,
                                 b"\r" not in signed, "output contains CR")
                if name == "plain" and canon == "relaxed/relaxed":
                    bad, detail = dkimpy_verify_all(tamper(signed), records)
                    report.check("dkimkit->dkimpy %s tampered body fails" % alg, not bad, detail)


def rsa8192_to_dkimpy(report, dkimkit, workdir):
    """Hostile-inputs row 72: an 8192-bit key; b= folded to at most 78 columns; dkimpy verifies."""
    pem = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "messages",
                       "rsa8192.pem")
    key = serialization.load_pem_private_key(open(pem, "rb").read(), password=None)
    pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    records = {b"big._domainkey.dkimkit.example.": b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)}
    src = os.path.join(workdir, "unsigned-plain.eml")
    with open(src, "wb") as f:
        f.write(MESSAGES["plain"])
    code, signed, err = run([dkimkit, "sign", "-k", pem, "-d", "dkimkit.example", "-s", "big", src])
    if code != 0:
        report.check("8192-bit RSA signatures verify under dkimpy", False, err)
        return
    ok, detail = dkimpy_verify_all(signed, records)
    report.check("8192-bit RSA signatures verify under dkimpy", ok, detail)
    field = signed.split(b"\r\nFrom:")[0]
    longest = max(len(line) for line in field.split(b"\r\n"))
    report.check("8192-bit RSA: the DKIM-Signature is folded to at most 78 columns", longest <= 78,
                 "longest line: %d" % longest)


# --- dkimpy signs, dkimkit verifies -------------------------------------------------------------

def dkimpy_keys():
    """Fresh keys: (RSA PKCS#1 PEM, RSA TXT value, Ed25519 base64 seed, Ed25519 TXT value)."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa_key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    rsa_pub = rsa_key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_seed = ed_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
    ed_pub = ed_key.public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw)
    return (rsa_pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_pub).decode(),
            base64.b64encode(ed_seed), "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub).decode())


def dkimpy_to_dkimkit(report, dkimkit, workdir):
    domain = b"dkimpy.example"
    rsa_pem, rsa_txt, ed_seed, ed_txt = dkimpy_keys()
    zone = os.path.join(workdir, "dkimpy.zone")
    with open(zone, "w", encoding="ascii") as f:
        f.write("; keys for messages signed by dkimpy\n$TTL 3600\n")
        f.write("pyrsa._domainkey.dkimpy.example. IN TXT ( %s )\n" % zone_txt(rsa_txt))
        f.write("pyed._domainkey.dkimpy.example. IN TXT ( %s )\n" % zone_txt(ed_txt))
    signers = {"rsa-sha256": (b"pyrsa", rsa_pem), "ed25519-sha256": (b"pyed", ed_seed)}

    for alg in ALGORITHMS:
        selector, key = signers[alg]
        for canon in CANONICALIZATIONS:
            hdr, body = canon.encode().split(b"/")
            for name, message in MESSAGES.items():
                label = "dkimpy->dkimkit %s c=%s msg=%s" % (alg, canon, name)
                linesep = b"\n" if name == "lf-only" else b"\r\n"
                try:
                    sig = dkim.sign(message, selector, domain, key, canonicalize=(hdr, body),
                                    signature_algorithm=alg.encode(), linesep=linesep)
                except dkim.DKIMException as e:
                    report.check(label, False, "dkimpy could not sign: %s" % e)
                    continue
                signed = sig + message
                path = os.path.join(workdir, "py-%s-%s-%s.eml" % (
                    alg, canon.replace("/", "-"), name))
                with open(path, "wb") as f:
                    f.write(signed)
                result, detail = dkimkit_verify(dkimkit, zone, path)
                report.check(label, all_signatures(result, "pass"), detail)
                if name == "plain" and canon == "relaxed/relaxed":
                    bad_path = path.replace(".eml", "-tampered.eml")
                    with open(bad_path, "wb") as f:
                        f.write(tamper(signed))
                    result, detail = dkimkit_verify(dkimkit, zone, bad_path)
                    report.check("dkimpy->dkimkit %s tampered body fails" % alg,
                                 all_signatures(result, "fail"), detail)


# --- the RFC 8463 Appendix A example -----------------------------------------------------------

def rfc8463_fixture(report, dkimkit):
    """dkimpy and dkimkit both verify tests/data/rfc/rfc8463.eml (ed25519 and rsa signatures)."""
    rfc_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "rfc")
    eml = os.path.join(rfc_dir, "rfc8463.eml")
    zone = os.path.join(rfc_dir, "rfc8463.zone")
    try:
        message = open(eml, "rb").read()
        zone_text = open(zone, encoding="ascii").read()
    except OSError as e:
        report.check("RFC 8463 fixture is readable", False, str(e))
        return
    records = {}
    for m in re.finditer(r"^(\S+)\s+IN\s+TXT\s+\(([^)]*)\)", zone_text, flags=re.M):
        records[m.group(1).lower().encode()] = txt_value_from_zone_line(m.group(2)).encode()
    ok, detail = dkimpy_verify_all(message, records)
    report.check("dkimpy verifies the RFC 8463 fixture (both signatures)", ok, detail)
    result, detail = dkimkit_verify(dkimkit, zone, eml)
    ok = all_signatures(result, "pass") and len(result["signatures"]) == 2
    report.check("dkimkit verifies the RFC 8463 fixture (both signatures)", ok, detail)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dkimkit", required=True, help="path to the dkimkit program")
    parser.add_argument("--workdir", required=True, help="directory for temporary files")
    args = parser.parse_args()
    dkimkit = os.path.abspath(args.dkimkit)
    workdir = os.path.join(os.path.abspath(args.workdir), "dkimpy_interop")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)

    report = Report()
    if not os.access(dkimkit, os.X_OK):
        report.check("dkimkit program is executable", False, "not found: %s" % dkimkit)
    else:
        rfc8463_fixture(report, dkimkit)
        dkimkit_to_dkimpy(report, dkimkit, workdir)
        rsa8192_to_dkimpy(report, dkimkit, workdir)
        dkimpy_to_dkimkit(report, dkimkit, workdir)
    print("%d passed, %d failed" % (report.passed, report.failed))
    return 0 if report.failed == 0 and report.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
