/* Garbage collection: the Benchmarks Game's binary-trees. A stretch tree of
 * depth n+1, a long-lived tree of depth n, then for d = 4, 6, ..., n,
 * 2^(n-d+4) short-lived trees of depth d, each built bottom-up and checked
 * (its node count). This is the native reference (malloc/free);
 * binarytrees.wat is the wasm build (Wasm 3.0 structs, collected).
 * Also prints the longest time one depth-4 tree took ("max pause"): on a
 * collected heap, a collection lands inside one of those iterations. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "common.h"

typedef struct node { struct node *left, *right; } node;

static node *bottom_up(int depth) {
    node *n = malloc(sizeof *n);
    if (depth == 0) {
        n->left = n->right = NULL;
    } else {
        n->left = bottom_up(depth - 1);
        n->right = bottom_up(depth - 1);
    }
    return n;
}

static uint32_t check(const node *n) {
    return n->left ? 1 + check(n->left) + check(n->right) : 1;
}

static void release(node *n) {
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    free(n);
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
    int n = (int)arg_or(argc, argv, 1, 16);
    int max_depth = n < 6 ? 6 : n;
    uint32_t sum = 0;
    node *stretch = bottom_up(max_depth + 1);
    sum = sum * 31 + check(stretch);
    release(stretch);
    node *long_lived = bottom_up(max_depth);
    uint64_t max_pause = 0;
    for (int d = 4; d <= max_depth; d += 2) {
        uint32_t iterations = 1u << (max_depth - d + 4), checks = 0;
        for (uint32_t i = 0; i < iterations; i++) {
            uint64_t start = now_ns();
            node *t = bottom_up(d);
            checks += check(t);
            release(t);
            uint64_t took = now_ns() - start;
            if (d == 4 && took > max_pause) max_pause = took;
        }
        sum = sum * 31 + checks;
    }
    sum = sum * 31 + check(long_lived);
    printf("checksum: %u\n", sum);
    printf("max pause: %llu us\n", (unsigned long long)(max_pause / 1000));
    return 0;
}
