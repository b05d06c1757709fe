/* Sorting through a comparator: libc qsort calls back through a function
 * pointer (call_indirect in wasm) on every comparison. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "common.h"

typedef struct { uint32_t key; uint32_t tie; } rec_t;

static int compare(const void *a, const void *b) {
    const rec_t *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->tie > y->tie) - (x->tie < y->tie);
}

int main(int argc, char **argv) {
    long n = arg_or(argc, argv, 1, 1000000);
    long rounds = arg_or(argc, argv, 2, 5);
    rec_t *v = malloc(sizeof(rec_t) * (size_t)n);
    if (!v) { puts("out of memory"); return 1; }
    uint64_t s = 7, check = 0;
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < n; i++) { v[i].key = (uint32_t)xorshift64(&s) % 100000; v[i].tie = (uint32_t)i; }
        qsort(v, (size_t)n, sizeof(rec_t), compare);
        for (long i = 1; i < n; i++) if (compare(&v[i - 1], &v[i]) > 0) { puts("unsorted"); return 1; }
        check = check * 31 + v[n / 2].key + v[n / 3].tie;
    }
    printf("checksum: n=%ld rounds=%ld check=%llu\n", n, rounds, (unsigned long long)check);
    free(v);
    return 0;
}
