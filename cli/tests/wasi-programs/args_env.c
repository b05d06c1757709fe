/* Prints its arguments and the environment it was given, one per line. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
    int count = 0;
    for (char **e = environ; *e; e++) {
        printf("env:%s\n", *e);
        count++;
    }
    printf("env-count=%d\n", count);
    const char *home = getenv("HOME");
    printf("HOME=%s\n", home ? home : "(unset)");
    return 0;
}
