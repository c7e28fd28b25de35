#!/usr/bin/env bash
# Runs the benchmark suite (tests/Mesh.Bench) against the peer as deploy/mesh.sh runs it, installing what it needs:
# `deploy/bench.sh` (about 12 minutes; refreshes docs/performance.md), `deploy/bench.sh --quick`, `--only throughput`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(mesh_root)

prepare
MESH_DLL=$(publish_peer)
export MESH_DLL
exec dotnet run -c Release --no-build --project "$root/tests/Mesh.Bench" -- "$@"
