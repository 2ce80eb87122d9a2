#!/usr/bin/env bash
# Builds ember's API reference with Doxygen (docs/Doxyfile): the public
# headers, plus the guide and the design notes with their include markers
# expanded (scripts/check_docs.sh --render).
#   scripts/docs.sh [OUT]   HTML in OUT/html (default: build-docs)
# Exits 1 on any doxygen warning (an undocumented public symbol included),
# 77 (ctest's skip) when doxygen is not installed.
set -euo pipefail
command -v doxygen >/dev/null || {
  echo "docs: doxygen is not installed (scripts/install-deps.sh docs): skipped"
  exit 77
}
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-docs}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/pages" "$out/html"
bash "$src/scripts/check_docs.sh" "$src" --render "$out/pages" >/dev/null
# Doxygen 1.9 gives headings no anchors: label each heading that a link of
# its own page names ("](#how-the-tests-are-organised)"), GitHub's way.
for f in $(find "$out/pages/docs" -name '*.md'); do
  awk 'function slug(s) { s = tolower(s); gsub(/[^a-z0-9 -]/, "", s); gsub(/ /, "-", s); return s }
       NR == FNR { while (match($0, /\]\(#[^)]+\)/)) { want[substr($0, RSTART + 3, RLENGTH - 4)] = 1
                                                      $0 = substr($0, RSTART + RLENGTH) }
                   next }
       /^```/ { fence = !fence }
       !fence && /^#+ / { h = $0; sub(/^#+ +/, "", h); if (slug(h) in want) $0 = $0 " {#" slug(h) "}" }
       { print }' "$f" "$f" >"$f.tmp" && mv "$f.tmp" "$f"
done
# Include graphs when graphviz is installed, unless EMBER_DOCS_DOT=NO (the
# ctest run: the same warnings in a fraction of the time).
dot=${EMBER_DOCS_DOT:-YES}
command -v dot >/dev/null || dot=NO
# Doxygen runs inside the rendered copy, with the headers linked in, so
# docs/Doxyfile's relative INPUT finds both.
ln -s "$src/include" "$out/pages/include"
cd "$out/pages"
start=$(date +%s%N)
set +e
{
  cat "$src/docs/Doxyfile"
  echo "OUTPUT_DIRECTORY = $out"
  echo "HAVE_DOT = $dot"
} | doxygen - 2>&1 | tee "$out/warnings.txt"
rc=${PIPESTATUS[1]}
set -e
ms=$((($(date +%s%N) - start) / 1000000))
n=$(grep -c . "$out/warnings.txt" || true)
echo "docs: $([ "$rc" -eq 0 ] && echo ok || echo FAILED) ($n warnings, doxygen $ms ms):" \
  "$out/html/index.html"
exit $((rc == 0 ? 0 : 1))
