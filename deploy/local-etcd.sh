#!/usr/bin/env bash
# A local single-node etcd for peers on this machine, kept under MESH_HOME (default ~/.mesh).
#   deploy/local-etcd.sh start    start it (if not running) on 127.0.0.1:2379; it stays up for other local peers
#   deploy/local-etcd.sh stop     stop it (its data stays in $MESH_HOME/etcd)
#   deploy/local-etcd.sh status   say whether it runs, and what answers on 127.0.0.1:2379 if it does not
set -euo pipefail
source "$(dirname "$0")/lib.sh"

home=${MESH_HOME:-$HOME/.mesh}
data="$home/etcd"
pidfile="$home/etcd.pid"
logfile="$home/etcd.log"
client=http://127.0.0.1:2379
peer=http://127.0.0.1:2380

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
healthy() { ETCDCTL_API=3 etcdctl --endpoints "$client" --dial-timeout=1s endpoint health >/dev/null 2>&1; }

case "${1:-}" in
  start)
    ensure_etcd
    if running && healthy; then exit 0; fi
    if running; then echo "mesh: local etcd (pid $(cat "$pidfile")) runs but does not answer on $client" >&2; exit 1; fi
    require_free_ports "the local etcd of $home" 2379 2380
    mkdir -p "$home" && chmod 700 "$home"
    setsid nohup etcd --name mesh-local --data-dir "$data" \
      --listen-client-urls "$client" --advertise-client-urls "$client" \
      --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
      --initial-cluster "mesh-local=$peer" "${etcd_hygiene[@]}" >>"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if healthy; then echo "mesh: local etcd started on $client (data $data; stop it with deploy/local-etcd.sh stop)" >&2; exit 0; fi
      running || break
      sleep 0.2
    done
    echo "mesh: local etcd did not start; see $logfile" >&2
    exit 1
    ;;
  stop)
    if running; then kill "$(cat "$pidfile")"; rm -f "$pidfile"; echo "mesh: local etcd stopped" >&2; else echo "mesh: local etcd is not running" >&2; fi
    ;;
  status)
    if running && healthy; then echo "running on $client (pid $(cat "$pidfile"))"; exit 0; fi
    if running; then echo "running (pid $(cat "$pidfile")) but not answering on $client"; exit 1; fi
    if holder=$(port_holder 2379); then
      if healthy; then answers="an etcd answers there"; else answers="it does not answer as etcd"; fi
      echo "not running from $home; port 2379 is held by $holder: $answers"
    else
      echo "not running; nothing listens on 2379"
    fi
    exit 1
    ;;
  *)
    echo "usage: deploy/local-etcd.sh start|stop|status" >&2
    exit 2
    ;;
esac
