/*
 * client/pin-source.c — reading PINs from the PIN sources of DESIGN.md.
 *
 * file:, env: and credential: are read by the shared header-only reader
 * (store/config-pinread.h, which explains the file rules); this file adds
 * the interactive source.
 *
 * The prompt reads from /dev/tty with echo off and restores the terminal on
 * every path, including a signal: the handlers installed for the duration
 * only record the signal, the read returns EINTR, the terminal is restored,
 * and the signal is raised again under the caller's own disposition.
 */
#include "config.h"

#include "client/pin-source.h"

#include "common/secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

void p11kms_client_pin_free(p11kms_client_pin *pin)
{
    p11kms_pinsrc_secret_free(pin);
}

int p11kms_client_pin_read_file(const char *path, const char *what, size_t max,
                                p11kms_client_pin *pin, p11kms_client_err *err)
{
    char msg[P11KMS_CLIENT_ERR_MAX];

    if (!p11kms_pinsrc_read_file(path, what, max, pin, msg, sizeof(msg)))
        return p11kms_client_fail(err, 0, "%s", msg);
    return 1;
}

/* Prompt --------------------------------------------------------------------- */

static volatile sig_atomic_t prompt_signal;

static void prompt_on_signal(int sig)
{
    prompt_signal = sig;
}

static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define NSIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static void signals_catch(struct sigaction *saved)
{
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = prompt_on_signal; /* no SA_RESTART: read() must return EINTR */
    sigemptyset(&sa.sa_mask);
    prompt_signal = 0;
    for (i = 0; i < NSIGNALS; i++)
        sigaction(prompt_signals[i], &sa, &saved[i]);
}

static void signals_restore(const struct sigaction *saved)
{
    size_t i;

    for (i = 0; i < NSIGNALS; i++)
        sigaction(prompt_signals[i], &saved[i], NULL);
}

/* Read one line (without echo: the caller turned it off) into pin. */
static int tty_read_line(int fd, p11kms_client_pin *pin, p11kms_client_err *err)
{
    unsigned char c;
    ssize_t n;

    for (;;) {
        n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR && prompt_signal == 0)
            continue;
        if (n < 0 && errno == EINTR)
            return p11kms_client_fail(err, 0, "prompt: interrupted");
        if (n < 0)
            return p11kms_client_fail(err, 0, "prompt: read error: %s", strerror(errno));
        if (n == 0 || c == '\n')
            break;
        if (pin->len < pin->cap - 1)
            pin->data[pin->len++] = c; /* past the cap: keep reading, pin_finish refuses */
        else
            pin->len = pin->cap - 1;
    }
    if (n == 0 && pin->len == 0)
        return p11kms_client_fail(err, 0, "prompt: end of input");
    return 1;
}

static int read_prompt(const char *prompt, p11kms_client_pin *pin, p11kms_client_err *err)
{
    struct sigaction saved[NSIGNALS];
    char msg[P11KMS_CLIENT_ERR_MAX];
    struct termios old, quiet;
    int fd, ok = 0, restored = 1, caught = 0;

    pin->data = NULL;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        p11kms_client_fail(err, 0,
                           "prompt: no terminal to ask for the PIN on (use file:, env: or "
                           "credential:)");
        goto done;
    }
    if (tcgetattr(fd, &old) != 0) {
        p11kms_client_fail(err, 0, "prompt: /dev/tty is not a terminal");
        goto done;
    }
    if (!p11kms_pinsrc_secret_alloc(pin, P11KMS_CLIENT_PIN_MAX, msg, sizeof(msg))) {
        p11kms_client_fail(err, 0, "%s", msg);
        goto done;
    }
    signals_catch(saved);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    restored = 0;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        p11kms_client_fail(err, 0, "prompt: cannot turn echo off: %s", strerror(errno));
        goto done;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        p11kms_client_fail(err, 0, "prompt: cannot write to the terminal: %s", strerror(errno));
        goto done;
    }
    ok = tty_read_line(fd, pin, err);
    if (ok &&
        !p11kms_pinsrc_secret_finish(pin, "prompt", P11KMS_CLIENT_PIN_MAX, msg, sizeof(msg))) {
        p11kms_client_fail(err, 0, "%s", msg);
        ok = 0;
    }
done:
    if (!restored) {
        tcsetattr(fd, TCSAFLUSH, &old);
        if (write(fd, "\n", 1) < 0) {
            /* Nothing to do: the PIN is read, only the cosmetic newline is lost. */
        }
        caught = prompt_signal;
        signals_restore(saved);
    }
    if (fd >= 0)
        close(fd);
    if (!ok)
        p11kms_client_pin_free(pin);
    if (caught != 0)
        raise(caught); /* deliver it now, with the terminal back to normal */
    return ok;
}

/* Entry points ---------------------------------------------------------------- */

int p11kms_client_pin_read_source(const p11kms_pinsrc *src, const char *prompt,
                                  p11kms_client_pin *pin, p11kms_client_err *err)
{
    char msg[P11KMS_CLIENT_ERR_MAX];

    pin->data = NULL;
    pin->len = 0;
    pin->cap = 0;
    if (src->kind == P11KMS_PINSRC_PROMPT)
        return read_prompt(prompt != NULL ? prompt : "PIN: ", pin, err);
    if (!p11kms_pinsrc_read(src, P11KMS_CLIENT_PIN_MAX, pin, msg, sizeof(msg)))
        return p11kms_client_fail(err, 0, "%s", msg);
    return 1;
}

const char *p11kms_client_pin_default_spec(void)
{
    return getenv("P11KMS_PIN") != NULL ? "env:P11KMS_PIN" : "prompt";
}

int p11kms_client_pin_read(const char *spec, const char *prompt, p11kms_client_pin *pin,
                           p11kms_client_err *err)
{
    char perr[256];
    p11kms_pinsrc src;

    pin->data = NULL;
    pin->len = 0;
    pin->cap = 0;
    if (!p11kms_pinsrc_parse(spec, 0, &src, perr, sizeof(perr)))
        return p11kms_client_fail(err, 0, "%s", perr);
    return p11kms_client_pin_read_source(&src, prompt, pin, err);
}
