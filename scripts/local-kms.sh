#!/usr/bin/env bash
# Installs local-kms (a KMS emulator that enforces key states) into .tools/bin with `go install`.
# Idempotent; prints the binary's path. LOCAL_KMS_VERSION pins another version (default: latest).
# The key-state tests prefer it; where it cannot be installed they use scripts/localstack-kms.sh instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.tools/bin/local-kms
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "local-kms.sh: go is not installed" >&2; exit 1; }
  mkdir -p .tools/bin
  GOBIN="$PWD/.tools/bin" go install "github.com/nsmithuk/local-kms@${LOCAL_KMS_VERSION:-latest}" >&2
fi
echo "$PWD/$bin"
