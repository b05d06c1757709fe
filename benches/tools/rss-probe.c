/* rss-probe OUTFILE PROGRAM [ARGS...]
 *
 * Runs PROGRAM and writes its peak resident set size (KiB, from wait4's
 * rusage) to OUTFILE; exits with PROGRAM's status. The harness launches every
 * measured process through this probe because the kernel carries a parent's
 * memory high-water mark into a forked (or vforked) child across exec: a
 * large harness would otherwise set a floor under every measurement. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: rss-probe OUTFILE PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) != pid) { perror("wait4"); return 2; }
    FILE *out = fopen(argv[1], "w");
    if (!out) { perror(argv[1]); return 2; }
    fprintf(out, "%ld\n", usage.ru_maxrss);
    fclose(out);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
