#!/usr/bin/env bash
# CallLogs: one entry point for people and CI.
#   ./build.sh run    installs what is missing, builds, and runs the whole system (Aspire AppHost, its dashboard) until Ctrl+C
#   ./build.sh test   installs what is missing, builds, and runs every test against real servers (the short fault suite included, the long one not)
#   ./build.sh chaos  installs what is missing, builds, and runs the long fault suite (Category=Chaos: every service killed, broker, database and S3 faults)
#   ./build.sh bench  runs the benchmarks in bench/ and rewrites docs/benchmarks.md
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; exit 1; fi
}

install_prerequisites() {
  if ! command -v dotnet >/dev/null; then
    say "the .NET 10 SDK is missing: install it (https://dot.net) and run again"; exit 1
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "Node.js and npm are missing (s3rver, the local S3 server, runs on them): install them and run again"; exit 1
  fi

  local missing=()
  [ -x /usr/sbin/rabbitmq-server ] || missing+=(rabbitmq-server)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then
      say "installing ${missing[*]} (Debian packages; their system services are not used)"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      say "missing: ${missing[*]}. Install RabbitMQ 3.10+ and PostgreSQL 15+ server packages, then run again."; exit 1
    fi
  fi

  if [ "${1:-}" = "with-browser" ] && [ ! -x /usr/bin/chromium ]; then
    if [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then
      say "installing chromium (Debian package; the dashboard's browser test drives it headless)"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
      say "missing: chromium (for the dashboard's browser test); install it, or set CHROMIUM to a Chromium binary"; exit 1
    fi
  fi

  if [ ! -x AppHost/node_modules/.bin/s3rver ]; then
    say "installing s3rver (npm, version pinned in AppHost/package-lock.json)"
    npm ci --prefix AppHost --no-audit --no-fund --loglevel=error >/dev/null
  fi

  if [ "${1:-}" = "with-browser" ] && [ ! -d tests/Dashboard/node_modules/playwright-core ]; then
    say "installing playwright-core (npm, pinned in tests/Dashboard/package-lock.json; it drives the system Chromium)"
    npm ci --prefix tests/Dashboard --no-audit --no-fund --loglevel=error >/dev/null
  fi

  dotnet tool restore >/dev/null
}

build() {
  say "building (dotnet build CallLogs.sln)"
  dotnet build CallLogs.sln -c "${CONFIGURATION:-Debug}" -nologo -v quiet -clp:NoSummary
}

infra_pid=""
envfile=""
stop_infra() {
  if [ -n "$infra_pid" ] && kill -0 "$infra_pid" 2>/dev/null; then
    kill -TERM "$infra_pid" 2>/dev/null || true
    wait "$infra_pid" 2>/dev/null || true
  fi
  [ -z "$envfile" ] || rm -f "$envfile"
}

run_tests() {
  mkdir -p .data
  envfile="$root/.data/test-infra-$$.env"
  rm -f "$envfile"
  trap stop_infra EXIT INT TERM

  if [ -z "${CALLLOGS_TEST_RABBITMQ:-}" ]; then
    say "starting private RabbitMQ, PostgreSQL and S3 shared by the integration tests (tests/CallLogs.TestServers)"
    dotnet "tests/CallLogs.TestServers/bin/${CONFIGURATION:-Debug}/net10.0/CallLogs.TestServers.dll" --env-file "$envfile" --quiet \
      </dev/null >"$root/.data/test-infra.log" 2>&1 &
    infra_pid=$!
    for _ in $(seq 1 240); do
      [ -f "$envfile" ] && break
      kill -0 "$infra_pid" 2>/dev/null || { cat "$root/.data/test-infra.log" >&2; say "the test servers did not start"; exit 1; }
      sleep 0.5
    done
    [ -f "$envfile" ] || { cat "$root/.data/test-infra.log" >&2; say "the test servers did not start in 120 s"; exit 1; }
    # shellcheck disable=SC1090
    source "$envfile"
  fi

  say "running every test (dotnet test CallLogs.sln, one test project at a time; the end-to-end tests start the AppHost themselves)"
  # One project at a time (-m:1): on two cores, nine projects at once pushed the load average past 60 and the
  # end-to-end tests' whole system (two instances of everything) ran starved.
  # The short fault suite runs here (~5.5 min); the long one (Category=Chaos, ~10 min) with ./build.sh chaos.
  dotnet test CallLogs.sln -c "${CONFIGURATION:-Debug}" --no-build -nologo -m:1 --filter "Category!=Chaos" "$@"

  say "running the dashboard's browser test (node --test tests/Dashboard: the AppHost and the Aspire dashboard in headless Chromium)"
  (cd tests/Dashboard && CONFIGURATION="${CONFIGURATION:-Debug}" node --test --test-reporter=spec)
}

case "${1:-}" in
  run)
    install_prerequisites
    build
    say "starting CallLogs on .NET Aspire (Ctrl+C stops everything); open the dashboard with the login URL below"
    # The dashboard on plain http, on loopback: no development certificate needed. Override the ports with these variables.
    export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://localhost:18888}"
    export ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="${ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL:-http://localhost:18889}"
    export ASPIRE_ALLOW_UNSECURED_TRANSPORT=true
    export DOTNET_ENVIRONMENT="${DOTNET_ENVIRONMENT:-Development}"
    exec dotnet "AppHost/bin/${CONFIGURATION:-Debug}/net10.0/CallLogs.AppHost.dll"
    ;;
  test)
    shift
    install_prerequisites with-browser
    build
    run_tests "$@"
    ;;
  chaos)
    shift
    install_prerequisites
    build
    say "running the long fault suite (two instances of everything, faults injected one at a time; the test starts the AppHost itself, ~10 min)"
    dotnet test tests/CallLogs.EndToEnd.Tests -c "${CONFIGURATION:-Debug}" --no-build -nologo --filter Category=Chaos \
      --logger "console;verbosity=detailed" "$@"
    ;;
  bench)
    install_prerequisites
    CONFIGURATION=Release build
    for project in bench/*/*.csproj; do
      say "benchmark $project"
      dotnet run -c Release --no-build --project "$project"
    done
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
