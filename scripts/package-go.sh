#!/usr/bin/env bash
# Builds the Go module into dist/go: jsii-pacmak generates the code, then the module is built and vetted against
# the lowest aws-cdk-lib the package supports (its peer dependency), as the Python and Java packages declare.
# jsii-pacmak alone would require the aws-cdk-lib version installed for development instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
started=$(date +%s)

rm -rf dist/go
npx jsii-pacmak --target go --code-only
module_dir=$(dirname "$(find dist/go -name go.mod | head -n 1)")

min_cdk=$(node -p "require('./package.json').peerDependencies['aws-cdk-lib'].replace(/^[~^>=\s]+/, '')")
# The generated go.mod also lists indirect dependencies of the installed aws-cdk-lib; tidy recomputes them.
sed -i -E "s#(github.com/aws/aws-cdk-go/awscdk/v2) v[0-9][^ ]*#\1 v${min_cdk}#; \#// indirect#d" "$module_dir/go.mod"
(
  cd "$module_dir"
  if ! go mod tidy; then
    echo "go mod tidy failed: github.com/aws/aws-cdk-go/awscdk/v2 v${min_cdk} (the aws-cdk-lib peer dependency) must be available from GOPROXY ($(go env GOPROXY))" >&2
    exit 1
  fi
  go build ./...
  go vet ./...
)
echo "Go module built in $module_dir against aws-cdk-go v${min_cdk} in $(( $(date +%s) - started )) s"
