/* Deep recursion: a non-tail-recursive walk 800 frames deep (below wasmi's default
 * depth limit of 1000, so every peer can run it), repeated, and
 * Ackermann(2, n) for many small calls. Stresses call/return overhead and stack use. */
#include <stdint.h>
#include <stdio.h>
#include "common.h"

__attribute__((noinline)) static uint64_t depth_sum(uint32_t depth, uint64_t acc) {
    if (depth == 0) return acc;
    uint64_t below = depth_sum(depth - 1, acc * 6364136223846793005ULL + depth);
    return below ^ (below >> 17) ^ depth;
}

__attribute__((noinline)) static uint32_t ackermann(uint32_t m, uint32_t n) {
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

int main(int argc, char **argv) {
    long rounds = arg_or(argc, argv, 1, 75000);
    uint64_t h = 0;
    for (long r = 0; r < rounds; r++) h += depth_sum(800, (uint64_t)r);
    uint32_t a = 0;
    for (long r = 0; r < rounds / 25; r++) a += ackermann(2, 200 + (uint32_t)(r & 7));
    printf("checksum: rounds=%ld h=%llu a=%u\n", rounds, (unsigned long long)h, a);
    return 0;
}
