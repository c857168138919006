/*
 * kms/caller.h — who is calling: the identity every policy decision and
 * every audit record is about.
 *
 * In-process the caller is the process itself (p11kms_caller_self); in
 * isolated mode it is the peer of the p11-kit server socket
 * (p11kms_caller_from_socket, SO_PEERCRED + SO_PEERGROUPS).  Groups are the
 * caller's own set, never a name-service lookup (DESIGN.md, Policies).
 * The executable path is advisory: spoofable in-process and often
 * unreadable across users.
 */
#ifndef P11KMS_KMS_CALLER_H
#define P11KMS_KMS_CALLER_H

#include <stddef.h>
#include <sys/types.h>

#define P11KMS_CALLER_MAX_GROUPS 64

typedef struct p11kms_caller {
    uid_t uid;
    gid_t gid;
    pid_t pid;
    gid_t groups[64];
    size_t ngroups;        /* supplementary groups, primary included */
    char user[64];         /* user name at call time, "" if unknown */
    char executable[4096]; /* /proc/PID/exe target, "" if unreadable (advisory) */
} p11kms_caller;

/* The calling process: getuid/getgid/getgroups/getpid/readlink.
 * Returns 1 on success, 0 on failure (errno set; E2BIG when the process has
 * more than 64 groups: refusing beats silently dropping a group that a Deny
 * statement may name). */
int p11kms_caller_self(p11kms_caller *out);

/* The peer of a connected AF_UNIX socket (SO_PEERCRED, SO_PEERGROUPS).
 * Returns 1 on success, 0 on failure (errno set; E2BIG as above). */
int p11kms_caller_from_socket(int fd, p11kms_caller *out);

/* 1 if gid is the caller's primary group or one of its groups. */
int p11kms_caller_in_group(const p11kms_caller *caller, gid_t gid);

#endif /* P11KMS_KMS_CALLER_H */
