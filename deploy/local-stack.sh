#!/usr/bin/env bash
# What deploy/docker-compose.yml runs, from Debian's packages and without Docker, all on loopback:
# a 3-member etcd cluster (client ports 2379, 22379, 32379), InfluxDB 1.x (8086) and mesh monitor (status page on
# 8090, reporting to InfluxDB). State lives under MESH_HOME (default ~/.mesh)/stack.
#   deploy/local-stack.sh start | stop | status
# Then run peers with: deploy/mesh.sh join ops --name amy --etcd "$(deploy/local-stack.sh endpoints)" --influx http://127.0.0.1:8086
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(mesh_root)

home=${MESH_HOME:-$HOME/.mesh}
stack="$home/stack"
members=(s1 s2 s3)
clients=(2379 22379 32379)
peers=(2380 22380 32380)
endpoints="http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379"
initial="s1=http://127.0.0.1:2380,s2=http://127.0.0.1:22380,s3=http://127.0.0.1:32380"

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
cluster_healthy() { ETCDCTL_API=3 etcdctl --endpoints "$endpoints" --dial-timeout=1s endpoint health >/dev/null 2>&1; }

# Every endpoint answers for the same cluster (a member that died on a busy port and was replaced by another
# process's etcd would not).
one_cluster() {
  local ids
  ids=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoints" --dial-timeout=1s endpoint status -w json 2>/dev/null \
    | grep -o '"cluster_id":[0-9]*' | sort -u)
  if [ "$(printf '%s\n' "$ids" | grep -c cluster_id)" -ne 1 ]; then
    echo "mesh: the endpoints $endpoints do not answer as one etcd cluster (cluster ids: $(printf '%s' "$ids" | tr '\n' ' '))" >&2
    return 1
  fi
}

start() {
  # Every port checked before anything starts or installs: a half-started stack on someone else's ports is worse
  # than none.
  local busy=()
  for i in 0 1 2; do running "$stack/etcd-${members[$i]}.pid" || busy+=("${clients[$i]}" "${peers[$i]}"); done
  running "$stack/monitor.pid" || busy+=(8090)
  running "$home/influxdb.pid" || busy+=(8086 8088)
  require_free_ports "the local stack" "${busy[@]}" || exit 1
  ensure_dotnet
  ensure_etcd
  ensure_npm
  mkdir -p "$stack" && chmod 700 "$home" "$stack"
  for i in 0 1 2; do
    local name=${members[$i]} pidfile="$stack/etcd-${members[$i]}.pid"
    running "$pidfile" && continue
    setsid nohup etcd --name "$name" --data-dir "$stack/etcd-$name" \
      --listen-client-urls "http://127.0.0.1:${clients[$i]}" --advertise-client-urls "http://127.0.0.1:${clients[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${peers[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peers[$i]}" \
      --initial-cluster "$initial" --initial-cluster-token mesh-local-stack "${etcd_hygiene[@]}" \
      >>"$stack/etcd-$name.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  done
  for _ in $(seq 1 150); do cluster_healthy && break; sleep 0.2; done
  cluster_healthy || { echo "mesh: the etcd cluster did not start; see $stack/etcd-*.log" >&2; exit 1; }
  one_cluster || exit 1
  MESH_HOME=$home "$root/deploy/local-influxdb.sh" start
  build_release
  if ! running "$stack/monitor.pid"; then
    dll=$(publish_peer)
    setsid nohup dotnet "$dll" monitor --etcd "$endpoints" \
      --http 127.0.0.1:8090 --influx http://127.0.0.1:8086 --etcd-quota "$MESH_ETCD_QUOTA_BYTES" >>"$stack/monitor.log" 2>&1 </dev/null &
    echo $! >"$stack/monitor.pid"
  fi
  echo "mesh: etcd cluster at $endpoints, InfluxDB at http://127.0.0.1:8086, status page at http://127.0.0.1:8090/" >&2
}

stop() {
  for pidfile in "$stack/monitor.pid" "$stack"/etcd-*.pid; do
    if running "$pidfile"; then kill "$(cat "$pidfile")"; fi
    rm -f "$pidfile"
  done
  MESH_HOME=$home "$root/deploy/local-influxdb.sh" stop
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  endpoints) echo "$endpoints" ;;
  status)
    ok=0
    for i in 0 1 2; do
      name=${members[$i]}
      if running "$stack/etcd-$name.pid"; then
        echo "etcd $name: running on ${clients[$i]} (pid $(cat "$stack/etcd-$name.pid"))"
      elif holder=$(port_holder "${clients[$i]}"); then
        echo "etcd $name: not running; port ${clients[$i]} is held by $holder"; ok=1
      else
        echo "etcd $name: not running"; ok=1
      fi
    done
    cluster_healthy && { one_cluster && echo "etcd: one healthy cluster at $endpoints" || ok=1; } || { echo "etcd: the cluster does not answer"; ok=1; }
    running "$stack/monitor.pid" && echo "mesh monitor: running (http://127.0.0.1:8090/)" || { echo "mesh monitor: not running"; ok=1; }
    MESH_HOME=$home "$root/deploy/local-influxdb.sh" status | sed 's/^/influxdb: /' || ok=1
    exit $ok
    ;;
  *)
    echo "usage: deploy/local-stack.sh start|stop|status|endpoints" >&2
    exit 2
    ;;
esac
