#!/usr/bin/env bash
# Go smoke test: builds smoke/go/main.go against the Go module in dist/go (and the aws-cdk-go version that module was
# built against), synthesizes it, and compares the template with its TypeScript twin's (smoke/go/app.ts).
# Builds the module first when dist/go has none or src/ changed since.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
root=$PWD
work=$root/cdk.out.quality/smoke-go
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

module_mod=$(find dist/go -name go.mod 2>/dev/null | head -n 1 || true)
if [ -z "$module_mod" ] || [ -n "$(find src -newer "$module_mod" -print -quit)" ]; then
  echo "building the Go module (compile + package:go)"
  npx projen compile
  npx projen package:go
  module_mod=$(find dist/go -name go.mod | head -n 1)
fi
module_dir=$(cd "$(dirname "$module_mod")" && pwd)
module=$(sed -n 's/^module //p' "$module_mod")
go_version=$(sed -n 's/^go //p' "$module_mod")
cdk=$(sed -n -E 's#^\s*github.com/aws/aws-cdk-go/awscdk/v2 (v[^ ]+).*#\1#p' "$module_mod" | head -n 1)
[ -n "$module" ] && [ -n "$cdk" ] || { echo "smoke-go: $module_mod names no module or no aws-cdk-go version" >&2; exit 1; }
echo "module: $module from $module_dir, aws-cdk-go $cdk ($(elapsed))"

rm -rf "$work" && mkdir -p "$work/app"
cp smoke/go/main.go "$work/app/"
cat > "$work/app/go.mod" <<EOF
module cdkcmeksmoke

go $go_version

require (
	$module v0.0.0
	github.com/aws/aws-cdk-go/awscdk/v2 $cdk
)

replace $module => $module_dir
EOF
(
  cd "$work/app"
  go mod tidy
  go build -o "$work/smoke" .
)
echo "Go app built ($(elapsed))"
CDK_OUTDIR="$work/go.out" "$work/smoke" "$root/examples/seed/vendor-manifest.json"
echo "Go app synthesized ($(elapsed))"
CDK_OUTDIR="$work/typescript.out" npx ts-node --transpile-only --project tsconfig.dev.json smoke/go/app.ts
echo "TypeScript twin synthesized ($(elapsed))"

python3 smoke/compare.py "$work/typescript.out" "$work/go.out" Go
echo "smoke test passed in $(elapsed)"
