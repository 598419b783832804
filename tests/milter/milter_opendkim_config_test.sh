#!/usr/bin/env bash
# dkimkit-milter --opendkim-config FILE --check-config on a generated OpenDKIM configuration: a
# valid one exits 0 naming its keys; a refused setting exits 78 naming FILE:LINE; --config with
# --opendkim-config is a usage error (64).
# Usage: milter_opendkim_config_test.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
rig_start milter-odconf "$3" || exit 1
state=$RIG_DIR
cd "$state" || exit 1

"$dk" keygen -d example.com -s sel -t ed25519 -o keys >/dev/null 2>&1 || { bad "keygen"; exit 1; }
key=$(ls "$state"/keys/*.private | head -1)
chmod 600 "$key"
cat > opendkim.conf <<CONF
# generated
Socket      local:$state/od.sock
Mode        sv
Domain      example.com
Selector    sel
KeyFile     $key
SubDomains  yes
UMask       007
Syslog      yes
CONF
"$milter" --opendkim-config opendkim.conf --check-config >good.out 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "opendkim.conf: valid (1 signing keys)" good.out &&
  grep -q "opendkim.conf:9: Syslog: ignored" good.out &&
  ok "--opendkim-config --check-config accepts a valid file" ||
  bad "--opendkim-config --check-config accepts a valid file" "exit $rc: $(cat good.out)"

{ cat opendkim.conf; echo "Quarantine yes"; } > refused.conf
"$milter" --opendkim-config refused.conf --check-config >refused.out 2>&1
rc=$?
[ $rc -eq 78 ] && grep -q "refused.conf:10: Quarantine: not supported" refused.out &&
  ok "a refused setting exits 78 naming FILE:LINE" ||
  bad "a refused setting exits 78 naming FILE:LINE" "exit $rc: $(cat refused.out)"

"$milter" --config x.toml --opendkim-config opendkim.conf --check-config >both.out 2>&1
rc=$?
[ $rc -eq 64 ] && ok "--config with --opendkim-config is a usage error" ||
  bad "--config with --opendkim-config is a usage error" "exit $rc: $(cat both.out)"

rig_summary && [ "$passed" -gt 0 ]
