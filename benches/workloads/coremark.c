/* A CoreMark-like mix: linked-list search and reversal, integer matrix
 * multiply-accumulate, a byte-driven state machine, and CRC-16 over results. */
#include <stdint.h>
#include <stdio.h>
#include "common.h"

#define LIST 512
#define MAT 32

typedef struct node { struct node *next; int32_t key; int32_t data; } node_t;

static uint16_t crc16(uint16_t crc, uint32_t v) {
    for (int i = 0; i < 32; i++) {
        uint16_t bit = (uint16_t)((crc ^ v) & 1);
        crc >>= 1;
        v >>= 1;
        if (bit) crc ^= 0xA001;
    }
    return crc;
}

static node_t nodes[LIST];

static node_t *list_reverse(node_t *head) {
    node_t *prev = 0;
    while (head) { node_t *n = head->next; head->next = prev; prev = head; head = n; }
    return prev;
}

static int32_t list_bench(uint64_t *s) {
    node_t *head = 0;
    for (int i = 0; i < LIST; i++) {
        nodes[i].key = (int32_t)(xorshift64(s) & 1023);
        nodes[i].data = i;
        nodes[i].next = head;
        head = &nodes[i];
    }
    int32_t found = 0;
    for (int q = 0; q < 64; q++) {
        int32_t key = (int32_t)(xorshift64(s) & 1023);
        for (node_t *n = head; n; n = n->next)
            if (n->key == key) { found += n->data; break; }
        head = list_reverse(head);
    }
    return found;
}

static int32_t A[MAT][MAT], B[MAT][MAT], C[MAT][MAT];

static int32_t matrix_bench(uint64_t *s) {
    for (int i = 0; i < MAT; i++)
        for (int j = 0; j < MAT; j++) {
            A[i][j] = (int32_t)(xorshift64(s) & 0xffff) - 0x8000;
            B[i][j] = (int32_t)(xorshift64(s) & 0xff);
        }
    int32_t acc = 0;
    for (int i = 0; i < MAT; i++)
        for (int j = 0; j < MAT; j++) {
            int32_t sum = 0;
            for (int k = 0; k < MAT; k++) sum += A[i][k] * B[k][j];
            C[i][j] = sum;
            acc ^= sum >> 3;
        }
    return acc;
}

enum state { START, INT, FLOAT, EXP, SCI, INVALID };

static int32_t state_bench(uint64_t *s) {
    static const char alphabet[] = "0123456789.eE+-,x";
    char text[256];
    for (int i = 0; i < 255; i++) text[i] = alphabet[xorshift64(s) % (sizeof alphabet - 1)];
    text[255] = 0;
    int32_t counts[6] = {0};
    enum state st = START;
    for (const char *p = text; *p; p++) {
        char c = *p;
        if (c == ',') { counts[st]++; st = START; continue; }
        switch (st) {
        case START: st = (c >= '0' && c <= '9') ? INT : (c == '.') ? FLOAT : INVALID; break;
        case INT: st = (c >= '0' && c <= '9') ? INT : (c == '.') ? FLOAT : (c == 'e' || c == 'E') ? EXP : INVALID; break;
        case FLOAT: st = (c >= '0' && c <= '9') ? FLOAT : (c == 'e' || c == 'E') ? EXP : INVALID; break;
        case EXP: st = (c == '+' || c == '-' || (c >= '0' && c <= '9')) ? SCI : INVALID; break;
        case SCI: st = (c >= '0' && c <= '9') ? SCI : INVALID; break;
        case INVALID: break;
        }
    }
    return counts[INT] * 1 + counts[FLOAT] * 3 + counts[SCI] * 7 + counts[INVALID] * 11;
}

int main(int argc, char **argv) {
    long iterations = arg_or(argc, argv, 1, 20000);
    uint64_t s = 0x1234567;
    uint16_t crc = 0;
    for (long i = 0; i < iterations; i++) {
        crc = crc16(crc, (uint32_t)list_bench(&s));
        crc = crc16(crc, (uint32_t)matrix_bench(&s));
        crc = crc16(crc, (uint32_t)state_bench(&s));
    }
    printf("checksum: iterations=%ld crc=%04x\n", iterations, crc);
    return 0;
}
