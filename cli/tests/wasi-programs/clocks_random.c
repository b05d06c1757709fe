/* Clocks, sleeping through poll_oneoff, and random bytes. Prints "ok ..." lines. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec real, mono1, mono2, res;
    if (clock_gettime(CLOCK_REALTIME, &real) != 0) { perror("realtime"); return 1; }
    /* 2020-01-01 or later: a real wall clock, not zero. */
    printf("%s realtime\n", real.tv_sec > 1577836800 ? "ok" : "bad");
    if (clock_getres(CLOCK_MONOTONIC, &res) != 0) { perror("getres"); return 1; }
    printf("%s resolution\n", ns(res) > 0 && ns(res) <= 1000000 ? "ok" : "bad");
    clock_gettime(CLOCK_MONOTONIC, &mono1);
    struct timespec nap = {0, 20 * 1000 * 1000};
    if (nanosleep(&nap, NULL) != 0) { perror("nanosleep"); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &mono2);
    long long slept = ns(mono2) - ns(mono1);
    printf("%s sleep %s\n", slept >= 20000000LL ? "ok" : "bad", slept < 2000000000LL ? "bounded" : "too-long");
    unsigned char a[32] = {0}, b[32] = {0};
    if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) { perror("getentropy"); return 1; }
    printf("%s random\n", memcmp(a, b, sizeof a) != 0 ? "ok" : "bad");
    return 0;
}
