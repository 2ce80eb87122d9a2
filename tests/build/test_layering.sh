#!/usr/bin/env bash
# The layering rule: a module may include only public or internal headers of
# itself and of the modules before it in
#   runtime -> io -> net -> dns -> tcp -> udp -> tls -> http -> ws
# Checks module sources, module internal headers and public headers. Also
# checks itself on a synthetic bad tree, so the test cannot pass vacuously.
set -euo pipefail
order=(runtime io net dns tcp udp tls http ws)

rank() { # rank of module $1, or -1
  local i
  for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done
  echo -1
}

check_tree() { # $1 = root; prints violations, returns 1 if any
  local root=$1 bad=0 m r f inc dep dr
  for m in "${order[@]}"; do
    r=$(rank "$m")
    for f in "$root/$m"/*.[ch] "$root/include/ember/$m.h" "$root/include/ember/$m"/*.h; do
      [ -f "$f" ] || continue
      # public headers: "ember/<dep>.h"; internal headers: "<dep>_internal.h"
      # or any path reaching into another module folder ("../<dep>/x.h").
      while IFS= read -r inc; do
        dep=""
        case "$inc" in
          ember/*.h) dep=${inc#ember/}; dep=${dep%.h}; dep=${dep%%/*} ;; # ember/http/parse.h: http
          *_internal.h) dep=$(basename "$inc"); dep=${dep%_internal.h} ;;
          ../*/*) dep=${inc#../}; dep=${dep%%/*} ;;
        esac
        [ -n "$dep" ] || continue
        dr=$(rank "$dep")
        if [ "$dr" -lt 0 ] && [[ "$inc" == ember/* ]]; then
          echo "layering: $f includes unknown module header \"$inc\""; bad=1
        elif [ "$dr" -gt "$r" ]; then
          echo "layering: $f ($m) includes \"$inc\" from higher module $dep"; bad=1
        fi
      done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done
  done
  return $bad
}

# Private fields: a field of a public struct whose name starts with '_'
# belongs to the module whose public header declares it. A module's .c
# files may use ->_x / ._x only for names its own headers declare (its own
# structs); a name declared private only by another module's header is a
# reach into that module's internals (add an accessor there instead).
# Pragmatic: names, not types, so a name both modules declare is allowed.
private_names() { # $1 = root, $2 = module: private field names its headers declare
  local f
  for f in "$1/include/ember/$2.h" "$1/include/ember/$2"/*.h; do
    [ -f "$f" ] || continue
    # field declarations: lines ending in ';' with no '(' (not prototypes)
    grep -E '^[[:space:]]+[^(]*;' "$f" | grep -v '(' |
      grep -oE '(^|[[:space:]*,])_[a-z][a-z0-9_]*' | sed 's/^[^_]*//' || true
  done | sort -u
}

check_private() { # $1 = root; prints violations, returns 1 if any
  local root=$1 bad=0 m o f line name
  declare -A owner=()
  for m in "${order[@]}"; do
    while IFS= read -r name; do
      [ -n "$name" ] && owner[$name]="${owner[$name]:-} $m"
    done < <(private_names "$root" "$m")
  done
  for m in "${order[@]}"; do
    for f in "$root/$m"/*.c; do
      [ -f "$f" ] || continue
      while IFS= read -r line; do
        name=${line##*[>.]}
        o=${owner[$name]:-}
        [ -n "$o" ] || continue
        [[ " $o " == *" $m "* ]] && continue
        echo "layering: $f ($m) uses private field $name of${o}"; bad=1
      done < <(grep -oE '(->|\.)_[a-z][a-z0-9_]*\b' "$f" | sort -u)
    done
  done
  return $bad
}

# Self-check: a tree where tcp reaches up into http must be rejected.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tcp" "$tmp/http" "$tmp/include/ember"
printf '#include "ember/http.h"\n' > "$tmp/tcp/conn.c"
printf '#include "ember/tcp.h"\n' > "$tmp/http/server.c"
if check_tree "$tmp" >/dev/null; then
  echo "layering: self-check failed: the violation in the synthetic tree was not found"; exit 1
fi
printf '#include "http_internal.h"\n' > "$tmp/tcp/conn.c"
if check_tree "$tmp" >/dev/null; then
  echo "layering: self-check failed: internal-header violation not found"; exit 1
fi

rm -rf "$tmp/tcp" "$tmp/http"; mkdir -p "$tmp/io" "$tmp/http"
printf 'typedef struct em_buf {\n    char *_data;\n    size_t _cap, _rpos;\n} em_buf;\n' \
  > "$tmp/include/ember/io.h"
printf 'size_t f(em_buf *b) { return b->_rpos; }\n' > "$tmp/io/buf.c"
printf 'size_t g(em_buf b) { return b._cap; }\n' > "$tmp/http/server.c"
if check_private "$tmp" >/dev/null; then
  echo "layering: self-check failed: a private field read across modules was not found"; exit 1
fi
if check_private "$tmp" | grep -q 'io/buf.c'; then
  echo "layering: self-check failed: a module's use of its own private field was flagged"; exit 1
fi

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
rc=0
check_tree "$root" || rc=1
check_private "$root" || rc=1
[ $rc -eq 0 ] || exit 1
n=$(find "$root"/{runtime,io,net,dns,tcp,udp,tls,http,ws} -maxdepth 1 -name '*.[ch]' 2>/dev/null | wc -l || true)
echo "layering: ok ($n module files checked)"
