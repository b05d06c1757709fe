/* File-system round trip inside the directory given as argv[1].
 * Prints one "ok <step>" line per step; stops with status 1 at the first failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static const char *root;
static char buf[4096];

static const char *at(const char *name) {
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 512, "%s/%s", root, name);
    return p;
}

#define CHECK(cond, step)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("FAIL %s: %s\n", step, strerror(errno));                    \
            exit(1);                                                           \
        }                                                                      \
        printf("ok %s\n", step);                                               \
    } while (0)

int main(int argc, char **argv) {
    root = argc > 1 ? argv[1] : ".";

    int fd = open(at("a.txt"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0, "create");
    CHECK(write(fd, "hello, world", 12) == 12, "write");
    CHECK(lseek(fd, 7, SEEK_SET) == 7, "seek");
    CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "world", 5) == 0, "read-after-seek");
    CHECK(ftruncate(fd, 5) == 0, "truncate");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5 && S_ISREG(st.st_mode), "fstat-size");
    CHECK(close(fd) == 0, "close");

    struct timeval times[2] = {{1000000000, 0}, {1200000000, 0}};
    CHECK(utimes(at("a.txt"), times) == 0, "set-times");
    CHECK(stat(at("a.txt"), &st) == 0 && st.st_mtime == 1200000000 && st.st_atime == 1000000000,
          "stat-times");

    CHECK(rename(at("a.txt"), at("b.txt")) == 0, "rename");
    CHECK(access(at("a.txt"), F_OK) != 0 && errno == ENOENT, "old-name-gone");
    fd = open(at("b.txt"), O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0, "reopen-read");
    close(fd);

    fd = open(at("b.txt"), O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "!", 1) == 1, "append");
    close(fd);
    CHECK(stat(at("b.txt"), &st) == 0 && st.st_size == 6, "append-size");

    CHECK(mkdir(at("sub"), 0755) == 0, "mkdir");
    fd = open(at("sub/inner.txt"), O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && close(fd) == 0, "create-in-subdir");
    DIR *dir = opendir(at("sub"));
    CHECK(dir != NULL, "opendir");
    int seen = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, "inner.txt") == 0) seen++;
    closedir(dir);
    CHECK(seen == 1, "readdir");
    CHECK(rmdir(at("sub")) != 0 && errno == ENOTEMPTY, "rmdir-nonempty-refused");
    CHECK(unlink(at("sub/inner.txt")) == 0, "unlink");
    CHECK(rmdir(at("sub")) == 0, "rmdir");

    CHECK(symlink("b.txt", at("link")) == 0, "symlink");
    ssize_t n = readlink(at("link"), buf, sizeof buf);
    CHECK(n == 5 && memcmp(buf, "b.txt", 5) == 0, "readlink");
    CHECK(lstat(at("link"), &st) == 0 && S_ISLNK(st.st_mode), "lstat-link");
    fd = open(at("link"), O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, 6) == 6 && memcmp(buf, "hello!", 6) == 0, "read-through-link");
    close(fd);
    CHECK(unlink(at("link")) == 0, "unlink-link");

    CHECK(open(at("missing.txt"), O_RDONLY) < 0 && errno == ENOENT, "missing-is-enoent");
    CHECK(open(at("b.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST, "excl-is-eexist");
    printf("done\n");
    return 0;
}
