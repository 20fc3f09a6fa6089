// A minimal WebSocket broadcaster in C on epoll, for calibrating scripts/bench-fanout.sh: it
// accepts upgrades, welcomes each subscriber, and every 1/RATE s writes BATCH events to every
// subscriber, one write() per subscriber, and almost nothing else. A round that starts late
// carries the events of the rounds it missed, as the hub sends what queued meanwhile in one
// write. Its CPU time per delivery is what the kernel's loopback TCP path costs on this machine
// at that moment (the floor any server pays), measured with the same load tool
// (`spacehub-load fanout --server-events`) right next to the hub. Events look like the hub's:
// the same envelope, 583 bytes of JSON, with `seq` and `ts` (Unix ms) at the end. Not a server:
// no limits, no close handshake, unchecked upgrade requests, and a subscriber whose socket is
// full is dropped. Benchmark use only.
//
//   cc -O2 -o /tmp/fanout-floor scripts/fanout-floor.c -lcrypto && /tmp/fanout-floor 0 20 1
#define _GNU_SOURCE
#include <sys/timerfd.h>
#include <time.h>

#include "floor-common.h"

enum { EVENT_BYTES = 583, PEERS_MAX = 65536 };

struct peer {
    int fd;
    int upgraded;
    size_t count;
    char in[4096];
};

static struct peer *peers[PEERS_MAX];
static int peer_count;
static long long seq, dropped;
static unsigned char out[1 << 20];

// Stops publishing to `p` (it stays registered until its EOF, so an event of this epoll_wait
// batch never points at freed memory).
static void unlist(struct peer *p) {
    for (int i = 0; i < peer_count; i++) {
        if (peers[i] == p) {
            peers[i] = peers[--peer_count];
            break;
        }
    }
}

static void drop(struct peer *p) {
    unlist(p);
    close(p->fd);
    free(p);
}

// Appends one unmasked text frame around `text` at out + at; returns the new end.
static size_t frame(size_t at, const char *text, size_t length) {
    out[at++] = 0x81;
    if (length < 126) {
        out[at++] = (unsigned char)length;
    } else {
        out[at++] = 126;
        out[at++] = (unsigned char)(length >> 8);
        out[at++] = (unsigned char)length;
    }
    memcpy(out + at, text, length);
    return at + length;
}

// Answers the upgrade with 101 and the welcome in one write, once the request is complete.
static int upgrade(struct peer *p) {
    size_t used;
    int n = floor_handshake(p->in, p->count, sizeof p->in, (char *)out, 256, &used);
    if (n <= 0) return n;
    char welcome[128];
    int w = snprintf(welcome, sizeof welcome, "{\"type\":\"welcome\",\"payload\":{\"seq\":%lld}}", seq);
    size_t total = frame((size_t)n, welcome, (size_t)w);
    if (write(p->fd, out, total) != (ssize_t)total) return -1;
    p->upgraded = 1;
    peers[peer_count++] = p;
    return 1;
}

// Writes `batch` new events to every subscriber, one write each.
static void publish(int batch) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    size_t at = 0;
    for (int b = 0; b < batch; b++) {
        char text[EVENT_BYTES + 64];
        char tail[64];
        int t = snprintf(tail, sizeof tail, ",\"channel\":\"availability\",\"seq\":%lld,\"ts\":%lld}", ++seq, ms);
        const char *head = "{\"type\":\"space_availability_changed\",\"payload\":{\"spaceId\":\"floor\",\"pad\":\"";
        size_t h = strlen(head), pad = EVENT_BYTES - h - 2 - (size_t)t;
        memcpy(text, head, h);
        memset(text + h, 'x', pad);
        memcpy(text + h + pad, "\"}", 2);
        memcpy(text + h + pad + 2, tail, (size_t)t);
        at = frame(at, text, EVENT_BYTES);
    }
    for (int i = 0; i < peer_count; i++) {
        if (write(peers[i]->fd, out, at) != (ssize_t)at) {
            // A full or closed socket: a partial frame would corrupt the stream, so stop here.
            dropped++;
            unlist(peers[i--]);
        }
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    double rate = argc > 2 ? atof(argv[2]) : 20;
    int batch = argc > 3 ? atoi(argv[3]) : 1;
    if (rate <= 0 || batch < 1 || batch > 1000) {
        fprintf(stderr, "usage: fanout-floor PORT RATE BATCH (RATE > 0 rounds/s, BATCH 1..1000 events per round)\n");
        return 2;
    }
    int poller;
    char suffix[64];
    snprintf(suffix, sizeof suffix, " (%.1f rounds/s of %d events)", rate, batch);
    int listener = floor_listen(port, "fanout-floor", suffix, &poller);
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    long long interval_ns = (long long)(1e9 / rate);
    struct itimerspec spec = {.it_interval = {interval_ns / 1000000000, interval_ns % 1000000000},
                              .it_value = {interval_ns / 1000000000, interval_ns % 1000000000}};
    timerfd_settime(timer, 0, &spec, NULL);
    struct epoll_event timer_event = {.events = EPOLLIN, .data.ptr = &timer};
    epoll_ctl(poller, EPOLL_CTL_ADD, timer, &timer_event);
    struct epoll_event ready[1024];
    for (;;) {
        int n = epoll_wait(poller, ready, 1024, -1);
        for (int i = 0; i < n; i++) {
            struct peer *p = ready[i].data.ptr;
            if ((void *)p == &timer) {
                unsigned long long expirations;
                // Behind schedule (the last round took longer than the interval): catch up in one
                // round, as the hub sends the events queued meanwhile in one write.
                if (read(timer, &expirations, sizeof expirations) > 0 && peer_count > 0) {
                    long long events = (long long)batch * (long long)expirations;
                    publish(events > 1000 ? 1000 : (int)events);
                }
                continue;
            }
            if (!p) {
                floor_accept(listener, poller, sizeof *p);
                continue;
            }
            ssize_t got = read(p->fd, p->in + p->count, sizeof p->in - 1 - p->count);
            if (got < 0 && errno == EAGAIN) continue;
            if (got <= 0) {
                drop(p);
                continue;
            }
            if (p->upgraded) continue;  // pongs and the closing handshake: nothing to do
            p->count += (size_t)got;
            if (upgrade(p) < 0) drop(p);
        }
    }
}
