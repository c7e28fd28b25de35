#!/usr/bin/env bash
# A local InfluxDB 1.x (Debian's influxdb) for metrics, kept under MESH_HOME (default ~/.mesh), loopback only.
#   deploy/local-influxdb.sh start    start it (if not running) on 127.0.0.1:8086; usage reporting off
#   deploy/local-influxdb.sh stop     stop it (its data stays in $MESH_HOME/influxdb)
#   deploy/local-influxdb.sh status   say whether it runs
# Peers and mesh monitor report to it with --influx http://127.0.0.1:8086 (database "mesh", created by them).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

home=${MESH_HOME:-$HOME/.mesh}
dir="$home/influxdb"
pidfile="$home/influxdb.pid"
logfile="$home/influxdb.log"
http=127.0.0.1:${MESH_INFLUX_PORT:-8086}
rpc=127.0.0.1:${MESH_INFLUX_RPC_PORT:-8088}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
healthy() { curl -fsS -o /dev/null --max-time 1 "http://$http/ping" 2>/dev/null; }

case "${1:-}" in
  start)
    ensure_influxdb
    command -v curl >/dev/null || ensure_packages curl
    if healthy; then exit 0; fi
    if running; then echo "mesh: local InfluxDB (pid $(cat "$pidfile")) runs but does not answer on $http" >&2; exit 1; fi
    mkdir -p "$dir" && chmod 700 "$home" "$dir"
    cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "$http"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
    setsid nohup influxd run -config "$dir/influxdb.conf" >>"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 150); do
      if healthy; then echo "mesh: local InfluxDB started on http://$http (data $dir; stop it with deploy/local-influxdb.sh stop)" >&2; exit 0; fi
      running || break
      sleep 0.2
    done
    echo "mesh: local InfluxDB did not start; see $logfile" >&2
    exit 1
    ;;
  stop)
    if running; then kill "$(cat "$pidfile")"; rm -f "$pidfile"; echo "mesh: local InfluxDB stopped" >&2; else echo "mesh: local InfluxDB is not running" >&2; fi
    ;;
  status)
    if running && healthy; then echo "running on http://$http (pid $(cat "$pidfile"))"; else echo "not running"; exit 1; fi
    ;;
  *)
    echo "usage: deploy/local-influxdb.sh start|stop|status" >&2
    exit 2
    ;;
esac
