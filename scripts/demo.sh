#!/bin/sh
# `npm run demo`: install what is missing, build, run the demo.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
npm run --silent build
exec node scripts/demo.mjs "$@"
