#!/usr/bin/env bash
# The install path a user takes, end to end: pack the `orchestrator` .NET tool, install it into a fresh tool path,
# and run the example workflow with it from an empty folder (the standard plugins must travel in the package); then
# the plugin author's path outside any clone: the template package, a plugin restored from the contract package, its
# tests, and the installed tool running a workflow with it.
# Prints one line, "tool install: ok" or "tool install: FAILED …", and exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "tool install: FAILED: $*"; exit 1; }

repo=$PWD
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)
# The README's pack command: the tool, the contract and the templates packages.
dotnet pack -c Release -o artifacts/packages >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "dotnet pack"; }
for package in "orchestrator.$version" "Orchestrator.Abstractions.1.1.0" "Orchestrator.Templates.$version"; do
  [ -f "artifacts/packages/$package.nupkg" ] || fail "dotnet pack made no $package.nupkg"
done
dotnet tool install --tool-path "$work/tools" orchestrator --version "$version" --add-source artifacts/packages >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "dotnet tool install"; }

printed=$("$work/tools/orchestrator" --version) || fail "orchestrator --version"
[[ "$printed" == "$version"* ]] || fail "orchestrator --version printed '$printed', not $version"

mkdir "$work/empty" && cd "$work/empty" || fail "no temporary folder"
"$work/tools/orchestrator" run "$OLDPWD/scripts/hello.csx" >"$work/run.log" 2>&1 || { cat "$work/run.log"; fail "orchestrator run scripts/hello.csx"; }
grep -q '"greeting": "hello, world"' "$work/run.log" || { cat "$work/run.log"; fail "unexpected output"; }
[ -d "$work/empty/.orchestrator" ] || fail "no store in the current folder"
# The installed command is the native launcher: with a host serving the store, a run goes to the host, which renders it.
[ "$(head -c 4 "$(readlink -f "$work/tools/orchestrator")" | od -An -c | tr -d ' ')" = "177ELF" ] || fail "the installed command is not the native launcher"
cp "$OLDPWD/scripts/hello.csx" . || fail "no copy of hello.csx"
"$work/tools/orchestrator" serve >"$work/serve.log" 2>&1 &
serve=$!
for _ in $(seq 1 300); do [ -f .orchestrator/host.json ] && break; sleep 0.2; done
"$work/tools/orchestrator" run hello.csx --json >"$work/hosted.log" 2>&1; hosted=$?
kill "$serve"; wait "$serve" 2>/dev/null
[ $hosted -eq 0 ] || { cat "$work/serve.log" "$work/hosted.log"; fail "orchestrator run through the host"; }
run=$(sed -n 's/.*"runId":"\([^"]*\)".*/\1/p' "$work/hosted.log")
"$work/tools/orchestrator" runs show "$run" | grep -q "(pid $serve)" || { cat "$work/hosted.log"; fail "the host did not run it (the launcher ran it itself)"; }
# A private package cache: the contract package just packed must be the one restored, not an older copy of that version.
export NUGET_PACKAGES="$work/nuget-packages"
mkdir "$work/plugin" && cd "$work/plugin" || fail "no temporary folder"
cat >nuget.config <<EOF
<configuration>
  <packageSources>
    <add key="orchestrator" value="$repo/artifacts/packages" />
  </packageSources>
</configuration>
EOF
dotnet new install "$repo/artifacts/packages/Orchestrator.Templates.$version.nupkg" --debug:custom-hive "$work/hive" >"$work/new.log" 2>&1 \
  || { cat "$work/new.log"; fail "dotnet new install Orchestrator.Templates"; }
dotnet new orchestrator-plugin -n Foo --debug:custom-hive "$work/hive" >>"$work/new.log" 2>&1 || { cat "$work/new.log"; fail "dotnet new orchestrator-plugin"; }
grep -q 'PackageReference Include="Orchestrator.Abstractions"' Foo/Foo/Foo.csproj || fail "the plugin does not reference the contract package"
dotnet test Foo/Foo.slnx >"$work/test.log" 2>&1 || { cat "$work/test.log"; fail "dotnet test of the new plugin"; }
[ -d "$NUGET_PACKAGES/orchestrator.abstractions" ] || fail "the contract did not come from the package"
echo 'return await Agent("foo").RunAsync(new { text = "hello" });' >flow.csx
"$work/tools/orchestrator" run flow.csx --plugins Foo/Foo/bin/Debug/net10.0 --json >"$work/plugin-run.log" 2>&1 \
  || { cat "$work/plugin-run.log"; fail "orchestrator run with the new plugin"; }
grep -q '"HELLO"' "$work/plugin-run.log" || { cat "$work/plugin-run.log"; fail "the new plugin's agent did not answer"; }

echo "tool install: ok ($printed); plugin from the template package: ok"
