/*
 * store/audit-journal.c - the per-process append journal of the data-plane
 * audit path (docs/audit-format.md, "Data-plane path").
 *
 * One journal file per process and store, in the directory STORE-audit/
 * (0700): "j-PID-RANDOM.log", 0600, opened O_APPEND.  Each record is one
 * write() of a self-checksummed entry, so it survives a crash of the
 * process as soon as write() returns.  The owner holds a POSIX write lock
 * on the whole file for as long as it may append; a folder that can see no
 * such lock (F_GETLK) knows the owner is gone.  POSIX locks are per
 * process: they are not inherited by fork() and vanish with the process,
 * which is exactly "owner alive".  Their one trap is that closing ANY
 * descriptor of a file drops the process's locks on it, so this process
 * never opens a second descriptor on its own live journal: the folder reads
 * it through p11kms_audit_journal_read_own().
 *
 * A file is created under a temporary name, locked, registered in the
 * process registry and only then renamed into place, so nobody ever sees
 * an unlocked live journal.  Handles of one process share the journal (a
 * registry keyed by directory), threads append under a read lock, and
 * rotation (closing the file so that it becomes an ordinary dead journal,
 * folded and removed like any other) takes the write lock.
 *
 * Fork: the registry is per pid; a child ignores its parent's entries and
 * creates its own journal.  As POSIX requires, a multi-threaded process
 * must not fork while another thread is inside this code.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "store/audit-internal.h"

#define JNAME_MAX 64

struct p11kms_audit_journal {
    struct p11kms_audit_journal *next;
    char *dir;
    pid_t pid;
    unsigned refs;
    pthread_rwlock_t rw;  /* read: append one entry; write: open, rotate */
    int fd;               /* -1: no current file */
    atomic_int broken;    /* a write failed: rotate before the next one */
    char name[JNAME_MAX]; /* current file name inside dir */
    atomic_size_t size;   /* bytes written to the current file */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static p11kms_audit_journal *registry;

/* Absolute, so that a later chdir() of the process changes nothing. */
char *p11kms_audit_journal_dir_for(const char *store_path)
{
    char *real = store_path ? realpath(store_path, NULL) : NULL;
    const char *base = real ? real : store_path;
    size_t n = base ? strlen(base) : 0;
    char *d = n ? malloc(n + sizeof("-audit")) : NULL;

    if (d != NULL) {
        memcpy(d, base, n);
        memcpy(d + n, "-audit", sizeof("-audit"));
    }
    free(real);
    return d;
}

int p11kms_audit_journal_name_ok(const char *name)
{
    size_t n = strlen(name), i;

    if (n < 7 || n >= JNAME_MAX || strncmp(name, "j-", 2) != 0 || strcmp(name + n - 4, ".log") != 0)
        return 0;
    for (i = 2; i < n - 4; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f') ||
              name[i] == '-'))
            return 0;
    return 1;
}

static p11kms_store_rc rc_from_errno(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return P11KMS_STORE_FULL;
    case EROFS:
        return P11KMS_STORE_READONLY;
    case EACCES:
    case EPERM:
        return P11KMS_STORE_PERM;
    case ENOMEM:
        return P11KMS_STORE_NOMEM;
    default:
        return P11KMS_STORE_IO;
    }
}

/* The directory must be ours alone: anyone who can write into it could
 * plant entries that the fold would chain as genuine records. */
static p11kms_store_rc dir_ensure(const char *dir)
{
    struct stat sb;
    p11kms_store_rc rc = P11KMS_STORE_OK;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = rc_from_errno(errno);
        goto done;
    }
    if (lstat(dir, &sb) != 0) {
        rc = rc_from_errno(errno);
        goto done;
    }
    if (!S_ISDIR(sb.st_mode) || (sb.st_mode & 022) != 0 ||
        (sb.st_uid != geteuid() && geteuid() != 0))
        rc = P11KMS_STORE_PERM;
done:
    return rc;
}

static int lock_whole(int fd)
{
    struct flock fl;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_SETLK, &fl) == 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ok = fd >= 0 && fsync(fd) == 0;

    if (fd >= 0)
        close(fd);
    return ok;
}

/* Creates the next file; called with j->rw held for writing. */
static p11kms_store_rc journal_open(p11kms_audit_journal *j, int sync)
{
    unsigned char rnd[16];
    char hex[33], tmp[JNAME_MAX + 8], name[JNAME_MAX], *tpath = NULL, *fpath = NULL;
    size_t dl = strlen(j->dir);
    int fd = -1;
    p11kms_store_rc rc = dir_ensure(j->dir);

    if (rc != P11KMS_STORE_OK)
        goto done;
    rc = P11KMS_STORE_INTERNAL;
    if (!p11kms_crypto_random(rnd, sizeof(rnd)))
        goto done;
    p11kms_audit_hex(rnd, sizeof(rnd), hex);
    snprintf(tmp, sizeof(tmp), ".tmp-%s", hex);
    snprintf(name, sizeof(name), "j-%ld-%s.log", (long)getpid(), hex);
    rc = P11KMS_STORE_NOMEM;
    tpath = malloc(dl + sizeof(tmp) + 2);
    fpath = malloc(dl + sizeof(name) + 2);
    if (tpath == NULL || fpath == NULL)
        goto done;
    sprintf(tpath, "%s/%s", j->dir, tmp);
    sprintf(fpath, "%s/%s", j->dir, name);
    fd = open(tpath, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = rc_from_errno(errno);
        goto done;
    }
    if (!lock_whole(fd) || rename(tpath, fpath) != 0) {
        rc = rc_from_errno(errno);
        unlink(tpath);
        goto done;
    }
    if (sync && !fsync_dir(j->dir)) {
        rc = rc_from_errno(errno);
        goto done;
    }
    j->fd = fd;
    fd = -1;
    j->broken = 0;
    memcpy(j->name, name, sizeof(name));
    atomic_store(&j->size, 0);
    rc = P11KMS_STORE_OK;
done:
    if (fd >= 0) {
        unlink(fpath);
        close(fd);
    }
    free(tpath);
    free(fpath);
    return rc;
}

