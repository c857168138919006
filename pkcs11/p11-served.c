/*
 * p11-served.c — caller identity in isolated mode ([access] served =
 * p11-kit).  p11-kit server execs p11-kit-remote per connection with the
 * client's socket on fd 0, so the peer credentials of fd 0 are the caller.
 * They are trusted only when fd 0 really is a connected AF_UNIX stream
 * socket and, when the configuration names the server socket, its local
 * address is that path; anything else fails closed (DESIGN.md, Threat model).
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "pkcs11/p11-internal.h"

static int local_path_is(int fd, const char *path)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 || sa.sun_family != AF_UNIX)
        return 0;
    if (path == NULL)
        return 1;
    sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
    return strcmp(sa.sun_path, path) == 0;
}

static int is_stream_socket(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

int p11kms_p11_served_peer(const char *socket_path, p11kms_caller *out)
{
    if (!is_stream_socket(0) || !local_path_is(0, socket_path))
        return 0;
    return p11kms_caller_from_socket(0, out);
}
