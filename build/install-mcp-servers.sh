#!/usr/bin/env bash
# Installs the pinned MCP servers the tests and examples start over stdio into .tools/mcp/ (git-ignored).
# Idempotent: does nothing when the pinned versions are there already. Used by .ci/run and by the tests' setup.
set -euo pipefail
cd "$(dirname "$0")/.."

everything=2026.8.31
memory=2026.8.31
dir=.tools/mcp
stamp="$dir/installed-$everything-$memory"

if [ -f "$stamp" ] && [ -x "$dir/node_modules/.bin/mcp-server-everything" ] && [ -x "$dir/node_modules/.bin/mcp-server-memory" ]; then
  exit 0
fi

mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{ "private": true }' > "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
  "@modelcontextprotocol/server-everything@$everything" "@modelcontextprotocol/server-memory@$memory" >&2
touch "$stamp"
