#!/usr/bin/env bash
# Installs the pinned TypeScript compiler the editor-setup tests type-check the example .js workflows with into
# .tools/typescript/ (git-ignored). Idempotent: does nothing when the pinned version is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

version=7.0.2
dir=.tools/typescript
stamp="$dir/installed-$version"

if [ -f "$stamp" ] && [ -x "$dir/node_modules/.bin/tsc" ]; then
  exit 0
fi

mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{ "private": true }' > "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "typescript@$version" >&2
touch "$stamp"
