#!/usr/bin/env bash
# Installs LocalStack (pure Python, run on the host: no Docker) into .tools/localstack-venv from the pinned
# scripts/localstack-kms.requirements.txt. Its KMS enforces key states like AWS KMS does: the key-state tests use it
# when local-kms (scripts/local-kms.sh) cannot be installed. `test:deploy` deploys to its CloudFormation.
# Idempotent (a stamp of the requirements file) and safe to run from parallel test workers (flock).
# Needs Python >= 3.13: LOCALSTACK_PYTHON, else python3.13 / python3 from PATH, else a pyenv-installed 3.13+.
# Prints the virtualenv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
req=scripts/localstack-kms.requirements.txt
venv=.tools/localstack-venv
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
mkdir -p .tools
exec 9>.tools/localstack-venv.lock
flock 9
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$PWD/$venv/bin/python"
  exit 0
fi

new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 13))' >/dev/null 2>&1; }
python=""
for candidate in ${LOCALSTACK_PYTHON:-} python3.13 python3; do
  if new_enough "$candidate"; then python=$candidate; break; fi
done
if [ -z "$python" ] && command -v pyenv >/dev/null; then
  for v in $(pyenv versions --bare --skip-aliases 2>/dev/null | grep -E '^3\.(1[3-9]|[2-9][0-9])(\.[0-9]+)?$' | sort -V -r); do
    candidate="$(pyenv root)/versions/$v/bin/python3"
    if new_enough "$candidate"; then python=$candidate; break; fi
  done
fi
[ -n "$python" ] || { echo "localstack-kms.sh: no Python >= 3.13 found (set LOCALSTACK_PYTHON)" >&2; exit 1; }

rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req" >&2
# The AWS service catalog index that LocalStack's image builds ahead of time (saves ~3 s on each start's first
# request); the tests copy it into each instance's FILESYSTEM_ROOT/usr/lib/localstack.
mkdir -p "$venv/fs/usr/lib/localstack"
OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$PWD/$venv/fs" "$venv/bin/python" -m localstack.aws.spec >&2
echo "$want" > "$stamp"
echo "$PWD/$venv/bin/python"
