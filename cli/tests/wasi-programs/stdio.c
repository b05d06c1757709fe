/* Upper-cases stdin to stdout, reports the byte count on stderr. */
#include <ctype.h>
#include <stdio.h>

int main(void) {
    int c;
    long n = 0;
    while ((c = getchar()) != EOF) {
        putchar(toupper(c));
        n++;
    }
    fprintf(stderr, "read %ld bytes\n", n);
    return 0;
}
