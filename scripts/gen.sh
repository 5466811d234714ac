#!/usr/bin/env bash
# Regenerates the gRPC code from proto/ (offline: buf and ts-proto run from node_modules).
#
#   scripts/gen.sh          lint the protos, regenerate grpc-server/gen/
#   scripts/gen.sh --check  lint, regenerate into a temporary directory and fail if the
#                           committed grpc-server/gen/ differs (CI runs this)
#
# grpc-server/gen/ holds the ts-proto output and rampart.binpb, the compiled descriptor set
# that the server reads for its generic message conversion and for reflection.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

buf="node_modules/.bin/buf"
plugin="node_modules/.bin/protoc-gen-ts_proto"
gen_dir="grpc-server/gen"

for tool in "$buf" "$plugin"; do
  if [[ ! -x "$tool" ]]; then
    echo "gen.sh: $tool is missing; run 'npm ci' first" >&2
    exit 2
  fi
done

check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *)
    echo "usage: scripts/gen.sh [--check]" >&2
    exit 2
    ;;
esac

# Writes the generated tree under the base directory $1 (buf prepends it to `out`).
generate() {
  local base="$1"
  "$buf" generate --template buf.gen.yaml -o "$base"
  "$buf" build --as-file-descriptor-set --exclude-source-info -o "$base/$gen_dir/rampart.binpb"
}

"$buf" lint
"$buf" format --diff --exit-code >/dev/null || {
  echo "gen.sh: proto/ is not in buf's canonical format; see 'node_modules/.bin/buf format -d'" >&2
  exit 1
}

if ! $check; then
  generate .
  echo "gen.sh: regenerated $gen_dir"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"
if ! diff -r "$gen_dir" "$tmp/$gen_dir" >"$tmp/diff.txt" 2>&1; then
  echo "gen.sh --check: $gen_dir is out of date with proto/ (or the generator versions)." >&2
  echo "Run 'npm run gen' and commit the result. Differences:" >&2
  head -n 80 "$tmp/diff.txt" >&2
  exit 1
fi
echo "gen.sh --check: $gen_dir is up to date"