static void journal_close_locked(p11kms_audit_journal *j)
{
    if (j->fd >= 0)
        close(j->fd); /* drops the lock: from now on a dead journal */
    j->fd = -1;
    j->broken = 0;
    j->name[0] = '\0';
    atomic_store(&j->size, 0);
}

p11kms_store_rc p11kms_audit_journal_acquire(const char *dir, p11kms_audit_journal **out)
{
    p11kms_audit_journal *j;
    p11kms_store_rc rc = P11KMS_STORE_OK;
    pid_t pid = getpid();

    pthread_mutex_lock(&registry_lock);
    for (j = registry; j != NULL; j = j->next)
        if (j->pid == pid && strcmp(j->dir, dir) == 0)
            break;
    if (j == NULL) {
        rc = P11KMS_STORE_NOMEM;
        j = calloc(1, sizeof(*j));
        if (j == NULL || (j->dir = strdup(dir)) == NULL || pthread_rwlock_init(&j->rw, NULL) != 0) {
            if (j != NULL)
                free(j->dir);
            free(j);
            j = NULL;
            goto done;
        }
        j->pid = pid;
        j->fd = -1;
        atomic_init(&j->size, 0);
        j->next = registry;
        registry = j;
        rc = P11KMS_STORE_OK;
    }
    j->refs++;
done:
    pthread_mutex_unlock(&registry_lock);
    *out = j;
    return rc;
}

void p11kms_audit_journal_release(p11kms_audit_journal *j)
{
    p11kms_audit_journal **pp;

    if (j == NULL)
        return;
    pthread_mutex_lock(&registry_lock);
    if (j->pid == getpid() && --j->refs == 0) {
        for (pp = &registry; *pp != NULL; pp = &(*pp)->next)
            if (*pp == j) {
                *pp = j->next;
                break;
            }
        journal_close_locked(j);
        pthread_rwlock_destroy(&j->rw);
        free(j->dir);
        free(j);
    }
    pthread_mutex_unlock(&registry_lock);
}

/* Makes sure a healthy file is open; returns with j->rw read-locked. */
static p11kms_store_rc journal_ready(p11kms_audit_journal *j, int sync)
{
    p11kms_store_rc rc = P11KMS_STORE_OK;

    pthread_rwlock_rdlock(&j->rw);
    while (rc == P11KMS_STORE_OK && (j->fd < 0 || j->broken)) {
        pthread_rwlock_unlock(&j->rw);
        pthread_rwlock_wrlock(&j->rw);
        if (j->broken)
            journal_close_locked(j);
        if (j->fd < 0)
            rc = journal_open(j, sync);
        pthread_rwlock_unlock(&j->rw);
        pthread_rwlock_rdlock(&j->rw);
    }
    return rc;
}

p11kms_store_rc p11kms_audit_journal_write(p11kms_audit_journal *j, const unsigned char *p,
                                           size_t len, int sync, size_t *pending)
{
    p11kms_store_rc rc = journal_ready(j, sync);
    ssize_t n;

    if (rc != P11KMS_STORE_OK)
        goto done;
    do {
        n = write(j->fd, p, len);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len) {
        /* A short write leaves a torn entry: the file is retired (the fold
         * skips the damage and records it) and the operation fails. */
        rc = n < 0 ? rc_from_errno(errno) : P11KMS_STORE_FULL;
        j->broken = 1;
        goto done;
    }
    if (sync && fdatasync(j->fd) != 0) {
        rc = rc_from_errno(errno);
        j->broken = 1;
        goto done;
    }
    *pending = atomic_fetch_add(&j->size, len) + len;
done:
    pthread_rwlock_unlock(&j->rw);
    return rc;
}

void p11kms_audit_journal_rotate(p11kms_audit_journal *j)
{
    pthread_rwlock_wrlock(&j->rw);
    if (atomic_load(&j->size) > 0 || j->broken)
        journal_close_locked(j);
    pthread_rwlock_unlock(&j->rw);
}

int p11kms_audit_journal_read_own(const char *dir, const char *name, uint64_t off,
                                  unsigned char *buf, size_t cap, size_t *n)
{
    p11kms_audit_journal *j;
    pid_t pid = getpid();
    ssize_t r;
    int res = 0;

    pthread_mutex_lock(&registry_lock);
    for (j = registry; j != NULL; j = j->next)
        if (j->pid == pid && strcmp(j->dir, dir) == 0)
            break;
    if (j == NULL)
        goto done;
    pthread_rwlock_rdlock(&j->rw);
    if (j->fd >= 0 && strcmp(j->name, name) == 0) {
        do {
            r = pread(j->fd, buf, cap, (off_t)off);
        } while (r < 0 && errno == EINTR);
        *n = r > 0 ? (size_t)r : 0;
        res = r < 0 ? -1 : 1;
    }
    pthread_rwlock_unlock(&j->rw);
done:
    pthread_mutex_unlock(&registry_lock);
    return res;
}
