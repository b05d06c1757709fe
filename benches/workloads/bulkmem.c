/* Bulk memory: large memcpy/memmove/memset (memory.copy and memory.fill in wasm). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

int main(int argc, char **argv) {
    long rounds = arg_or(argc, argv, 1, 4000);
    const size_t size = 4 << 20;
    unsigned char *a = malloc(size), *b = malloc(size);
    if (!a || !b) { puts("out of memory"); return 1; }
    uint64_t s = 3, h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i += 8) { uint64_t v = xorshift64(&s); memcpy(a + i, &v, 8); }
    for (long r = 0; r < rounds; r++) {
        size_t off = (size_t)(xorshift64(&s) % 4096);
        size_t len = size / 2 + (size_t)(xorshift64(&s) % (size / 4));
        memcpy(b, a + off, len);
        memmove(b + 1, b, len / 2);
        memset(a + (off * 7) % (size / 2), (int)(r & 0xff), size / 8);
        for (size_t i = 0; i < size; i += 65536) h = (h ^ b[i] ^ a[i]) * 1099511628211ull;
    }
    printf("checksum: rounds=%ld fnv=%016llx\n", rounds, (unsigned long long)h);
    free(a);
    free(b);
    return 0;
}
