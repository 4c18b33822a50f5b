#!/usr/bin/env bash
# Python smoke test: installs the built wheel and cdk-nag into a fresh virtualenv, synthesizes smoke/python/app.py (the
# example app in Python) and compares every template with the TypeScript example app's, then runs the README's Python
# samples. Builds the wheel first when dist/python has none or src/ changed since.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
work=cdk.out.quality/smoke-python
rm -rf "$work" && mkdir -p "$work"
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

wheel=$(ls dist/python/cdk_cmek-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ] || [ -n "$(find src -newer "$wheel" -print -quit)" ]; then
  echo "building the wheel (compile + package:python)"
  npx projen compile
  npx projen package:python
  wheel=$(ls dist/python/cdk_cmek-*.whl | head -n 1)
fi
echo "wheel: $wheel ($(elapsed))"

python3 -m venv "$work/venv"
pip="$work/venv/bin/pip"
"$pip" install --quiet --disable-pip-version-check --upgrade pip
# As a pip user would: the wheel's own requirements (aws-cdk-lib from the peer dependency's floor up) pick the newest
# aws-cdk-lib the package index has, which can be older than the one the TypeScript app runs with.
# cdk-nag at the version the TypeScript app runs with, so both apply the same AwsSolutions rules.
nag=$(node -p "require('cdk-nag/package.json').version")
"$pip" install --quiet --disable-pip-version-check "$wheel" "cdk-nag==$nag"
echo "aws-cdk-lib $("$work/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("aws-cdk-lib"))') in Python," \
  "$(node -p "require('aws-cdk-lib/package.json').version") in TypeScript"
echo "virtualenv ready ($(elapsed))"

npx ts-node --transpile-only --project tsconfig.dev.json smoke/synth-example.ts "$work/typescript.out" "$work/context.json"
echo "TypeScript example app synthesized ($(elapsed))"
CDK_CONTEXT_JSON="$(cat "$work/context.json")" CDK_OUTDIR="$work/python.out" "$work/venv/bin/python" smoke/python/app.py
echo "Python example app synthesized ($(elapsed))"

"$work/venv/bin/python" smoke/compare.py "$work/typescript.out" "$work/python.out" Python
# jsii-rosetta compiles the README's TypeScript samples; its Python ones are checked here, against the wheel.
CDK_OUTDIR="$work/readme.out" "$work/venv/bin/python" smoke/python/readme_samples.py README.md
echo "smoke test passed in $(elapsed)"
