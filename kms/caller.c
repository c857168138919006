/*
 * kms/caller.c — capture the caller's identity (kms/caller.h).
 *
 * The identity is taken once per request from the kernel (our own ids, or a
 * socket peer's credentials), never from the name service, except the user
 * name, which is informational (p11kms:CallerUser, audit records).  Groups are
 * exactly the kernel's list plus the primary group; a list longer than the
 * fixed array fails rather than being truncated, because a dropped group could
 * hide the caller from a Deny statement.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kms/caller.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

/* Add gid unless already present; 0 (errno E2BIG) when the array is full. */
static int add_group(p11kms_caller *c, gid_t gid)
{
    for (size_t i = 0; i < c->ngroups; i++) {
        if (c->groups[i] == gid)
            return 1;
    }
    if (c->ngroups >= P11KMS_CALLER_MAX_GROUPS) {
        errno = E2BIG;
        return 0;
    }
    c->groups[c->ngroups++] = gid;
    return 1;
}

/* Best effort: an unknown uid leaves user "" (the uid still identifies). */
static void fill_user(p11kms_caller *c)
{
    struct passwd pw, *res = NULL;
    long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t bufsz = sz > 0 ? (size_t)sz : 16384;
    char *buf = NULL;
    int saved = errno;

    c->user[0] = '\0';
    for (int tries = 0; tries < 4; tries++, bufsz *= 4) {
        char *nb = realloc(buf, bufsz);
        if (nb == NULL)
            goto done;
        buf = nb;
        int rc = getpwuid_r(c->uid, &pw, buf, bufsz, &res);
        if (rc == ERANGE)
            continue;
        if (rc == 0 && res != NULL && strlen(pw.pw_name) < sizeof(c->user))
            memcpy(c->user, pw.pw_name, strlen(pw.pw_name) + 1);
        goto done;
    }
done:
    free(buf);
    errno = saved;
}

/* Best effort, advisory: "" when unreadable (another user's process). */
static void fill_executable(p11kms_caller *c, const char *link)
{
    ssize_t n = readlink(link, c->executable, sizeof(c->executable) - 1);
    int saved = errno;

    if (n < 0 || (size_t)n >= sizeof(c->executable) - 1)
        n = 0; /* unreadable or possibly truncated: report nothing */
    c->executable[n] = '\0';
    errno = saved;
}

static int add_groups(p11kms_caller *c, const gid_t *gids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!add_group(c, gids[i]))
            return 0;
    }
    return 1;
}

int p11kms_caller_self(p11kms_caller *out)
{
    gid_t gids[P11KMS_CALLER_MAX_GROUPS];
    int ok = 0;
    int n;

    if (out == NULL) {
        errno = EINVAL;
        goto done;
    }
    memset(out, 0, sizeof(*out));
    out->uid = getuid();
    out->gid = getgid();
    out->pid = getpid();
    n = getgroups(P11KMS_CALLER_MAX_GROUPS, gids);
    if (n < 0) {
        if (errno == EINVAL)
            errno = E2BIG;
        goto done;
    }
    if (!add_group(out, out->gid) || !add_groups(out, gids, (size_t)n))
        goto done;
    fill_user(out);
    fill_executable(out, "/proc/self/exe");
    ok = 1;
done:
    return ok;
}

int p11kms_caller_from_socket(int fd, p11kms_caller *out)
{
    gid_t gids[P11KMS_CALLER_MAX_GROUPS + 1];
    socklen_t glen = sizeof(gids);
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    char link[64];
    int ok = 0;

    if (out == NULL) {
        errno = EINVAL;
        goto done;
    }
    memset(out, 0, sizeof(*out));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0)
        goto done;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids, &glen) != 0) {
        if (errno == ERANGE)
            errno = E2BIG;
        goto done;
    }
    out->uid = cred.uid;
    out->gid = cred.gid;
    out->pid = cred.pid;
    if (!add_group(out, out->gid) || !add_groups(out, gids, glen / sizeof(gid_t)))
        goto done;
    fill_user(out);
    snprintf(link, sizeof(link), "/proc/%ld/exe", (long)cred.pid);
    fill_executable(out, link);
    ok = 1;
done:
    return ok;
}

int p11kms_caller_in_group(const p11kms_caller *caller, gid_t gid)
{
    if (caller->gid == gid)
        return 1;
    for (size_t i = 0; i < caller->ngroups && i < P11KMS_CALLER_MAX_GROUPS; i++) {
        if (caller->groups[i] == gid)
            return 1;
    }
    return 0;
}
