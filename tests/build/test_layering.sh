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

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
check_tree "$root"
n=$(find "$root"/{runtime,io,net,dns,tcp,udp,tls,http,ws} -maxdepth 1 -name '*.[ch]' 2>/dev/null | wc -l || true)
echo "layering: ok ($n module files checked)"
