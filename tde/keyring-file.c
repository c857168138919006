/*
 * tde/keyring-file.c — reading and atomically replacing the keyring file.
 *
 * A keyring is never half-written: the new bytes go to a temporary file in
 * the same directory (same file system, so rename is atomic), are fsync'ed,
 * renamed over the old name, and the directory is fsync'ed so the rename
 * itself survives a power loss.  A process killed at any point leaves the
 * old or the new file, plus at worst a stray temporary (.NAME.tmp.XXXXXX)
 * that nothing reads.  Writers serialise on an flock of PATH.lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tde/tde-internal.h"

static int io_fail(p11kms_tde_error *err, const char *what, const char *path)
{
    int e = errno;
    return tde_fail(err, e == ENOENT ? P11KMS_TDE_ERR_NOTFOUND : P11KMS_TDE_ERR_IO, "%s %s: %s",
                    what, path, strerror(e));
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = read(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        off += (size_t)n;
    }
    return 1;
}

int tde_file_read(const char *path, unsigned char **out, size_t *len, p11kms_tde_error *err)
{
    unsigned char *buf = NULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), ok = 0;

    if (fd < 0)
        return io_fail(err, "cannot open keyring", path);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > (off_t)TDE_KR_MAX_FILE) {
        tde_fail(err, P11KMS_TDE_ERR_CORRUPT, "keyring %s: not a regular file of a valid size",
                 path);
        goto done;
    }
    buf = malloc((size_t)st.st_size);
    if (buf == NULL || !read_all(fd, buf, (size_t)st.st_size)) {
        io_fail(err, "cannot read keyring", path);
        goto done;
    }
    *out = buf;
    *len = (size_t)st.st_size;
    buf = NULL;
    ok = 1;
done:
    free(buf);
    close(fd);
    return ok;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* The directory part of path (malloc'd). */
static char *dir_of(const char *path)
{
    char *copy = strdup(path), *d;
    if (copy == NULL)
        return NULL;
    d = strdup(dirname(copy));
    free(copy);
    return d;
}

static int fsync_dir(const char *path)
{
    char *d = dir_of(path);
    int fd = d ? open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1, ok = fd >= 0 && fsync(fd) == 0;

    if (fd >= 0)
        close(fd);
    free(d);
    return ok;
}

/* PATH's directory + "/.BASE.tmp.XXXXXX" */
static char *temp_name(const char *path)
{
    char *copy = strdup(path), *d = dir_of(path), *t = NULL;
    size_t n;

    if (copy != NULL && d != NULL) {
        const char *base = basename(copy);
        n = strlen(d) + strlen(base) + 16;
        t = malloc(n);
        if (t != NULL)
            snprintf(t, n, "%s/.%s.tmp.XXXXXX", d, base);
    }
    free(copy);
    free(d);
    return t;
}

int tde_file_replace(const char *path, const unsigned char *data, size_t len, p11kms_tde_error *err)
{
    char *tmp = temp_name(path);
    int fd = -1, ok = 0;

    if (tmp == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        io_fail(err, "cannot create a temporary keyring beside", path);
        goto done;
    }
    if (fchmod(fd, 0600) != 0 || !write_all(fd, data, len) || fsync(fd) != 0) {
        io_fail(err, "cannot write keyring", tmp);
        goto done;
    }
    if (close(fd) != 0 || (fd = -1, rename(tmp, path) != 0)) {
        io_fail(err, "cannot replace keyring", path);
        goto done;
    }
    ok = fsync_dir(path) ||
         tde_fail(err, P11KMS_TDE_ERR_IO, "cannot fsync the directory of %s", path);
done:
    if (fd >= 0)
        close(fd);
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

int tde_file_lock(const char *path, int *fd, p11kms_tde_error *err)
{
    size_t n = strlen(path) + 6;
    char *lp = malloc(n);
    int ok = 0;

    *fd = -1;
    if (lp == NULL)
        return tde_fail(err, P11KMS_TDE_ERR_NOMEM, "out of memory");
    snprintf(lp, n, "%s.lock", path);
    *fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        io_fail(err, "cannot open lock file", lp);
        goto done;
    }
    while (!(ok = flock(*fd, LOCK_EX) == 0) && errno == EINTR)
        ;
    if (!ok)
        io_fail(err, "cannot lock", lp);
done:
    if (!ok && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    free(lp);
    return ok;
}

void tde_file_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing drops the flock */
}
