#!/usr/bin/env bash
# Runs Mesh, installing what it needs: `deploy/mesh.sh join ops --name amy` (after the first run, `mesh join ops`).
# The peer is built and published only when its sources changed since the last run.
# When no etcd is configured (no --etcd, no MESH_ETCD) and none answers on 127.0.0.1:2379, a local single-node etcd
# is started under MESH_HOME and left running for other local peers (deploy/local-etcd.sh stop ends it).
set -euo pipefail
script=$(readlink -f "${BASH_SOURCE[0]}")
source "$(dirname "$script")/lib.sh"
root=$(mesh_root)

ensure_dotnet
if ! dll=$(fresh_peer); then
  ensure_etcd
  ensure_npm
  if [ -f "$root/Peer/bin/Release/ready/.published" ]; then
    echo "mesh: the sources changed since the last build: building again (about 30 s)" >&2
  else
    echo "mesh: first run: building Mesh (1 to 2 minutes; it fetches packages from NuGet and npm, see README)" >&2
  fi
  dll=$(publish_peer)
fi
link_command

configured=${MESH_ETCD:-}
for arg in "$@"; do
  case "$arg" in --etcd|--etcd=*) configured=yes ;; esac
done
if [ -z "$configured" ] && ! etcd_answers http://127.0.0.1:2379; then
  "$root/deploy/local-etcd.sh" start
fi

if [ "${1:-}" = join ] && [ -z "${DOTNET_PROCESSOR_COUNT:-}" ] && [ "${MESH_SPIN:-}" != 1 ]; then
  # A peer's runtime waits without spinning (docs/performance.md): set here, the peer need not restart itself to get it.
  export MESH_CORES=$(nproc) DOTNET_PROCESSOR_COUNT=1
fi
exec dotnet "$dll" "$@"
