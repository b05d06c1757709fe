/* Exceptions: throw through a few frames and catch, many times. The wasm
 * build is throwcatch.wat (C has no exceptions, and no toolchain here
 * emits Wasm 3.0 exception handling); this C program is its native
 * reference, computing the same checksum with setjmp/longjmp. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include "common.h"

#define DEPTH 8

static jmp_buf handler;
static volatile uint32_t thrown;

__attribute__((noinline)) static uint32_t work(uint32_t depth, uint32_t i) {
    if (depth == 0) {
        if (i % 4 == 0) return i * 3;
        thrown = i ^ 0x5a5a;
        longjmp(handler, 1);
    }
    return work(depth - 1, i) + 1;
}

int main(int argc, char **argv) {
    uint32_t n = (uint32_t)arg_or(argc, argv, 1, 1000000);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r;
        if (setjmp(handler) == 0) {
            r = work(DEPTH, i);
        } else {
            r = thrown;
        }
        sum = sum * 31 + r;
    }
    printf("checksum: %u\n", sum);
    return 0;
}
