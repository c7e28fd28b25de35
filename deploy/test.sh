#!/usr/bin/env bash
# Runs every test of Mesh (unit and integration, against real etcd processes), installing what they need.
# Ends with the line "N passed, N failed"; exits non-zero when a test fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(mesh_root)

prepare
# The monitoring tests report to a real InfluxDB and load the status page in headless Chromium.
ensure_influxdb
command -v chromium >/dev/null || ensure_packages chromium
# The TLS tests make their certificates with openssl.
command -v openssl >/dev/null || ensure_packages openssl
# The terminal tests run the chat screen under tmux.
command -v tmux >/dev/null || ensure_packages tmux
# The clock-skew tests run peers under libfaketime.
command -v faketime >/dev/null || ensure_packages faketime
# The loop test traces a peer's loop thread with strace.
command -v strace >/dev/null || ensure_packages strace
# The integration tests run the peer exactly as deploy/mesh.sh does.
MESH_DLL=$(publish_peer)
export MESH_DLL

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
dotnet test "$root/Mesh.sln" -c Release --no-build -nologo \
  --results-directory "$results" --logger "trx" --logger "console;verbosity=normal" "$@" || status=$?

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p))
  failed=$((failed + f))
done

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The runner failed without a failing test (a crash, a build problem): count it as a failure.
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
