/* A SIMD kernel written with portable vector extensions: clang -msimd128 turns
 * it into wasm v128 code, gcc into SSE. Saxpy plus a 4-lane dot product. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

typedef float v4f __attribute__((vector_size(16)));
#define N 4096

int main(int argc, char **argv) {
    long rounds = arg_or(argc, argv, 1, 100000);
    static float x[N] __attribute__((aligned(16))), y[N] __attribute__((aligned(16)));
    uint64_t s = 11;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(xorshift64(&s) % 1000) / 1000.0f;
        y[i] = (float)(xorshift64(&s) % 1000) / 1000.0f;
    }
    v4f total = {0, 0, 0, 0};
    for (long r = 0; r < rounds; r++) {
        v4f a = {0.5f, 0.5f, 0.5f, 0.5f};
        v4f dot = {0, 0, 0, 0};
        for (int i = 0; i < N; i += 4) {
            v4f vx, vy;
            memcpy(&vx, &x[i], 16);
            memcpy(&vy, &y[i], 16);
            vy = vy * (v4f){0.999f, 0.999f, 0.999f, 0.999f} + a * vx;
            memcpy(&y[i], &vy, 16);
            dot += vx * vy;
        }
        total += dot * (v4f){1e-6f, 1e-6f, 1e-6f, 1e-6f};
    }
    printf("checksum: rounds=%ld total=%.3f,%.3f,%.3f,%.3f y0=%.6f\n", rounds, total[0], total[1],
           total[2], total[3], y[0]);
    return 0;
}
