# shellcheck shell=bash
# Shared helpers for the interop scripts; sourced, not run.
#   need TOOL...            SKIP (exit 0) unless every tool is installed
#   start_server VAR BIN ARGS...
#                           runs BIN --port 0 ARGS in the background, waits for
#                           its "listening on HOST:PORT" line and sets VAR to
#                           HOST:PORT (and VAR_PID to its pid)
#   stop_server PID NAME    SIGTERM; the server must exit 0 within 10 s
#   check DESC COMMAND...   runs COMMAND; on failure prints "FAIL: DESC"
#   fail MSG / pass MSG     record a failure / print a passed check
#   finish                  exit 1 if any check failed
# Every process started through start_server or track_pid is killed on exit,
# and the temp dir $TMP removed.
set -euo pipefail

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ember-interop.XXXXXX")
_pids=()
_failed=0

_cleanup() {
  local p
  for p in "${_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${_pids[@]}"; do
    local i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap _cleanup EXIT
trap 'exit 143' TERM INT HUP # so a ctest timeout still runs _cleanup

track_pid() { _pids+=("$1"); }
untrack_pid() {
  local p keep=()
  for p in "${_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  _pids=("${keep[@]}")
}

need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed (scripts/install-deps.sh build)"; exit 0; }
  done
}

fail() { echo "FAIL: $*"; _failed=$((_failed + 1)); }
pass() { echo "ok: $*"; }
check() {
  local desc=$1; shift
  if "$@"; then pass "$desc"; else fail "$desc"; fi
}

finish() {
  if [ "$_failed" -ne 0 ]; then echo "$_failed check(s) failed"; exit 1; fi
  echo "all checks passed"
}

start_server() { # VAR BIN ARGS...
  local var=$1 bin=$2; shift 2
  [ -x "$bin" ] || { echo "FAIL: $bin was not built"; exit 1; }
  local name out pid line addr="" i
  name=$(basename "$bin")
  out=$TMP/$name.$RANDOM.out
  "$bin" --port 0 "$@" >"$out" 2>"$out.err" &
  pid=$!
  track_pid "$pid"
  for i in $(seq 1 200); do # up to 10 s
    line=$(head -n1 "$out" 2>/dev/null || true)
    case "$line" in "listening on "*) addr=${line#listening on }; break ;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$addr" ]; then
    echo "FAIL: $name did not print 'listening on HOST:PORT'; stderr:"; cat "$out.err"
    exit 1
  fi
  printf -v "$var" '%s' "$addr"
  printf -v "${var}_PID" '%s' "$pid"
  printf -v "${var}_ERR" '%s' "$out.err"
}

stop_server() { # PID NAME
  local pid=$1 name=$2 i=0 rc=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    fail "$name ignored SIGTERM for 10 s"; kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  untrack_pid "$pid"
  if [ $rc -eq 0 ]; then pass "$name exits 0 on SIGTERM"; else fail "$name exited $rc on SIGTERM"; fi
}

# Bytes in a file, and its sha256.
fsize() { wc -c <"$1" | tr -d ' '; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
same_file() { # DESC A B
  if [ ! -f "$3" ]; then fail "$1: no output"; return; fi
  if [ "$(sha "$2")" = "$(sha "$3")" ]; then
    pass "$1 ($(fsize "$3") bytes, sha256 equal)"
  else
    fail "$1: sent $(fsize "$2") bytes sha256 $(sha "$2"), got $(fsize "$3") bytes sha256 $(sha "$3")"
  fi
}
eq() { # DESC WANT GOT
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
