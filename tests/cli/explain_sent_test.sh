#!/usr/bin/env bash
# dkimkit explain --sent SENT RECEIVED: what changed between the copy as sent and the copy as
# received, as the failing signature hashes them (issue 13, item 7). Each case is cross-checked
# with an independent verifier (dkimpy): the unchanged copy verifies there, the changed ones fail.
# Usage: explain_sent_test.sh PATH_TO_dkimkit WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"  # check, ok, bad, rig_summary (no servers here)
dk=$(readlink -f "$1")
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
py() { /usr/bin/python3 -c "$@"; }
# The text explanation of RECEIVED against SENT.
explain() {  # explain SENT RECEIVED
  "$dk" explain --color never --zone zone --sent "$1" "$2"
}
# jq-like assertions on `dkimkit explain --json --sent`: EXPR is a Python expression over the
# object `o` and its signatures `s`.
explains() {  # explains SENT RECEIVED EXPR
  "$dk" explain --json --zone zone --sent "$1" "$2" > explain.json || return 1
  py 'import json,sys; o=json.load(open("explain.json")); s=o["signatures"]; sys.exit(not ('"$3"'))'
}
# dkimpy's verdict on FILE, with the key of the zone file (exit 0: it verifies).
dkimpy_verifies() {  # dkimpy_verifies FILE
  py '
import re, sys, dkim
record = "".join(re.findall(r"\"([^\"]*)\"", open("rsa.txt").read())).encode()
sys.exit(not dkim.verify(open(sys.argv[1], "rb").read(), dnsfunc=lambda name, timeout=5: record))
' "$1"
}
not() { ! "$@"; }

"$dk" keygen -d example.com -s rsa -o . >/dev/null 2>&1
{ echo '$TTL 300'; cat rsa.txt; } > zone
# The copy as sent, as a mail client keeps it: not signed, LF line endings.
printf 'From: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nSubject: Lunch on Friday\n\nShall we meet at noon?\n\nAlice\n' > sent.eml
"$dk" sign -k rsa.private -d example.com -s rsa -c simple/simple sent.eml > signed.eml
sed 's/^Subject: Lunch on Friday$/Subject: [team] Lunch on Friday/' signed.eml > subject.eml
{ cat signed.eml; printf -- '-- \nteam mailing list\nhttps://lists.example.com/team\n'; } > footer.eml
sed 's/^Alice$/Alice  /' signed.eml > trailing.eml

# --- an unchanged copy --------------------------------------------------------------------------
check "unchanged: dkimpy verifies the received copy" dkimpy_verifies signed.eml
explain sent.eml signed.eml > unchanged.out
check "unchanged: the text says nothing changed" grep -q "What changed between the copies: nothing changed" unchanged.out
check "unchanged: the JSON has an empty changes array" \
  explains sent.eml signed.eml 's[0]["result"] == "pass" and s[0]["changes"] == [] and s[0]["comparison"]["unchanged"] is True'
check "unchanged: the signed copy as SENT is the same" \
  explains signed.eml signed.eml 's[0]["changes"] == []'

# --- a changed Subject --------------------------------------------------------------------------
check "subject: dkimpy fails it too" not dkimpy_verifies subject.eml
explain sent.eml subject.eml > subject.out
check "subject: the field is named" grep -qx "    header field subject" subject.out
check "subject: the value as sent" grep -qxF "      - sent      Subject: Lunch on Friday" subject.out
check "subject: the value as received" grep -qxF "      + received  Subject: [team] Lunch on Friday" subject.out
check "subject: the section is under the failing signature, after its check line" \
  py 'import sys; t=open("subject.out").read(); sys.exit(not (0 < t.index("  check ") < t.index("What changed between the copies") < t.index("Result:")))'
check "subject: the body is not reported" not grep -q "^    body" subject.out
check "subject: JSON: one header change with both values, nothing tolerated" \
  explains sent.eml subject.eml 's[0]["result"] == "fail" and s[0]["changes"] == [{"part": "header", "field": "subject", "instance": 0, "sent": "Subject: Lunch on Friday", "received": "Subject: [team] Lunch on Friday"}]'

# --- a footer added to the body ---------------------------------------------------------------
check "footer: dkimpy fails it too" not dkimpy_verifies footer.eml
explain sent.eml footer.eml > footer.out
check "footer: the body region starts at the footer's first line" \
  grep -qF "    body, from line 4: 0 lines as sent, 3 lines as received (@@ -4,0 +4,3 @@)" footer.out
