# Starts a throwaway PostgreSQL server for the tests: a new cluster in a temporary folder, on a free loopback port,
# its unix socket in that folder, run by an unprivileged user. Source it (bash):
#
#   source build/start-test-postgres.sh     # exports ORCHESTRATOR_TEST_POSTGRES (a connection string)
#   ...                                      # dotnet test, the bench, orchestrator run --store "$ORCHESTRATOR_TEST_POSTGRES"
#   stop_test_postgres                       # stops the server and deletes its folder
#
# Installs Debian's postgresql package with apt-get when no initdb is found (on PATH or in /usr/lib/postgresql/*/bin).
# Returns non-zero, with a line on stderr, when no server could be started.

_test_postgres_bin() {
  local initdb
  initdb=$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && dirname "$(readlink -f "$initdb")"
}

_test_postgres_start() {
  local bin dir user port password try
  bin=$(_test_postgres_bin)
  if [ -z "$bin" ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } >/dev/null 2>&1
    bin=$(_test_postgres_bin)
  fi
  if [ -z "$bin" ]; then
    echo "start-test-postgres: no initdb found and Debian's postgresql package could not be installed" >&2
    return 1
  fi

  dir=$(mktemp -d "${TMPDIR:-/tmp}/orchestrator-pg.XXXXXX")
  password="orchestrator-test-$RANDOM$RANDOM"
  printf '%s\n' "$password" >"$dir/pwfile"

  # PostgreSQL refuses to run as root: run it as nobody, owning its folder.
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    user=nobody
    chown -R "$user" "$dir"
    run=(runuser -u "$user" --)
  fi
  chmod 700 "$dir"

  if ! "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    echo "start-test-postgres: initdb failed: $(tail -n 1 "$dir/initdb.log")" >&2
    rm -rf "$dir"
    return 1
  fi

  # A free loopback port: a random one not listening, retried if another process takes it first.
  for try in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && continue
    if "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=200" start >/dev/null 2>&1; then
      export ORCHESTRATOR_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Password=$password;Database=postgres"
      export ORCHESTRATOR_TEST_POSTGRES_DIR="$dir"
      _TEST_POSTGRES_CTL=("${run[@]}" "$bin/pg_ctl" -D "$dir/data")
      return 0
    fi
  done

  echo "start-test-postgres: the server did not start: $(tail -n 1 "$dir/server.log" 2>/dev/null)" >&2
  rm -rf "$dir"
  return 1
}

stop_test_postgres() {
  if [ -n "${ORCHESTRATOR_TEST_POSTGRES_DIR:-}" ] && [ -d "$ORCHESTRATOR_TEST_POSTGRES_DIR" ]; then
    "${_TEST_POSTGRES_CTL[@]}" -m immediate stop >/dev/null 2>&1
    rm -rf "$ORCHESTRATOR_TEST_POSTGRES_DIR"
  fi
  unset ORCHESTRATOR_TEST_POSTGRES ORCHESTRATOR_TEST_POSTGRES_DIR
}

_test_postgres_start
