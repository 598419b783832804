#!/usr/bin/python3
"""The ARC interoperability matrix (issue 15): dkimkit, dkimpy and Mail::DKIM seal and validate.

  /usr/bin/python3 tests/interop/arc_matrix.py --dkimkit PATH --workdir DIR

A DKIM-signed message (d=origin.example, signed by `dkimkit sign`) goes through three hops, one
per sealer, in each of the 6 orders of the three sealers:
  * dkimpy: dkim.arc_sign (Debian's python3-dkim);
  * dkimkit: `dkimkit arc-seal --authserv-id ID --zone Z`;
  * Mail::DKIM: Mail::DKIM::ARC::Signer, Chain => 'ar' (tests/interop/arc_maildkim.pl).
Each sealer has its own domain, selector, RSA 2048-bit key (from `dkimkit keygen`) and
authserv-id. A hop does what a forwarder does: it validates the message as received with its own
implementation (DKIM and ARC), writes an Authentication-Results field of its authserv-id with
those results ("ID; dkim=pass header.d=origin.example; arc=none" at the first hop, arc=pass
after), then seals. What each hop's validator says of the message it received is checked, and the
partial chains after the first and second hop are judged by all three validators (pass).

Each final chain (3 sets) is then judged by the three validators: `dkimkit verify --json`
(arc.result, with sets = 3), dkimpy's dkim.arc_verify (cv) and Mail::DKIM::ARC::Verifier
(result): `pass` as sealed, `fail` after one body byte changed in transit. The matrix is printed
as a table, and every cell is asserted. A cell where an implementation is known to disagree is
listed in EXPECTED_DEVIATIONS with its reason and RFC 8617 section, and asserted as such, so
that a fix is noticed (the test then fails and asks for the entry to go).

Line endings: every message is CRLF on disk and on every pipe (Mail::DKIM wants SMTP line
endings, dkimpy's arc_sign writes CRLF fields, dkimkit keeps the input's).
Keys: no network. dkimkit reads the zone file, dkimpy gets a dnsfunc over the same zone file's
records, Mail::DKIM a replaced Mail::DKIM::DNS::query over them (as maildkim_interop.pl does).
Times: every implementation uses the clock (t= now), and validates at once.

Exit 0 when every cell is as expected, 1 otherwise, 77 (skipped) when a dependency is missing:
python3-dkim with python3-authres, or libmail-dkim-perl's ARC modules.
"""

import argparse
import importlib
import itertools
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from test_report import Report, run as run_for  # noqa: E402

SKIP = 77
TIMEOUT_S = 30
HERE = os.path.dirname(os.path.abspath(__file__))
MAILDKIM = os.path.join(HERE, "arc_maildkim.pl")

SEALERS = ["dkimpy", "dkimkit", "Mail::DKIM"]
VALIDATORS = ["dkimkit", "dkimpy", "Mail::DKIM"]
# sealer -> (domain, selector, authserv-id)
IDENTITIES = {
    "dkimpy": ("dkimpy.example", "arcpy", "mx.dkimpy.example"),
    "dkimkit": ("dkimkit.example", "arckit", "mx.dkimkit.example"),
    "Mail::DKIM": ("maildkim.example", "arcpl", "mx.maildkim.example"),
}
ORIGIN = ("origin.example", "dkim")

# (order as "a > b > c", validator, case) -> (result seen, reason). Empty: every cell agrees.
EXPECTED_DEVIATIONS = {}

# What each validator says when the body changed after the third seal (DOMAIN: the d= of the
# third sealer): the newest AMS fails on its body hash (RFC 8617 §5.2 step 5), the seals still pass.
WHY_BODY_CHANGED = {
    "dkimkit": r"^ARC-Message-Signature i=3: body hash mismatch",
    "dkimpy": r"^Most recent ARC-Message-Signature did not validate$",
    "Mail::DKIM": r"ams\.3\.DOMAIN=fail \(body has been altered\)",
}

