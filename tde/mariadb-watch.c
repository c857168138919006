/*
 * tde/mariadb-watch.c — the CMK-rotation watcher of the MariaDB plugin (see
 * mariadb-watch.h).  A failed check is logged and retried at the next
 * interval: the keys already published stay valid, so nothing in the
 * server's I/O depends on the token being reachable.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "tde/mariadb-log.h"
#include "tde/mariadb-ring.h"
#include "tde/mariadb-watch.h"

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    pthread_t thread;
    int running, stop, failing;
    unsigned interval_s;
} g = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static void check_once(void)
{
    mdb_ring_msg msg = {{0}};
    uint32_t version = 0;
    int rotated = 0;

    if (!mdb_ring_follow_cmk(&rotated, &version, &msg)) {
        /* Log the first failure of a series, not one line per interval. */
        if (!g.failing)
            mdb_log(MDB_LOG_WARNING, "CMK rotation check failed (will retry): %s", msg.text);
        g.failing = 1;
        return;
    }
    if (g.failing)
        mdb_log(MDB_LOG_NOTE, "CMK rotation check works again");
    g.failing = 0;
    if (rotated)
        mdb_log(MDB_LOG_NOTE, "the CMK was rotated: keyring rewrapped, key version %u added",
                (unsigned)version);
}

static void *watch_main(void *arg)
{
    struct timespec until;

    (void)arg;
    pthread_mutex_lock(&g.mutex);
    while (!g.stop) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)g.interval_s;
        while (!g.stop && pthread_cond_timedwait(&g.cond, &g.mutex, &until) != ETIMEDOUT)
            ;
        if (g.stop)
            break;
        pthread_mutex_unlock(&g.mutex);
        check_once();
        pthread_mutex_lock(&g.mutex);
    }
    pthread_mutex_unlock(&g.mutex);
    return NULL;
}

int mdb_watch_start(unsigned interval_s)
{
    pthread_condattr_t attr;
    int ok = 0;

    if (g.running || interval_s == 0)
        return 1;
    if (pthread_condattr_init(&attr) != 0)
        return 0;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&g.cond, &attr) != 0)
        goto done;
    g.interval_s = interval_s;
    g.stop = 0;
    g.failing = 0;
    if (pthread_create(&g.thread, NULL, watch_main, NULL) != 0) {
        pthread_cond_destroy(&g.cond);
        goto done;
    }
    g.running = 1;
    ok = 1;
done:
    pthread_condattr_destroy(&attr);
    return ok;
}

void mdb_watch_stop(void)
{
    if (!g.running)
        return;
    pthread_mutex_lock(&g.mutex);
    g.stop = 1;
    pthread_cond_signal(&g.cond);
    pthread_mutex_unlock(&g.mutex);
    pthread_join(g.thread, NULL);
    pthread_cond_destroy(&g.cond);
    g.running = 0;
}
