/* Tries to leave its preopen (argv[1]) in every way we know. For each attempt it
 * prints "<attempt>: <errno name>" or "<attempt>: ESCAPED". A read-only
 * preopen, if given as argv[2], must refuse writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *name(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case EXDEV: return "EXDEV";
    case EROFS: return "EROFS";
    case ENOTDIR: return "ENOTDIR";
    case EBADF: return "EBADF";
    case ELOOP: return "ELOOP";
    case EINVAL: return "EINVAL";
    default: return strerror(e);
    }
}

static void report(const char *what, int ok) {
    if (ok) printf("%s: ESCAPED\n", what);
    else printf("%s: %s\n", what, name(errno));
}

int main(int argc, char **argv) {
    char path[512];
    const char *root = argv[1];

    snprintf(path, sizeof path, "%s/../outside.txt", root);
    int fd = open(path, O_RDONLY);
    report("dotdot-read", fd >= 0);

    snprintf(path, sizeof path, "%s/../created-by-guest.txt", root);
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    report("dotdot-create", fd >= 0);

    fd = open("/etc/passwd", O_RDONLY);
    report("absolute", fd >= 0);

    /* A link the host placed in the preopen, pointing outside. */
    snprintf(path, sizeof path, "%s/host-link", root);
    fd = open(path, O_RDONLY);
    report("host-symlink", fd >= 0);

    /* A link the guest makes, then follows. */
    char target[512], link_path[512];
    snprintf(link_path, sizeof link_path, "%s/guest-link", root);
    int made = symlink("../outside.txt", link_path) == 0;
    fd = made ? open(link_path, O_RDONLY) : -1;
    report("guest-symlink", fd >= 0);
    snprintf(link_path, sizeof link_path, "%s/guest-abs-link", root);
    made = symlink("/etc/passwd", link_path) == 0;
    fd = made ? open(link_path, O_RDONLY) : -1;
    report("guest-absolute-symlink", fd >= 0);

    /* A hard link to a file outside. */
    snprintf(target, sizeof target, "%s/../outside.txt", root);
    snprintf(link_path, sizeof link_path, "%s/hard-link", root);
    report("hardlink", link(target, link_path) == 0);

    snprintf(path, sizeof path, "%s/..", root);
    report("rmdir-parent", rmdir(path) == 0);

    if (argc > 2) {
        const char *ro = argv[2];
        snprintf(path, sizeof path, "%s/new.txt", ro);
        fd = open(path, O_CREAT | O_WRONLY, 0644);
        report("readonly-create", fd >= 0);
        snprintf(path, sizeof path, "%s/existing.txt", ro);
        fd = open(path, O_WRONLY);
        report("readonly-write", fd >= 0);
        report("readonly-unlink", unlink(path) == 0);
        snprintf(path, sizeof path, "%s/newdir", ro);
        report("readonly-mkdir", mkdir(path, 0755) == 0);
        snprintf(path, sizeof path, "%s/existing.txt", ro);
        fd = open(path, O_RDONLY);
        char c;
        printf("readonly-read: %s\n", fd >= 0 && read(fd, &c, 1) == 1 ? "allowed" : "REFUSED");
    }
    return 0;
}
