#!/usr/bin/env bash
# Runs the construct tests against the lowest aws-cdk-lib the package accepts (the floor of its peer dependency)
# instead of the newer one it is developed with: Java and Go users build against that floor, because Maven Central
# and the Go module proxy serve older aws-cdk-lib releases than npm. Handler, bundle and emulator tests are left
# out: they do not load aws-cdk-lib. Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

floor=$(node -p "require('./package.json').peerDependencies['aws-cdk-lib'].replace(/^[~^>=\s]+/, '')")
dir=.tools/cdk-floor/$floor
if [ ! -f "$dir/node_modules/aws-cdk-lib/package.json" ]; then
  mkdir -p "$dir"
  echo '{ "private": true }' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts "aws-cdk-lib@$floor" >&2
fi
got=$(node -p "require('./$dir/node_modules/aws-cdk-lib/package.json').version")
[ "$got" = "$floor" ] || { echo "test-cdk-floor: expected aws-cdk-lib $floor in $dir, found $got" >&2; exit 1; }

# The project's jest configuration, with every `aws-cdk-lib` import (ours, the tests' and cdk-nag's) mapped to the floor.
config=$dir/jest.config.json
node -e '
const [dir, out] = process.argv.slice(1);
const path = require("node:path");
const jest = require("./package.json").jest;
const lib = path.resolve(dir, "node_modules", "aws-cdk-lib");
const config = {
  ...jest,
  rootDir: process.cwd(),
  collectCoverage: false,
  reporters: ["default"],
  moduleNameMapper: { "^aws-cdk-lib$": lib, "^aws-cdk-lib/(.*)$": `${lib}/$1` },
  testPathIgnorePatterns: [
    "/node_modules/",
    "/test/quality/",
    "/test/cli/",
    "\\.lambda\\.test\\.ts$",
    "/test/envelope/(bundle|format|handler|interop|key-states|roundtrip)\\.test\\.ts$",
    "/test/monitoring/(filter-pattern|rate-limiter|pending-deletion-key-states|key-usage-auditor\\.bundle)\\.test\\.ts$",
  ],
};
require("node:fs").writeFileSync(out, JSON.stringify(config, null, 1));
' "$dir" "$config"

echo "construct tests against aws-cdk-lib $floor (developed with $(node -p "require('aws-cdk-lib/package.json').version"))"
# Two workers: these suites only synthesize (no emulator, no port), so they run side by side on CI's two cores, where
# jest's default (cores - 1) would run them one at a time.
npx jest --config "$config" --ci --maxWorkers=2 "$@"
