/* Threads: two worker threads each mix half of 0..n through an integer
 * hash and add their sums into one total, which the main thread prints
 * once both are done. The wasm build is parallel.wat (wasi-threads; no
 * wasm32-wasi-threads libc here), this C program with pthreads its native
 * reference, computing the same checksum (a sum mod 2^32, the same
 * whichever thread adds first). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include "common.h"

#define THREADS 2

static uint32_t n;
static uint32_t total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t mix(uint32_t i) {
    uint32_t x = i * 0x9E3779B9u;
    for (int round = 0; round < 16; round++) {
        x ^= x >> 15;
        x *= 0x2C1B3C6Du;
        x ^= x >> 12;
        x *= 0x297A2D39u;
    }
    return x;
}

static void *worker(void *arg) {
    uint32_t index = (uint32_t)(uintptr_t)arg;
    uint32_t begin = (uint32_t)((uint64_t)n * index / THREADS);
    uint32_t end = (uint32_t)((uint64_t)n * (index + 1) / THREADS);
    uint32_t sum = 0;
    for (uint32_t i = begin; i < end; i++) sum += mix(i);
    pthread_mutex_lock(&lock);
    total += sum;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv) {
    n = (uint32_t)arg_or(argc, argv, 1, 40000000);
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, worker, (void *)t);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    printf("checksum: %u\n", total);
    return 0;
}
