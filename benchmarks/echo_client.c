/*
 * echo_client: a fixed load generator for the echo benchmark.
 *
 * It is deliberately not written with any of the event loops under test, so that
 * the same client loads asyncio, uvloop and ours alike.  One thread, epoll,
 * non-blocking sockets:
 *
 *   - N connections to 127.0.0.1:PORT (loopback only: any other host is refused);
 *   - each connection sends one message of S bytes, waits for the complete echo,
 *     compares every byte with what it sent (a mismatch, an early EOF or an extra
 *     byte ends the run with exit status 2 and a message on stderr), records the
 *     round-trip latency, then sends the next message;
 *   - message i of connection c is a window of a random pattern starting at an
 *     offset that depends on (c, i), so an echo of a stale or foreign message is
 *     caught, not only a short one;
 *   - the run lasts WARMUP + DURATION seconds; only round trips completed after
 *     the warm-up count; a connection still waiting when the time is up gets a
 *     grace period (5 s) to finish its round trip, which is verified but not
 *     counted.  Every run is therefore bounded in time.
 *
 * Output: one JSON object on stdout with requests/s, MiB/s (echoed payload, one
 * direction), p50/p99/max latency in microseconds and the byte counts verified.
 *
 * --think-us U makes it a slow client: after each complete echo it spins U
 * microseconds (busy, so that the delay does not depend on timer slack) before
 * sending the next message.  A server then always finds nothing to read right
 * after it echoed, and waits for readability: the regime of a quiet machine with
 * a fast client, reproducible on a loaded one (for counting system calls).
 *
 * With -DWITH_TLS (and -lssl -lcrypto) it can speak TLS (--tls, --cafile to verify
 * the server's certificate); the handshakes are done before the clock starts.
 *
 * Usage:
 *   echo_client --port P [--host 127.0.0.1] [--connections N] [--size S]
 *               [--duration T] [--warmup W] [--think-us U] [--tls] [--cafile PATH]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define PATTERN_SPAN 4093 /* a prime, so offsets of consecutive messages differ */
#define GRACE_SECONDS 5.0
#define MAX_CONNECTIONS 10000

enum state { ACTIVE, FINISHED };

struct conn {
    int fd;
    int index;
    enum state state;
    uint64_t seq;          /* number of the message in flight */
    size_t sent;           /* bytes of the current message sent */
    size_t received;       /* bytes of its echo received (and verified) */
    const unsigned char *expected; /* the message in flight (inside the pattern) */
    double started;        /* when its first byte was sent */
    uint32_t events;       /* epoll interest currently registered */
#ifdef WITH_TLS
    SSL *ssl;
#endif
};

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "echo_client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Latencies in microseconds, grown as needed. */
static uint32_t *lat;
static size_t nlat, caplat;

static void record_latency(double seconds) {
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 1 << 16;
        lat = realloc(lat, caplat * sizeof *lat);
        if (!lat) die("out of memory for %zu latencies", caplat);
    }
    double us = seconds * 1e6;
    lat[nlat++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t percentile(double p) {
    if (nlat == 0) return 0;
    size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
    return lat[i];
}

/* ---- transport: plain sockets or TLS, same non-blocking contract ------------ */

/* Result of an I/O attempt: > 0 bytes moved, 0 = peer closed, IO_WANT_READ or
 * IO_WANT_WRITE = would block (wait for that direction). */
#define IO_WANT_READ (-1)
#define IO_WANT_WRITE (-2)

static int use_tls;
#ifdef WITH_TLS
static SSL_CTX *ssl_ctx;

static const char *ssl_error_text(void) {
    static char buf[256];
    unsigned long e = ERR_get_error();
    if (!e) return "no detail";
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}
#endif

static long io_write(struct conn *c, const void *buf, size_t len) {
#ifdef WITH_TLS
    if (use_tls) {
        int n = SSL_write(c->ssl, buf, (int)len);
        if (n > 0) return n;
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_READ) return IO_WANT_READ;
        if (err == SSL_ERROR_WANT_WRITE) return IO_WANT_WRITE;
        die("connection %d: SSL_write failed (error %d: %s)", c->index, err, ssl_error_text());
    }
#endif
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IO_WANT_WRITE;
    if (errno == EINTR) return IO_WANT_WRITE;
    die("connection %d: send failed: %s", c->index, strerror(errno));
    return 0;
}

static long io_read(struct conn *c, void *buf, size_t len) {
#ifdef WITH_TLS
    if (use_tls) {
        int n = SSL_read(c->ssl, buf, (int)len);
        if (n > 0) return n;
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_READ) return IO_WANT_READ;
        if (err == SSL_ERROR_WANT_WRITE) return IO_WANT_WRITE;
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        die("connection %d: SSL_read failed (error %d: %s)", c->index, err, ssl_error_text());
    }
#endif
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n >= 0) return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return IO_WANT_READ;
    die("connection %d: recv failed: %s", c->index, strerror(errno));
    return 0;
}

/* ---- the benchmark ---------------------------------------------------------- */

static int epfd;
static unsigned char *pattern; /* PATTERN_SPAN + size random bytes */
static unsigned char *scratch; /* receive buffer, one message long */
static size_t size;
static double think; /* seconds to spin after each complete echo (--think-us) */

static void set_interest(struct conn *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl(MOD) failed: %s", strerror(errno));
    c->events = events;
}

static void start_message(struct conn *c, double t) {
    size_t offset = (size_t)((c->seq * 2654435761u + (uint64_t)c->index * 40503u) % PATTERN_SPAN);
    c->expected = pattern + offset;
    c->sent = c->received = 0;
    c->state = ACTIVE;
    c->started = t;
}

static uint64_t counted, total_completed, bytes_verified;

/* Drive one connection as far as it goes without blocking.  It reads while it
 * sends, so a server that echoes part of a large message before it has read the
 * rest (or that stops reading while its writes are pending) never deadlocks with
 * us. */
static void drive(struct conn *c, double measure_from, double deadline) {
    for (;;) {
        int progress = 0, want_out = 0;
        long n;
        if (c->state == FINISHED) {
            /* Any byte now is one the server made up. */
            n = io_read(c, scratch, size);
            if (n > 0) die("connection %d: %ld unexpected bytes after the last echo", c->index, n);
            if (n == IO_WANT_WRITE) want_out = 1;
            set_interest(c, EPOLLIN | (want_out ? EPOLLOUT : 0));
            return;
        }
        if (c->sent < size) {
            n = io_write(c, c->expected + c->sent, size - c->sent);
            if (n > 0) {
                c->sent += (size_t)n;
                progress = 1;
            } else if (n == IO_WANT_WRITE) {
                want_out = 1;
            } else if (n == 0) {
                die("connection %d: send moved no byte", c->index);
            }
        }
        if (c->received < c->sent) {
            n = io_read(c, scratch, size - c->received);
            if (n == 0)
                die("connection %d: server closed the connection after echoing %zu of %zu bytes of message %llu",
                    c->index, c->received, size, (unsigned long long)c->seq);
            if (n == IO_WANT_WRITE) want_out = 1;
            if (n > 0) {
                if (c->received + (size_t)n > c->sent)
                    die("connection %d: got %zu bytes of echo for %zu bytes sent of message %llu",
                        c->index, c->received + (size_t)n, c->sent, (unsigned long long)c->seq);
                if (memcmp(scratch, c->expected + c->received, (size_t)n) != 0) {
                    size_t i = 0;
                    while (scratch[i] == c->expected[c->received + i]) i++;
                    die("connection %d: echoed byte %zu of message %llu is 0x%02x, sent 0x%02x",
                        c->index, c->received + i, (unsigned long long)c->seq, scratch[i],
                        c->expected[c->received + i]);
                }
                c->received += (size_t)n;
                bytes_verified += (uint64_t)n;
                progress = 1;
            }
        }
        if (c->received == size) {
            double t = now();
            total_completed++;
            if (c->started >= measure_from && t <= deadline) {
                counted++;
                record_latency(t - c->started);
            }
            if (t >= deadline) {
                c->state = FINISHED;
                continue;
            }
            c->seq++;
            if (think > 0) {
                double until = t + think;
                while ((t = now()) < until) {}
            }
            start_message(c, t);
            continue;
        }
        if (!progress) {
            set_interest(c, EPOLLIN | (want_out ? EPOLLOUT : 0));
            return;
        }
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: echo_client --port P [--host 127.0.0.1] [--connections N] [--size BYTES]\n"
            "                   [--duration SECONDS] [--warmup SECONDS] [--think-us MICROSECONDS]\n"
            "                   [--tls] [--cafile PEM]\n");
    exit(64);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *cafile = NULL;
    int port = 0, nconn = 10;
    double duration = 5.0, warmup = 1.0;
    size = 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tls")) { use_tls = 1; continue; }
        if (!v) usage();
        if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--connections")) nconn = atoi(v);
        else if (!strcmp(a, "--size")) size = (size_t)atol(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--think-us")) think = atof(v) * 1e-6;
        else if (!strcmp(a, "--cafile")) cafile = v;
        else usage();
        i++;
    }
    if (port <= 0 || port > 65535) die("--port must be 1..65535, got %d", port);
    if (nconn < 1 || nconn > MAX_CONNECTIONS) die("--connections must be 1..%d, got %d", MAX_CONNECTIONS, nconn);
    if (size < 1 || size > (64u << 20)) die("--size must be 1..67108864 bytes, got %zu", size);
    if (!(duration > 0 && duration <= 600)) die("--duration must be in (0, 600] seconds, got %g", duration);
    if (!(warmup >= 0 && warmup <= 60)) die("--warmup must be in [0, 60] seconds, got %g", warmup);
    if (!(think >= 0 && think <= 1)) die("--think-us must be in [0, 1000000] microseconds, got %g", think * 1e6);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) die("--host must be an IPv4 address, got %s", host);
    if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) die("refusing non-loopback host %s: this benchmark only loads 127.0.0.0/8", host);