check "footer: its lines with their numbers (trailing space visible)" \
  sh -c 'grep -qxF "      +4  --\\x20" "$1" && grep -qxF "      +5  team mailing list" "$1" && grep -qxF "      +6  https://lists.example.com/team" "$1"' _ footer.out
check "footer: not tolerated by relaxed" not grep -q "would have passed" footer.out
check "footer: JSON: the body lines from line 4, sent null" \
  explains sent.eml footer.eml '[(c["part"], c["line"], c["sent"], c["received"]) for c in s[0]["changes"]] == [("body", 4, None, "-- "), ("body", 5, None, "team mailing list"), ("body", 6, None, "https://lists.example.com/team")] and s[0]["comparison"]["body"]["first_line"] == 4 and not any("tolerated_by" in c for c in s[0]["changes"])'

# --- trailing white space under c=simple/simple ---------------------------------------------------
check "trailing white space: dkimpy fails it under simple" not dkimpy_verifies trailing.eml
explain sent.eml trailing.eml > trailing.out
check "trailing white space: relaxed would have passed" \
  grep -qxF "    whitespace only: relaxed body canonicalization would have passed" trailing.out
check "trailing white space: both lines shown, the spaces visible" \
  sh -c 'grep -qxF "      -3  Alice" "$1" && grep -qxF "      +3  Alice\\x20\\x20" "$1"' _ trailing.out
check "trailing white space: JSON: tolerated_by relaxed" \
  explains sent.eml trailing.eml 's[0]["changes"] == [{"part": "body", "line": 3, "sent": "Alice", "received": "Alice  ", "tolerated_by": "relaxed"}] and s[0]["comparison"]["body"]["tolerated_by"] == "relaxed"'
# The claim checked: signed with relaxed body canonicalization, the same change passes (dkimpy and
# dkimkit), and explain finds nothing changed.
"$dk" sign -k rsa.private -d example.com -s rsa -c simple/relaxed sent.eml | sed 's/^Alice$/Alice  /' > trailing-relaxed.eml
check "trailing white space under simple/relaxed: dkimpy verifies it" dkimpy_verifies trailing-relaxed.eml
check "trailing white space under simple/relaxed: pass and nothing changed" \
  explains sent.eml trailing-relaxed.eml 's[0]["result"] == "pass" and s[0]["changes"] == []'

# --- header re-folded under c=simple ---------------------------------------------------------------
sed 's/^To: Bob <bob@example.org>$/To:  Bob <bob@example.org>/' signed.eml > refolded.eml
check "re-spaced To: dkimpy fails it under simple" not dkimpy_verifies refolded.eml
check "re-spaced To: relaxed header canonicalization would have passed" \
  grep -qxF "    white space or letter case only: relaxed header canonicalization would have passed" <(explain sent.eml refolded.eml)
check "re-spaced To: JSON: tolerated_by relaxed" \
  explains sent.eml refolded.eml 'len(s[0]["changes"]) == 1 and s[0]["changes"][0]["tolerated_by"] == "relaxed" and s[0]["comparison"]["header"]["tolerated_by"] == "relaxed"'

# --- a signed field only one copy has ---------------------------------------------------------------
"$dk" sign -k rsa.private -d example.com -s rsa --headers from:to:subject:reply-to sent.eml |
  sed 's/^Subject:/Reply-To: x@example.net\nSubject:/' > replyto.eml
check "field only as received: dkimpy fails it too" not dkimpy_verifies replyto.eml
explain sent.eml replyto.eml > replyto.out
check "field only as received: named and said so, its value shown" \
  sh -c 'grep -qxF "    header field reply-to: only in the copy as received" "$1" && grep -qxF "      + received  reply-to:x@example.net" "$1" && ! grep -q "^      - sent" "$1"' _ replyto.out
check "field only as received: JSON: sent is null" \
  explains sent.eml replyto.eml 's[0]["changes"] == [{"part": "header", "field": "reply-to", "instance": 0, "sent": None, "received": "reply-to:x@example.net"}]'