MESSAGE = b"".join(line + b"\r\n" for line in [
    b"From: Alice Example <alice@origin.example>",
    b"To: list@dkimpy.example",
    b"Subject: An ARC matrix message",
    b"Date: Mon, 06 Jan 2025 10:00:00 +0000",
    b"Message-ID: <arc-matrix-1@origin.example>",
    b"MIME-Version: 1.0",
    b"Content-Type: text/plain; charset=us-ascii",
    b"",
    b"Hello list,",
    b"",
    b"this message is forwarded three times.",
    b"",
    b"Alice",
])


class Failure(Exception):
    pass


def run(cmd, stdin_bytes=None):
    return run_for(cmd, stdin_bytes, TIMEOUT_S)


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def dependencies():
    try:
        for module in ("dkim", "authres"):  # dkim.arc_sign reads Authentication-Results with authres
            importlib.import_module(module)
    except ImportError as e:
        skip("python3-dkim with python3-authres is needed (Debian packages python3-dkim, "
             "python3-authres): %s" % e)
    code, _, err = run(["perl", "-MMail::DKIM::ARC::Signer", "-MMail::DKIM::ARC::Verifier",
                        "-MMail::DKIM::TextWrap", "-MCrypt::OpenSSL::RSA", "-e", "1"])
    if code != 0:
        skip("Mail::DKIM's ARC modules are needed (Debian package libmail-dkim-perl): "
             + err.strip())


def zone_records(zone_path):
    """owner name (bytes, with the final dot) -> TXT value (bytes), from the zone file."""
    recs = {}
    with open(zone_path) as f:
        for line in f:
            m = re.match(r"(\S+)\s+IN\s+TXT\s+\((.*)\)", line)
            if m:
                recs[m.group(1).lower().encode()] = "".join(
                    re.findall(r"\"([^\"]*)\"", m.group(2))).encode()
    return recs