#ifdef WITH_TLS
    if (use_tls) {
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (!ssl_ctx) die("SSL_CTX_new failed: %s", ssl_error_text());
        SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        if (cafile) {
            if (SSL_CTX_load_verify_locations(ssl_ctx, cafile, NULL) != 1)
                die("cannot load CA file %s: %s", cafile, ssl_error_text());
            SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
        }
    }
#else
    if (use_tls) die("--tls given but this client was built without TLS support (rebuild with -DWITH_TLS -lssl -lcrypto)");
    (void)cafile;
#endif

    pattern = malloc(PATTERN_SPAN + size);
    scratch = malloc(size);
    if (!pattern || !scratch) die("out of memory for %zu-byte messages", size);
    srandom(12345);
    for (size_t i = 0; i < PATTERN_SPAN + size; i++) pattern[i] = (unsigned char)(random() >> 7);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1 failed: %s", strerror(errno));
    struct conn *conns = calloc((size_t)nconn, sizeof *conns);
    if (!conns) die("out of memory for %d connections", nconn);

    /* Connect (blocking, with a timeout) and do the TLS handshakes before the clock starts. */
    for (int i = 0; i < nconn; i++) {
        struct conn *c = &conns[i];
        c->index = i;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0) die("socket failed: %s", strerror(errno));
        struct timeval tv = {.tv_sec = 10};
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0)
            die("connection %d: connect to %s:%d failed: %s", i, host, port, strerror(errno));
#ifdef WITH_TLS
        if (use_tls) {
            c->ssl = SSL_new(ssl_ctx);
            SSL_set_fd(c->ssl, c->fd);
            SSL_set_tlsext_host_name(c->ssl, "localhost");
            if (cafile && SSL_set1_host(c->ssl, "localhost") != 1) die("SSL_set1_host failed");
            if (SSL_connect(c->ssl) != 1)
                die("connection %d: TLS handshake failed: %s", i, ssl_error_text());
        }
#endif
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl(ADD) failed: %s", strerror(errno));
    }

    double t0 = now();
    double measure_from = t0 + warmup;
    double deadline = measure_from + duration;
    for (int i = 0; i < nconn; i++) {
        start_message(&conns[i], t0);
        drive(&conns[i], measure_from, deadline);
    }

    struct epoll_event events[256];
    int unfinished = nconn;
    for (;;) {
        double t = now();
        unfinished = 0;
        for (int i = 0; i < nconn; i++) unfinished += conns[i].state != FINISHED;
        if (!unfinished) break;
        if (t > deadline + GRACE_SECONDS)
            die("%d connections still waiting for an echo %.0f s after the end of the run", unfinished, GRACE_SECONDS);
        int timeout_ms = (int)((deadline + GRACE_SECONDS - t) * 1000) + 1;
        if (t < deadline && timeout_ms > (int)((deadline - t) * 1000) + 1) timeout_ms = (int)((deadline - t) * 1000) + 1;
        int n = epoll_wait(epfd, events, 256, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait failed: %s", strerror(errno));
        }
        for (int k = 0; k < n; k++) {
            drive(events[k].data.ptr, measure_from, deadline);
        }
    }
    double elapsed = duration;

    for (int i = 0; i < nconn; i++) {
#ifdef WITH_TLS
        if (conns[i].ssl) SSL_free(conns[i].ssl);
#endif
        close(conns[i].fd);
    }
    close(epfd);

    qsort(lat, nlat, sizeof *lat, cmp_u32);
    double rps = (double)counted / elapsed;
    printf("{\"connections\": %d, \"size\": %zu, \"tls\": %s, \"duration\": %.3f, \"warmup\": %.3f, "
           "\"requests\": %llu, \"requests_total\": %llu, \"bytes_verified\": %llu, "
           "\"rps\": %.1f, \"mib_s\": %.3f, \"p50_us\": %u, \"p99_us\": %u, \"max_us\": %u}\n",
           nconn, size, use_tls ? "true" : "false", elapsed, warmup, (unsigned long long)counted,
           (unsigned long long)total_completed, (unsigned long long)bytes_verified, rps,
           rps * (double)size / (1024.0 * 1024.0), percentile(0.50), percentile(0.99),
           nlat ? lat[nlat - 1] : 0);
    free(conns);
    free(pattern);
    free(scratch);
    free(lat);
    return 0;
}
