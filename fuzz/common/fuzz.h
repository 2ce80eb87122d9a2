/* Every harness in fuzz/<name>/harness.c defines this libFuzzer-style entry
 * point. AFL++ drives it through libAFLDriver (fuzz/smoke.sh); the test
 * suite replays each corpus through replay_main.c. */
#ifndef EMBER_FUZZ_H
#define EMBER_FUZZ_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif
