/* The container test's guest: prints, reads a file from the image's
 * rootfs, shows one variable and its arguments, and exits with the status
 * its last argument names. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("hello from a wasmtier container\n");
    FILE *file = fopen("/message.txt", "r");
    if (!file) {
        perror("/message.txt");
        return 3;
    }
    char text[128];
    size_t n = fread(text, 1, sizeof text - 1, file);
    text[n] = 0;
    fclose(file);
    printf("message: %s", text);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    printf("args:");
    for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
    printf("\n");
    return argc > 1 ? atoi(argv[argc - 1]) : 0;
}
