#!/usr/bin/env bash
# dkimkit-milter --opendkim-config FILE --check-config on a generated OpenDKIM configuration: a
# valid one exits 0 naming its keys; a refused setting exits 78 naming FILE:LINE; --config with
# --opendkim-config is a usage error (64); --migrate FILE prints TOML that --check-config accepts.
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

"$milter" --migrate opendkim.conf >out.toml 2>migrate.err
rc=$?
if [ $rc -eq 0 ] && grep -q "^# dropped: .*Syslog: ignored" out.toml; then
  "$milter" --config out.toml --check-config >migrated.out 2>&1
  rc=$?
  [ $rc -eq 0 ] && grep -q "out.toml: valid (1 signing keys)" migrated.out &&
    ok "--migrate writes TOML that --check-config accepts" ||
    bad "--migrate writes TOML that --check-config accepts" "exit $rc: $(cat migrated.out out.toml)"
else
  bad "--migrate writes TOML that --check-config accepts" "exit $rc: $(cat migrate.err out.toml)"
fi

"$milter" --migrate refused.conf >refused.toml 2>refused.err
rc=$?
[ $rc -eq 78 ] && grep -q "refused.conf:10: Quarantine: not supported" refused.err &&
  ok "--migrate of a refused setting exits 78 naming FILE:LINE" ||
  bad "--migrate of a refused setting exits 78 naming FILE:LINE" "exit $rc: $(cat refused.err)"

"$milter" --migrate opendkim.conf --config x.toml >both.out 2>&1
rc=$?
[ $rc -eq 64 ] && ok "--migrate with --config is a usage error" ||
  bad "--migrate with --config is a usage error" "exit $rc: $(cat both.out)"

rig_summary && [ "$passed" -gt 0 ]
