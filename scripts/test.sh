#!/bin/sh
# `npm test`: install what is missing, build, run every test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
npm run --silent build
exec npx vitest run "$@"
