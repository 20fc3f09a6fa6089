// A minimal WebSocket echo server in C on epoll, for calibrating scripts/bench-ws-echo.sh: one
// read and one write per readable socket and almost nothing else, so its CPU time per message is
// what the kernel's loopback TCP path costs on this machine at this moment (the floor any server
// pays), measured with the same load tool right next to the hub. Not a server: no limits, no
// close handshake, no fragmentation, unchecked upgrade requests. Benchmark use only.
//
//   cc -O2 -o /tmp/ws-echo-floor scripts/ws-echo-floor.c -lcrypto && /tmp/ws-echo-floor 9400
#define _GNU_SOURCE
#include "floor-common.h"

struct peer {
    int fd;
    int upgraded;
    size_t count;
    char in[65536 + 1];
};

static unsigned char out[70000];

static void drop(struct peer *p) {
    close(p->fd);
    free(p);
}

// Answers the upgrade once the request is complete; returns 0 while it is not.
static int upgrade(struct peer *p) {
    char response[256];
    size_t used;
    int n = floor_handshake(p->in, p->count, sizeof p->in, response, sizeof response, &used);
    if (n <= 0) return n;
    if (write(p->fd, response, n) != n) return -1;
    memmove(p->in, p->in + used, p->count - used);
    p->count -= used;
    p->upgraded = 1;
    return 1;
}

// Echoes every complete masked frame (payloads under 64 KiB) in one write; -1 on close or error.
static int echo(struct peer *p) {
    size_t at = 0, o = 0;
    while (p->count - at >= 2) {
        unsigned char *f = (unsigned char *)p->in + at;
        size_t length = f[1] & 127, header = 2;
        if (length == 126) {
            if (p->count - at < 4) break;
            length = (size_t)f[2] << 8 | f[3];
            header = 4;
        } else if (length == 127 || (f[0] & 15) == 8) {
            return -1;
        }
        if (p->count - at < header + 4 + length) break;
        const unsigned char *mask = f + header, *payload = f + header + 4;
        out[o++] = f[0];
        if (length < 126) {
            out[o++] = (unsigned char)length;
        } else {
            out[o++] = 126;
            out[o++] = (unsigned char)(length >> 8);
            out[o++] = (unsigned char)length;
        }
        for (size_t i = 0; i < length; i++) out[o++] = payload[i] ^ mask[i & 3];
        at += header + 4 + length;
    }
    memmove(p->in, p->in + at, p->count - at);
    p->count -= at;
    return o && write(p->fd, out, o) != (ssize_t)o ? -1 : 0;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9400;
    int poller;
    int listener = floor_listen(port, "ws-echo-floor", "", &poller);
    struct epoll_event ready[1024];
    for (;;) {
        int n = epoll_wait(poller, ready, 1024, -1);
        for (int i = 0; i < n; i++) {
            struct peer *p = ready[i].data.ptr;
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
            p->count += (size_t)got;
            if (!p->upgraded) {
                int state = upgrade(p);
                if (state < 0) drop(p);
                if (state <= 0) continue;
            }
            if (echo(p) < 0) drop(p);
        }
    }
}
