#!/usr/bin/env bash
# Regenerate demo/protos/inference.pb and inference-v2.pb (the next version, one method more) from demo/protos (the gRPC demo's descriptors, served by its
# reflection): needs Go and the Go module proxy; run it after changing a .proto, and commit the result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
(cd "$here" && go run . "$root/demo/protos/inference.pb" "$root/demo/protos:$root/shared/proto/googleapis" meshgate/demo/v1/inference.proto)
(cd "$here" && go run . "$root/demo/protos/inference-v2.pb" "$root/demo/protos:$root/shared/proto/googleapis" meshgate/demo/v1/inference_v2.proto)
