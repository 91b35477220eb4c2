#!/usr/bin/env bash
# Regenerate shared/proto/envoy-api.pb: the Envoy API protos meshgate encodes and decodes, taken
# from the Go module github.com/envoyproxy/go-control-plane/envoy at the version of the Envoy that
# scripts/setup.sh installs (its generated code embeds every file's descriptor). Needs Go and
# the Go module proxy; run it after changing ENVOY_VERSION or the file list below, and commit
# the result. test/unit/proto-root.test.ts fails while the versions differ.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$PATH:/usr/local/go/bin"

envoy_version=$(sed -n 's/^ENVOY_VERSION=//p' "$root/scripts/setup.sh")
module_version=$(sed -n 's#^\s*github.com/envoyproxy/go-control-plane/envoy v##p' "$here/go.mod")
if [[ "$module_version" != "$envoy_version" ]]; then
  echo "generate.sh: go.mod has go-control-plane/envoy v$module_version, set-up installs Envoy $envoy_version;" >&2
  echo "  run: (cd $here && go get github.com/envoyproxy/go-control-plane/envoy@v$envoy_version && go mod tidy)" >&2
  exit 1
fi

# Every file a component encodes or decodes; what they import comes along.
files=(
  envoy/service/discovery/v3/ads.proto
  envoy/config/cluster/v3/cluster.proto
  envoy/config/endpoint/v3/endpoint.proto
  envoy/config/listener/v3/listener.proto
  envoy/config/route/v3/route.proto
  envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
  envoy/extensions/filters/http/router/v3/router.proto
  envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto
  envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto
  envoy/extensions/filters/http/oauth2/v3/oauth.proto
  envoy/extensions/filters/http/buffer/v3/buffer.proto
  envoy/extensions/filters/http/json_to_metadata/v3/json_to_metadata.proto
  envoy/extensions/filters/http/composite/v3/composite.proto
  envoy/extensions/filters/http/admission_control/v3/admission_control.proto
  envoy/extensions/common/matching/v3/extension_matcher.proto
  envoy/extensions/filters/common/matcher/action/v3/skip_action.proto
  envoy/extensions/filters/http/grpc_json_transcoder/v3/transcoder.proto
  envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto
  envoy/extensions/filters/http/cors/v3/cors.proto
  envoy/extensions/filters/http/custom_response/v3/custom_response.proto
  envoy/extensions/http/custom_response/local_response_policy/v3/local_response_policy.proto
  envoy/extensions/filters/http/lua/v3/lua.proto
  envoy/type/matcher/v3/http_inputs.proto
  envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto
  envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto
  envoy/extensions/upstreams/http/v3/http_protocol_options.proto
  envoy/extensions/load_balancing_policies/override_host/v3/override_host.proto
  envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto
  envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto
  envoy/extensions/load_balancing_policies/random/v3/random.proto
  envoy/extensions/filters/http/upstream_codec/v3/upstream_codec.proto
  envoy/extensions/access_loggers/stream/v3/stream.proto
  envoy/extensions/access_loggers/grpc/v3/als.proto
  envoy/extensions/access_loggers/filters/cel/v3/cel.proto
  envoy/service/accesslog/v3/als.proto
  envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto
  envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto
  envoy/extensions/transport_sockets/tls/v3/secret.proto
  envoy/extensions/transport_sockets/tls/v3/tls.proto
  envoy/service/auth/v3/external_auth.proto
  envoy/service/ext_proc/v3/external_processor.proto
  envoy/service/ratelimit/v3/rls.proto
)

bin=$(mktemp -d)/envoy-protos
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$here" && go build -o "$bin" .)
"$bin" "$root/shared/proto/envoy-api.pb" "${files[@]}"
printf '{\n  "envoy": "%s",\n  "source": "github.com/envoyproxy/go-control-plane/envoy@v%s"\n}\n' "$envoy_version" "$module_version" >"$root/shared/proto/envoy-api.version.json"
