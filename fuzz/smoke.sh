#!/usr/bin/env bash
# make fuzz-smoke: build every harness with afl-clang-fast (+ASan) and fuzz
# each for FUZZ_SECONDS (default 30) from its corpus with its dictionary.
# Fails if AFL++ finds a crash or a hang; crashes are left in build-fuzz/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-fuzz
secs=${FUZZ_SECONDS:-30}
mkdir -p "$out"

# The library itself, instrumented.
CC=afl-clang-fast cmake -S "$root" -B "$out/lib" -DEMBER_TESTS=OFF -DEMBER_EXAMPLES=OFF \
    -DEMBER_BENCH=OFF -DEMBER_FUZZ=OFF -DEMBER_SANITIZE=ON >/dev/null
AFL_QUIET=1 cmake --build "$out/lib" -j"$(nproc)" --target ember >/dev/null

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1
status=0
for h in "$root"/fuzz/*/harness.c; do
  name=$(basename "$(dirname "$h")")
  bin=$out/$name
  # -D_GNU_SOURCE as the CMake build sets it (dns_hosts uses memfd_create).
  AFL_QUIET=1 afl-clang-fast -fsanitize=fuzzer,address,undefined -g -O1 -D_GNU_SOURCE \
      -I"$root/include" -I"$root/fuzz/common" "$h" "$out/lib/libember.a" \
      $(pkg-config --libs libcares libssl libcrypto zlib libpsl) -lpthread -o "$bin"
  dict=()
  [ -f "$root/fuzz/$name/dict" ] && dict=(-x "$root/fuzz/$name/dict")
  # A harness that runs a loop and handshakes may set its own timeout (ms):
  # AFL's auto-scaled one counts load spikes on a shared machine as hangs.
  tmo=()
  [ -f "$root/fuzz/$name/afl_timeout" ] && tmo=(-t "$(cat "$root/fuzz/$name/afl_timeout")")
  rm -rf "$out/$name.findings"
  echo "fuzz-smoke: $name for ${secs}s"
  timeout $((secs + 30)) afl-fuzz -V "$secs" -i "$root/fuzz/$name/corpus" \
      -o "$out/$name.findings" "${dict[@]}" "${tmo[@]}" -- "$bin" >"$out/$name.log" 2>&1 || true
  crashes=$(find "$out/$name.findings" -path '*crashes/id*' 2>/dev/null | wc -l)
  hangs=$(find "$out/$name.findings" -path '*hangs/id*' 2>/dev/null | wc -l)
  execs=$(awk -F: '/execs_done/ {gsub(/ /,"",$2); print $2}' "$out/$name.findings"/default/fuzzer_stats 2>/dev/null || echo '?')
  echo "fuzz-smoke: $name execs=$execs crashes=$crashes hangs=$hangs"
  [ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ] || status=1
done
exit $status
