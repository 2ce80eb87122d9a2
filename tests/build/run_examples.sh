#!/usr/bin/env bash
# Builds nothing; runs every example program with a bounded run time.
#   <name>_server : started in the background; its first stdout line must be
#                   "listening on HOST:PORT"; then <name>_client HOST:PORT runs
#                   against it; then the server gets SIGTERM and must exit 0.
#   <name>_client : run only by its server's case above.
#   <name>_server with examples/<name>_server.check instead of a client: each
#                   line "curl args... PATH | STATUS | SUBSTRING" is sent with
#                   curl and the status and body checked.
#   anything else : run alone (with --selftest if it accepts no arguments) and
#                   must exit 0 within the time limit.
# Every examples/*.c must have been built, so no example goes untested.
set -uo pipefail
src=$1 bin=$2
limit=${EXAMPLE_TIMEOUT:-30}
fail=0 ran=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

run_checks() { # $1 = base name, $2 = HOST:PORT
  local base=$1 addr=$2 line spec status want args path code rc=0
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    IFS='|' read -r spec status want <<<"$line"
    eval "args=($spec)"
    path=${args[-1]}; unset 'args[-1]'
    status=$(echo $status); want=$(echo "$want" | sed 's/^ *//; s/ *$//')
    code=$(timeout "$limit" curl -s -o "$tmp/body" -w '%{http_code}' "${args[@]}" "http://$addr$path")
    if [ "$code" != "$status" ] || ! grep -qF -- "$want" "$tmp/body"; then
      echo "examples: ${base}_server: '$spec' gave $code: $(head -c 200 "$tmp/body")"; rc=1
    fi
  done <"$src/examples/${base}_server.check"
  return $rc
}

run_pair() { # $1 = base name
  local base=$1 out=$tmp/$1.out pid addr line i
  "$bin/${base}_server" --port 0 >"$out" 2>"$tmp/$base.err" &
  pid=$!
  addr=""
  for i in $(seq 1 200); do # up to 10 s for the server to come up
    line=$(head -n1 "$out" 2>/dev/null || true)
    case "$line" in "listening on "*) addr=${line#listening on }; break ;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$addr" ]; then
    echo "examples: ${base}_server did not report its address"; cat "$tmp/$base.err"
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 1
  fi
  local rc=0
  if [ -f "$src/examples/${base}_server.check" ]; then
    run_checks "$base" "$addr" || rc=1
  else
    timeout "$limit" "$bin/${base}_client" "$addr" || { echo "examples: ${base}_client failed"; rc=1; }
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.05; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "examples: ${base}_server ignored SIGTERM"; kill -9 "$pid"; rc=1
  fi
  wait "$pid" || { echo "examples: ${base}_server exited $?"; cat "$tmp/$base.err"; rc=1; }
  return $rc
}

for c in "$src"/examples/*.c; do
  name=$(basename "$c" .c)
  [ -x "$bin/$name" ] || { echo "examples: $name was not built"; fail=1; continue; }
  case "$name" in
    *_client) [ -f "$src/examples/${name%_client}_server.c" ] || { echo "examples: $name has no server"; fail=1; } ;;
    *_server)
      if [ -f "$src/examples/${name%_server}_client.c" ] || [ -f "$src/examples/$name.check" ]; then
        run_pair "${name%_server}" || fail=1
      else
        echo "examples: $name has no matching client"; fail=1
      fi
      ran=$((ran + 1)) ;;
    *)
      timeout "$limit" "$bin/$name" --selftest >/dev/null || { echo "examples: $name failed"; fail=1; }
      ran=$((ran + 1)) ;;
  esac
done
[ $fail -eq 0 ] && echo "examples: ok ($ran run)"
exit $fail
