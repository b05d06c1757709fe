/* A large open-addressing hash table (16 MiB) with random inserts and lookups. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "common.h"

typedef struct { uint64_t key; uint64_t value; } slot_t;

static uint64_t mix(uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ULL; k ^= k >> 33;
    return k;
}

int main(int argc, char **argv) {
    long ops = arg_or(argc, argv, 1, 20000000);
    const uint64_t cap = 1 << 20; /* slots: 16 MiB */
    slot_t *table = calloc(cap, sizeof(slot_t));
    if (!table) { puts("out of memory"); return 1; }
    uint64_t s = 42, hits = 0, sum = 0, inserted = 0;
    for (long i = 0; i < ops; i++) {
        uint64_t key = (xorshift64(&s) % (cap / 2 * 3)) + 1;
        uint64_t h = mix(key) & (cap - 1);
        while (table[h].key && table[h].key != key) h = (h + 1) & (cap - 1);
        if (table[h].key == key) { hits++; sum += table[h].value; table[h].value += i; }
        else if (inserted < cap * 3 / 4) { table[h].key = key; table[h].value = (uint64_t)i; inserted++; }
    }
    printf("checksum: ops=%ld hits=%llu inserted=%llu sum=%llu\n", ops, (unsigned long long)hits,
           (unsigned long long)inserted, (unsigned long long)sum);
    free(table);
    return 0;
}