# --- several signatures: only the failing one is compared -------------------------------------------
"$dk" sign -k rsa.private -d example.com -s rsa -c relaxed/relaxed signed.eml | sed 's/^Alice$/Alice  /' > two.eml
check "two signatures: the relaxed one passes, the simple one fails and alone is compared" \
  explains sent.eml two.eml 's[0]["result"] == "pass" and "changes" not in s[0] and s[1]["result"] == "fail" and s[1]["changes"][0]["tolerated_by"] == "relaxed"'
check "all signatures pass: the first is compared" \
  explains sent.eml signed.eml 'len(s) == 1 and "changes" in s[0]'

# --- JSON shape -----------------------------------------------------------------------------------
{ cat subject.eml; printf 'footer\n'; } > both.eml
check "JSON: header entries {part, field, instance, sent, received}, body entries {part, line, sent, received}" \
  explains sent.eml both.eml 'sorted(s[0]["changes"][0]) == ["field", "instance", "part", "received", "sent"] and sorted(s[0]["changes"][1]) == ["line", "part", "received", "sent"] and [c["part"] for c in s[0]["changes"]] == ["header", "body"]'
check "JSON: the comparison summary" \
  explains sent.eml both.eml 's[0]["comparison"]["sent"] == "sent.eml" and s[0]["comparison"]["canonicalization"] == "simple/simple" and s[0]["comparison"]["header"]["changed"] == 1 and s[0]["comparison"]["body"]["changed"] is True and s[0]["comparison"]["body"]["received_lines"] == 1'
check "without --sent: no changes member" \
  sh -c '"$1" explain --json --zone zone subject.eml > plain.json && ! grep -q "\"changes\"" plain.json' _ "$dk"

# --- a long difference is cut short and says so -------------------------------------------------
{ cat signed.eml; for i in $(seq 1 40); do echo "added line $i"; done; } > long.eml
explain sent.eml long.eml > long.out
check "long: at most 10 lines shown" test "$(grep -c '^      +' long.out)" -eq 10
check "long: says it is cut short" grep -qF "(cut short: more of the lines differ)" long.out
check "long: JSON says truncated" explains sent.eml long.eml 's[0]["comparison"]["body"]["truncated"] is True and len(s[0]["changes"]) == 10'

# --- two separate differences: the first is shown, and that more follow -----------------------------
sed -e 's/^Shall we meet at noon?$/Shall we meet at one?/' trailing.eml > two-changes.eml
explain sent.eml two-changes.eml > two-changes.out
check "two differences: the first hunk only" \
  sh -c 'grep -qF "    body, from line 1: 1 line as sent, 1 line as received (@@ -1,1 +1,1 @@)" "$1" && grep -qxF "      +1  Shall we meet at one?" "$1" && ! grep -q "^      [-+]3 " "$1"' _ two-changes.out
check "two differences: says more follow" grep -qF "further down the bodies differ again" two-changes.out
check "two differences: JSON more_differences" \
  explains sent.eml two-changes.eml 'len(s[0]["changes"]) == 1 and s[0]["comparison"]["body"]["more_differences"] is True and "tolerated_by" not in s[0]["changes"][0]'

# --- terminal safety, errors ----------------------------------------------------------------------
printf 'From: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nSubject: Lunch \033[31mred\033[0m\n\nShall we meet at noon?\n\nAlice\n' > esc-sent.eml
check "terminal: an escape in a value is printed as \\x1b" \
  sh -c '"$1" explain --color never --zone zone --sent esc-sent.eml subject.eml > esc.out; grep -qF "Lunch \\x1b[31mred" esc.out && ! grep -q "$(printf "\033")" esc.out' _ "$dk"
"$dk" explain --zone zone --sent no-such-file.eml signed.eml >/dev/null 2>missing.err
check "--sent with a missing file: exit 66" test $? -eq 66
check "--sent with a missing file: says which" grep -q "no-such-file.eml" missing.err
"$dk" explain --zone zone --sent - - < signed.eml >/dev/null 2>&1
check "--sent - with FILE - : usage error (64)" test $? -eq 64
printf 'no colon\n\nbody\n' > bad-sent.eml
check "a sent copy that does not parse: said under the signature, exit 0" \
  sh -c '"$1" explain --color never --zone zone --sent bad-sent.eml subject.eml | grep -q "cannot compare them: .*sent copy"' _ "$dk"
check "a received copy without a signature: nothing compared, exit 0" \
  explains sent.eml sent.eml 's == [] and o["result"] == "none"'

rig_summary