class Matrix:
    def __init__(self, dkimkit, workdir):
        self.dkimkit = dkimkit
        self.workdir = workdir
        self.zone = os.path.join(workdir, "keys.zone")
        self.keys = {}
        self.serial = 0

    def path(self, name):
        return os.path.join(self.workdir, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def keygen(self):
        lines = ["; the keys of the ARC matrix: the origin's DKIM key and one per sealer\n"]
        for who, (domain, selector) in [("origin", ORIGIN)] + [
                (s, IDENTITIES[s][:2]) for s in SEALERS]:
            keydir = self.path("key-" + selector)
            os.makedirs(keydir)
            code, _, err = run([self.dkimkit, "keygen", "-d", domain, "-s", selector, "-t", "rsa",
                                "-b", "2048", "-o", keydir])
            if code != 0:
                raise Failure("dkimkit keygen for %s: exit %d\n%s" % (who, code, err))
            self.keys[selector] = os.path.join(keydir, selector + ".private")
            with open(os.path.join(keydir, selector + ".txt")) as f:
                lines.append(f.read().rstrip("\n") + "\n")
        with open(self.zone, "w") as f:
            f.writelines(lines)
        self.records = zone_records(self.zone)
        if len(self.records) != 1 + len(SEALERS):
            raise Failure("the zone file has %d records" % len(self.records))

    def dns(self, name, timeout=5):
        return self.records.get((name if name.endswith(b".") else name + b".").lower())

    # --- the three implementations ---------------------------------------------------------

    def validate(self, who, message):
        """(arc result, number of sets or None, dkim result, detail) as `who` sees `message`."""
        if who == "dkimkit":
            self.serial += 1
            path = self.write("validate-%d.eml" % self.serial, message)
            code, out, err = run([self.dkimkit, "verify", "--zone", self.zone, "--json", path])
            try:
                j = json.loads(out)
                return (j["arc"]["result"], j["arc"]["sets"], j["result"],
                        j["arc"].get("reason", ""))
            except (ValueError, KeyError) as e:
                return ("error", None, "error", "exit %d %s: %s %s" % (code, e, out, err))
        if who == "dkimpy":
            import dkim
            try:
                cv, results, why = dkim.arc_verify(message, dnsfunc=self.dns)
                ok = dkim.verify(message, dnsfunc=self.dns)
            except Exception as e:  # dkimpy raises on what it cannot parse
                return ("error", None, "error", "%s: %s" % (type(e).__name__, e))
            return (cv.decode(), len(results), "pass" if ok else "fail",
                    why if isinstance(why, str) else why.decode("utf-8", "replace"))
        code, out, err = run(["perl", MAILDKIM, "verify", self.zone], message)
        got = dict(line.split(" ", 1) for line in out.decode().splitlines() if " " in line)
        if code != 0 or "arc" not in got:
            return ("error", None, "error", "exit %d: %s" % (code, err))
        return (got["arc"], None, got.get("dkim", "?"), got.get("detail", ""))

    def seal(self, who, message):
        domain, selector, srv_id = IDENTITIES[who]
        key = self.keys[selector]
        if who == "dkimpy":
            import dkim
            try:
                with open(key, "rb") as f:
                    fields = dkim.arc_sign(message, selector.encode(), domain.encode(), f.read(),
                                           srv_id.encode())
            except Exception as e:  # dkimpy raises on what it refuses
                raise Failure("dkimpy arc_sign: %s: %s" % (type(e).__name__, e))
            if len(fields) != 3:
                raise Failure("dkimpy arc_sign added %d fields, not a set" % len(fields))
            return b"".join(fields) + message
        if who == "dkimkit":
            self.serial += 1
            path = self.write("seal-%d.eml" % self.serial, message)
            cmd = [self.dkimkit, "arc-seal", "-k", key, "-d", domain, "-s", selector,
                   "--authserv-id", srv_id, "--zone", self.zone, path]
        else:
            cmd = ["perl", MAILDKIM, "seal", self.zone, key, domain, selector, srv_id]
        code, out, err = run(cmd, None if who == "dkimkit" else message)
        if code != 0 or not out.endswith(message):
            raise Failure("%s seal: exit %d\n%s" % (who, code, err))
        return out

    # --- the matrix ------------------------------------------------------------------------

    def origin_message(self):
        domain, selector = ORIGIN
        src = self.write("origin.eml", MESSAGE)
        code, out, err = run([self.dkimkit, "sign", "-k", self.keys[selector], "-d", domain, "-s",
                              selector, src])
        if code != 0 or not out.endswith(MESSAGE):
            raise Failure("dkimkit sign: exit %d\n%s" % (code, err))
        return out

    def chain(self, order, start, report):
        """The message after the hops of `order`; checks what each hop's validator saw."""
        message = start
        for hop, who in enumerate(order, 1):
            arc, sets, dkim_result, detail = self.validate(who, message)
            want = "none" if hop == 1 else "pass"
            report.check("%s: hop %d (%s) validates what it received: arc=%s dkim=pass"
                         % (" > ".join(order), hop, who, want),
                         arc == want and dkim_result == "pass"
                         and sets in (None, hop - 1),
                         "arc=%s sets=%s dkim=%s %s" % (arc, sets, dkim_result, detail))
            srv_id = IDENTITIES[who][2]
            ar = ("Authentication-Results: %s; dkim=%s header.d=%s; arc=%s\r\n"
                  % (srv_id, dkim_result, ORIGIN[0], arc)).encode()
            message = self.seal(who, ar + message)
            if hop == len(order):
                break  # the final chain is judged by the matrix
            for validator in VALIDATORS:
                arc, sets, _, detail = self.validate(validator, message)
                report.check("%s: after hop %d (%s), %s says pass, %d set(s)"
                             % (" > ".join(order), hop, who, validator, hop),
                             arc == "pass" and sets in (None, hop),
                             "arc=%s sets=%s %s" % (arc, sets, detail))
        return message


def arc_tags(message, name):
    """The tags (dict, white space removed) of each `name` field of the message, topmost first."""
    head = message.partition(b"\r\n\r\n")[0].decode("ascii", "replace")
    out = []
    for f in re.split(r"\r\n(?![ \t])", head):
        if f.lower().startswith(name.lower() + ":"):
            value = re.sub(r"\s", "", f[len(name) + 1:])
            out.append(dict(t.split("=", 1) for t in value.split(";") if "=" in t))
    return out


def arc_seals(message):
    """[(i, d, cv)] of the message's ARC-Seal fields, topmost first."""
    return [(t.get("i"), t.get("d"), t.get("cv")) for t in arc_tags(message, "ARC-Seal")]


def change_body(message):
    head, sep, body = message.partition(b"\r\n\r\n")
    assert b"forwarded" in body
    return head + sep + body.replace(b"forwarded", b"Forwarded", 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dkimkit", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    dependencies()
    dkimkit = os.path.abspath(args.dkimkit)
    workdir = os.path.join(os.path.abspath(args.workdir), "arc_matrix")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)

    m = Matrix(dkimkit, workdir)
    report = Report()
    rows = []
    try:
        m.keygen()
        start = m.origin_message()
        for order in itertools.permutations(SEALERS):
            name = " > ".join(order)
            final = m.chain(order, start, report)
            want = [(str(k), IDENTITIES[who][0], "none" if k == 1 else "pass")
                    for k, who in reversed(list(enumerate(order, 1)))]
            report.check("%s: the chain has 3 sets, sealed in that order, cv none then pass"
                         % name, arc_seals(final) == want, "ARC-Seal i, d, cv: %s"
                         % arc_seals(final))
            # dkimkit's AMS signs the one DKIM-Signature by default, once (not over-signed).
            kit = [t.get("h", "").lower().split(":") for t in
                   arc_tags(final, "ARC-Message-Signature") if t.get("d") == "dkimkit.example"]
            report.check("%s: dkimkit's AMS signs the DKIM-Signature once" % name,
                         len(kit) == 1 and kit[0].count("dkim-signature") == 1, str(kit))
            m.write(name.replace(" > ", "-").replace("::", "") + ".eml", final)
            changed = change_body(final)
            for validator in VALIDATORS:
                cells = []
                for case, message, want in [("as sealed", final, "pass"),
                                            ("body changed", changed, "fail")]:
                    arc, sets, _, detail = m.validate(validator, message)
                    deviation = EXPECTED_DEVIATIONS.get((name, validator, case))
                    expected = deviation[0] if deviation else want
                    ok = arc == expected and (sets is None or sets == 3)
                    label = "%s: %s says %s %s" % (name, validator, expected, case)
                    if deviation:
                        label += " (expected deviation: %s)" % deviation[1]
                    why = ""
                    if want == "fail":  # the newest AMS, i=3, is what fails: its body hash
                        m_why = re.search(WHY_BODY_CHANGED[validator].replace(
                            "DOMAIN", re.escape(IDENTITIES[order[-1]][0])), detail)
                        why = m_why.group(0) if m_why else "(unexpected) " + detail
                        ok = ok and (m_why is not None or deviation is not None)
                    report.check(label, ok, "arc=%s sets=%s %s" % (arc, sets, detail))
                    cells.append(arc + ("" if ok else " (!)") + ("*" if deviation else ""))
                rows.append((name, validator, cells[0], cells[1], why))
    except Failure as e:
        report.check("the matrix runs", False, str(e))
    cells = len(VALIDATORS) * len(list(itertools.permutations(SEALERS)))
    report.check("all %d rows of the matrix ran" % cells, len(rows) == cells,
                 "%d rows" % len(rows))

    title = ("order of sealers", "validator", "as sealed", "body changed", "why (body changed)")
    widths = [max(len(r[k]) for r in rows + [title]) for k in range(len(title))]
    print()
    for row in [title] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print("(!) a cell not as expected; * an expected deviation (EXPECTED_DEVIATIONS)")
    print("\n%d passed, %d failed" % (report.passed, report.failed))
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
