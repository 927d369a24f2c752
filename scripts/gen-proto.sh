#!/usr/bin/env bash
# Regenerates src/proto/gen/*.ts from src/proto/*.proto (the generated code is committed).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf src/proto/gen
npx buf generate
