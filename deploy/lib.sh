# Shared by the deploy scripts: installing what Mesh needs from Debian's packages, and building it.
# shellcheck shell=bash

mesh_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages that are missing; refreshes the package lists once if an install fails.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "mesh: installing ${missing[*]}" >&2
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# How every etcd these scripts start keeps its database bounded (docs/monitoring.md): old revisions compacted
# every hour, and a stated quota (etcd's default, 2 GiB) past which it raises its NOSPACE alarm.
MESH_ETCD_QUOTA_BYTES=${MESH_ETCD_QUOTA_BYTES:-2147483648}
etcd_hygiene=(--auto-compaction-mode periodic --auto-compaction-retention 1h --quota-backend-bytes "$MESH_ETCD_QUOTA_BYTES")

# Who listens on a loopback TCP port: "NAME (pid N)", or nothing (and status 1) when the port is free.
port_holder() {
  local line
  line=$(ss -ltnpH "sport = :$1" 2>/dev/null | head -1) || true
  [ -n "$line" ] || return 1
  if [[ $line =~ users:\(\(\"([^\"]+)\",pid=([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]})"
  else
    echo "another process"
  fi
}

# The pid listening on a port, if any.
port_pid() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }

# Refuses, in one line naming the port and who holds it, when any of the ports is taken.
require_free_ports() {
  local what=$1 port holder
  shift
  for port in "$@"; do
    if holder=$(port_holder "$port"); then
      echo "mesh: cannot start $what: port $port is taken by $holder" >&2
      return 1
    fi
  done
}

ensure_etcd() {
  command -v etcd >/dev/null && command -v etcdctl >/dev/null && return 0
  ensure_packages etcd-server etcd-client
}

ensure_influxdb() {
  command -v influxd >/dev/null && return 0
  ensure_packages influxdb
}

# The status page's chart library comes from npm at build time.
ensure_npm() {
  command -v npm >/dev/null && return 0
  ensure_packages npm
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null; then
    echo "mesh: the .NET 10 SDK is required (dotnet on PATH): README.md, 'Before the first run', says how to get it" >&2
    exit 1
  fi
}

# The peer as it is run: published ReadyToRun (precompiled), so that a peer does not spend its first seconds, and
# its memory, compiling itself (docs/performance.md). Prints the path of mesh.dll; falls back to the plain build,
# with a warning, if the precompiled publish cannot be made (the compiler package comes from NuGet).
# The published peer, if it is newer than every source it is built from (status 1 otherwise): a second
# deploy/mesh.sh run starts it without building.
fresh_peer() {
  local root out
  root=$(mesh_root)
  out="$root/Peer/bin/Release/ready"
  [ -f "$out/mesh.dll" ] && [ -f "$out/.published" ] || return 1
  if find "$root/Peer" "$root/Coordinator" "$root/Monitoring" "$root/Directory.Build.props" \
      \( -name bin -o -name obj -o -name node_modules \) -prune -o -type f -newer "$out/.published" -print -quit | grep -q .; then
    return 1
  fi
  echo "$out/mesh.dll"
}

# Whether an etcd answers at an endpoint.
etcd_answers() {
  command -v etcdctl >/dev/null && ETCDCTL_API=3 etcdctl --endpoints "$1" --dial-timeout=1s endpoint health >/dev/null 2>&1
}

# Makes `mesh` a command on the PATH (a link to deploy/mesh.sh, in MESH_BIN_DIR when set), once; says so when it
# does, and when it takes the command over from another checkout.
link_command() {
  local root target dir previous
  root=$(mesh_root)
  target="$root/deploy/mesh.sh"
  if [ -n "${MESH_BIN_DIR:-}" ]; then dir=$MESH_BIN_DIR
  elif [ -w /usr/local/bin ]; then dir=/usr/local/bin; else dir="$HOME/.local/bin"; fi
  mkdir -p "$dir"
  previous=$(readlink "$dir/mesh" 2>/dev/null || true)
  [ "$previous" = "$target" ] && return 0
  [ -e "$dir/mesh" ] && [ ! -L "$dir/mesh" ] && return 0
  ln -sfn "$target" "$dir/mesh" 2>/dev/null || return 0
  if [ -n "$previous" ]; then
    # Another checkout had the command: said, so that nobody runs a different Mesh than they think.
    echo "mesh: \`mesh\` ran $previous; it now runs this checkout ($target)" >&2
    return 0
  fi
  case ":$PATH:" in
    *":$dir:"*) echo "mesh: \`mesh\` is now a command ($dir/mesh -> $target)" >&2 ;;
    *) echo "mesh: linked $dir/mesh -> $target; add $dir to PATH to run \`mesh\` from anywhere" >&2 ;;
  esac
}

publish_peer() {
  local root rid log out
  root=$(mesh_root)
  out="$root/Peer/bin/Release/ready"
  rid=$(dotnet --info 2>/dev/null | sed -n 's/^ *RID: *//p' | head -1)
  log=$(mktemp)
  if [ -n "$rid" ] && dotnet publish "$root/Peer/Mesh.Peer.csproj" -c Release -r "$rid" --self-contained false \
      -p:PublishReadyToRun=true -o "$out" -nologo -v q >"$log" 2>&1; then
    rm -f "$log"
    touch "$out/.published"
    echo "$out/mesh.dll"
    return 0
  fi
  echo "mesh: could not publish the precompiled peer ($(grep -m1 -E "error" "$log" || echo "runtime id '${rid:-unknown}'")); using the plain build" >&2
  rm -f "$log"
  echo "$root/Peer/bin/Release/net10.0/mesh.dll"
}

# Builds the solution in Release quietly; prints the build's errors and fails when it does not build.
build_release() {
  local root log
  root=$(mesh_root)
  log=$(mktemp)
  if ! dotnet build "$root/Mesh.sln" -c Release -nologo -v q >"$log" 2>&1; then
    grep -E "error" "$log" | sort -u >&2 || cat "$log" >&2
    rm -f "$log"
    echo "mesh: build failed" >&2
    exit 1
  fi
  rm -f "$log"
}

# What every script that runs peers needs first: .NET, etcd, npm (for the build) and the Release build.
prepare() {
  ensure_dotnet
  ensure_etcd
  ensure_npm
  build_release
}
