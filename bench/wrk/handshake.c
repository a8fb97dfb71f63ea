/* LD_PRELOAD for wrk in the rows that measure TLS handshakes: a full handshake on every new
 * connection, and no busy loop while wrk waits for the server's half of it.
 *
 *     cc -shared -fPIC -O2 -o handshake.so handshake.c -ldl
 *     LD_PRELOAD=./handshake.so wrk ... https://...
 *
 * 1. No resumption. wrk keeps one SSL object per connection and, on reconnecting, calls
 *    SSL_shutdown then SSL_clear, which keeps the last session; the next SSL_connect offers it,
 *    and a server that can resume (rgunicorn can, within one worker) skips the certificate
 *    signature. Against `openssl s_server -www`, 1012 of wrk's 1013 handshakes were
 *    resumptions. So the session is dropped before every SSL_clear.
 *
 * 2. No spinning. wrk (4.1) watches a connecting socket for readable *and* writable events and
 *    calls SSL_connect on each; once the ClientHello is out, the socket stays writable, so each
 *    wrk thread calls SSL_connect in a loop until the server answers: on 2 cores, wrk took more
 *    CPU per handshake than the servers did. When SSL_connect wants to read, this re-arms that
 *    socket in wrk's epoll for readable only (wrk's thread has one epoll, the last one it passed
 *    to epoll_ctl). wrk's event loop keeps its own mask and restores readable + writable with the
 *    next event it adds for the socket, when the handshake is over.
 *
 * The suite builds this per run (servers.build_handshake_preload) and checks against
 * `openssl s_server` that wrk resumes nothing with it (suite.check_handshake_preload).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/epoll.h>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
/* From the libssl wrk is linked with. */
int SSL_set_session(SSL *s, SSL_SESSION *session);
int SSL_get_error(const SSL *s, int ret);
int SSL_get_fd(const SSL *s);
#define SSL_ERROR_WANT_READ 2

static __thread int loop_epfd = -1;
static int (*real_epoll_ctl)(int, int, int, struct epoll_event *);

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) {
    if (real_epoll_ctl == NULL)
        real_epoll_ctl = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
    loop_epfd = epfd;
    return real_epoll_ctl(epfd, op, fd, event);
}

int SSL_clear(SSL *s) {
    static int (*real_clear)(SSL *);
    if (real_clear == NULL)
        real_clear = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
    SSL_set_session(s, NULL);
    return real_clear(s);
}

int SSL_connect(SSL *s) {
    static int (*real_connect)(SSL *);
    if (real_connect == NULL)
        real_connect = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
    int r = real_connect(s);
    if (r != 1 && loop_epfd >= 0 && real_epoll_ctl != NULL && SSL_get_error(s, r) == SSL_ERROR_WANT_READ) {
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.fd = SSL_get_fd(s); /* what wrk's ae_epoll puts in data */
        real_epoll_ctl(loop_epfd, EPOLL_CTL_MOD, ev.data.fd, &ev);
    }
    return r;
}
