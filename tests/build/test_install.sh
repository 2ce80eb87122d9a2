#!/usr/bin/env bash
# cmake --install into a temporary prefix, then build and run a tiny consumer
# against the installed copy twice: with pkg-config and with find_package.
#   test_install.sh <source dir> <build dir> <C compiler> [extra C flags]
set -euo pipefail
src=$1 bin=$2 cc=$3 extra=${4:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$bin" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name ember.pc | head -n1)
[ -n "$pc" ] || { echo "install: ember.pc not installed"; exit 1; }
cfg=$(find "$prefix" -name emberConfig.cmake | head -n1)
[ -n "$cfg" ] || { echo "install: emberConfig.cmake not installed"; exit 1; }
[ -f "$prefix/include/ember.h" ] || { echo "install: include/ember.h missing"; exit 1; }

mkdir -p "$tmp/consumer"
cat > "$tmp/consumer/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <ember.h>

int main(void) {
    em_loop loop;
    if (em_loop_init(&loop) != 0) return 1;
    em_ip ip;
    if (em_ip_parse(&ip, "::1", 3) != 0 || !em_ip_is_loopback(&ip)) return 2;
    char text[EM_IP_STRLEN];
    if (em_ip_format(&ip, text, sizeof text) != 3 || strcmp(text, "::1") != 0) return 3;
    if (strcmp(em_err_name(EM_ETIMEDOUT), "EM_ETIMEDOUT") != 0) return 4;
    if (em_loop_close(&loop) != 0) return 5;
    puts("consumer ok");
    return 0;
}
C

# 1. pkg-config, against the shared library.
export PKG_CONFIG_PATH=$(dirname "$pc")
# shellcheck disable=SC2046
# -pedantic-errors: the installed headers are strict ISO C11, so users
# who build that way can include them.
"$cc" $extra -std=c11 -pedantic-errors -Wall -Wextra -Werror -o "$tmp/consumer/pc" "$tmp/consumer/main.c" \
    $(pkg-config --cflags --libs ember)
LD_LIBRARY_PATH=$(dirname "$(find "$prefix" -name 'libember.so' | head -n1)") "$tmp/consumer/pc"

# 2. find_package(ember), against the static all-in-one library.
cat > "$tmp/consumer/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(ember 0.1 REQUIRED)
add_executable(consumer main.c)
target_compile_options(consumer PRIVATE $extra)
target_link_options(consumer PRIVATE $extra)
target_link_libraries(consumer PRIVATE ember::ember)
CM
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_C_COMPILER="$cc" \
      -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
"$tmp/consumer/build/consumer"
echo "install: ok (pkg-config and find_package consumers built and ran)"
