#!/usr/bin/env bash
# Creates or refreshes the project-local Python virtualenv (.venv) from requirements-dev.txt.
# Idempotent: does nothing when .venv already matches the requirements file.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp="$venv/.requirements.sha256"
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "$want" > "$stamp"
