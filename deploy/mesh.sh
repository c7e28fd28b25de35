#!/usr/bin/env bash
# Runs Mesh, installing what it needs: `deploy/mesh.sh join ops --name amy`.
# When no etcd is configured (no --etcd, no MESH_ETCD) and none answers on 127.0.0.1:2379, a local single-node etcd
# is started under MESH_HOME and left running for other local peers (deploy/local-etcd.sh stop ends it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(mesh_root)

prepare
dll=$(publish_peer)

configured=${MESH_ETCD:-}
for arg in "$@"; do
  case "$arg" in --etcd|--etcd=*) configured=yes ;; esac
done
if [ -z "$configured" ]; then
  "$root/deploy/local-etcd.sh" start
fi

exec dotnet "$dll" "$@"
