#!/usr/bin/env bash
# The install path a user takes, end to end: pack the `orchestrator` .NET tool, install it into a fresh tool path,
# and run the example workflow with it from an empty folder (the standard plugins must travel in the package).
# Prints one line, "tool install: ok" or "tool install: FAILED …", and exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "tool install: FAILED: $*"; exit 1; }

dotnet pack engine/Orchestrator.Cli -c Release -o artifacts/packages >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "dotnet pack"; }
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)
dotnet tool install --tool-path "$work/tools" orchestrator --version "$version" --add-source artifacts/packages >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "dotnet tool install"; }

printed=$("$work/tools/orchestrator" --version) || fail "orchestrator --version"
[[ "$printed" == "$version"* ]] || fail "orchestrator --version printed '$printed', not $version"

mkdir "$work/empty" && cd "$work/empty" || fail "no temporary folder"
"$work/tools/orchestrator" run "$OLDPWD/scripts/hello.csx" >"$work/run.log" 2>&1 || { cat "$work/run.log"; fail "orchestrator run scripts/hello.csx"; }
grep -q '"greeting": "hello, world"' "$work/run.log" || { cat "$work/run.log"; fail "unexpected output"; }
[ -d "$work/empty/.orchestrator" ] || fail "no store in the current folder"
echo "tool install: ok ($printed)"
