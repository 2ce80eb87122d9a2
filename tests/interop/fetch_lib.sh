# shellcheck shell=bash
# Helpers of the ember-fetch interop scripts (fetch_*.sh), on top of lib.sh;
# sourced, not run. The caller sets CU (curl and its fixed options) and EF
# (ember-fetch).
#   both NAME ARGS...     curl and ember-fetch with ARGS: stdout in
#                         $TMP/NAME.c and .e, stderr in .c.err and .e.err,
#                         exit codes in rc_c and rc_e
#   same DESC NAME RC ARGS...
#                         both exit RC with the same stdout (Date fields aside)
#   says DESC NAME REGEX  ember-fetch's stderr of NAME matches REGEX
#   ef NAME ARGS...       ember-fetch alone: $TMP/NAME.e, .e.err, rc_e

# Each command here takes seconds even under ASan on a loaded machine; 45 s
# (exit 124) catches an ember-fetch that sits out a 60 s timer at the end.
both() {
  local name=$1; shift
  rc_c=0 rc_e=0
  timeout 120 "${CU[@]}" "$@" >"$TMP/$name.c" 2>"$TMP/$name.c.err" || rc_c=$?
  timeout 45 "${EF[@]}" "$@" >"$TMP/$name.e" 2>"$TMP/$name.e.err" || rc_e=$?
}
ef() {
  local name=$1; shift
  rc_e=0
  timeout 45 "${EF[@]}" "$@" >"$TMP/$name.e" 2>"$TMP/$name.e.err" || rc_e=$?
}
same() {
  local desc=$1 name=$2 want=$3; shift 3
  both "$name" "$@"
  if [ "$rc_c" != "$want" ] || [ "$rc_e" != "$want" ]; then
    fail "$desc: exit codes curl $rc_c, ember-fetch $rc_e (want $want); ember-fetch said: $(head -c 300 "$TMP/$name.e.err")"
    return
  fi
  sed -i '/^Date: /d' "$TMP/$name.c" "$TMP/$name.e"
  if cmp -s "$TMP/$name.c" "$TMP/$name.e"; then
    pass "$desc (exit $want, $(fsize "$TMP/$name.e") bytes of output alike)"
  else
    fail "$desc: outputs differ:"; diff <(head -c 2000 "$TMP/$name.c" | cat -A) \
      <(head -c 2000 "$TMP/$name.e" | cat -A) | head -n 20 || true
  fi
}
says() {
  if grep -Eq -- "$3" "$TMP/$2.e.err"; then pass "$1"; else fail "$1: stderr was: $(head -c 300 "$TMP/$2.e.err")"; fi
}
