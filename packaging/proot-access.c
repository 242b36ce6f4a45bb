/* access() for processes in a packaging/root.sh root: Bookworm's proot (5.1) does not translate
 * faccessat2 (which glibc tries first) or statx, so they would see the host's files. This answers
 * access() from fstatat(), which proot does translate. LD_PRELOADed by tools/build-deb.sh when it
 * compiles wheels (gcc looks for cc1, crt*.o and its LTO plugin with access()). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int check(int dirfd, const char *path, int mode, int flags)
{
    struct stat st;
    if (fstatat(dirfd, path, &st, flags & AT_SYMLINK_NOFOLLOW) != 0)
        return -1;
    if ((mode & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111)) {
        errno = EACCES;
        return -1;
    }
    return 0;
}

int access(const char *path, int mode) { return check(AT_FDCWD, path, mode, 0); }
int eaccess(const char *path, int mode) { return check(AT_FDCWD, path, mode, 0); }
int euidaccess(const char *path, int mode) { return check(AT_FDCWD, path, mode, 0); }
int faccessat(int dirfd, const char *path, int mode, int flags) { return check(dirfd, path, mode, flags); }
