#!/usr/bin/env bash
# Checks the documentation (docs/ and README.md); bash, sed and awk only.
#   scripts/check_docs.sh [SRC]               check, exit 1 on any fault
#   scripts/check_docs.sh [SRC] --render OUT  check, then write a copy of
#                                             docs/ to OUT with every marker
#                                             expanded into a code block
# A marker is a line of its own: <!-- include: examples/NAME.c -->. It must
# name an examples/*.c, which tests/build/run_examples.sh builds and runs, so
# the guide shows code that ctest runs and never holds a copy of it.
# Every relative link [text](path) or [text](path#anchor) in docs/**/*.md and
# README.md must name a file or folder that exists.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=""
while [ $# -gt 0 ]; do
  case $1 in
    --render) out=${2:?--render wants a folder}; shift 2 ;;
    *) src=$1; shift ;;
  esac
done
cd "$src" || exit 1
fail=0
files=(README.md $(find docs -name '*.md' 2>/dev/null | sort))

for f in "${files[@]}"; do
  dir=$(dirname "$f")
  # Include markers.
  while IFS=: read -r ln path; do
    case "$path" in
      examples/*.c) [ -f "$path" ] || { echo "$f:$ln: include of a missing file: $path"; fail=1; } ;;
      *) echo "$f:$ln: include outside examples/*.c: $path"; fail=1 ;;
    esac
  done < <(awk '/^[[:space:]]*<!-- include:/ {
             if ($0 ~ /^<!-- include: [^ ]+ -->$/) print NR ":" $3; else print NR ":(malformed marker)" }' "$f")
  # Relative links, code spans and fenced blocks left out.
  while IFS=$'\t' read -r ln link; do
    target=${link%%#*}
    [ -z "$target" ] && continue
    [ -e "$dir/$target" ] || { echo "$f:$ln: broken link: $link"; fail=1; }
  done < <(awk '
    /^```/ { fence = !fence; next }
    fence { next }
    {
      line = $0; gsub(/`[^`]*`/, "", line)
      while (match(line, /\]\([^)]+\)/)) {
        l = substr(line, RSTART + 2, RLENGTH - 3); line = substr(line, RSTART + RLENGTH)
        sub(/ +"[^"]*"$/, "", l)
        if (l !~ /^[a-z]+:/ && l !~ /^#/) print NR "\t" l
      }
    }' "$f")
done

if [ -n "$out" ] && [ $fail -eq 0 ]; then
  mkdir -p "$out"
  for f in "${files[@]}"; do
    mkdir -p "$out/$(dirname "$f")"
    awk -v root="$src" '
      /^<!-- include: [^ ]+ -->$/ {
        p = $3; print "```c"; print "/* " p " */"
        while ((getline l < (root "/" p)) > 0) print l
        close(root "/" p); print "```"; next
      }
      { print }' "$f" >"$out/$f"
  done
  [ -d docs ] && find docs -type f ! -name '*.md' -exec sh -c 'mkdir -p "$1/$(dirname "$2")" && cp "$2" "$1/$2"' _ "$out" {} \;
fi
[ $fail -eq 0 ] && echo "docs: ok (${#files[@]} files)"
exit $fail
