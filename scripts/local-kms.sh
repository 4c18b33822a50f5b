#!/usr/bin/env bash
# Installs local-kms (a KMS emulator that enforces key states) into .tools/bin with `go install`.
# Idempotent (the installed version is stamped beside the binary); prints the binary's path. The version is pinned
# for repeatable runs; LOCAL_KMS_VERSION picks another.
# The key-state tests prefer it; where it cannot be installed they use scripts/localstack-kms.sh instead.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${LOCAL_KMS_VERSION:-v0.0.0-20260228092603-2a5e92d09ab6}
bin=.tools/bin/local-kms
stamp=.tools/bin/local-kms.version
mkdir -p .tools/bin
exec 9>.tools/local-kms.lock
flock 9
if [ ! -x "$bin" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$version" ]; then
  command -v go >/dev/null || { echo "local-kms.sh: go is not installed" >&2; exit 1; }
  GOBIN="$PWD/.tools/bin" go install "github.com/nsmithuk/local-kms@$version" >&2
  echo "$version" > "$stamp"
fi
echo "$PWD/$bin"
