// A minimal WebSocket echo server in C on epoll, for calibrating scripts/bench-ws-echo.sh: one
// read and one write per readable socket and almost nothing else, so its CPU time per message is
// what the kernel's loopback TCP path costs on this machine at this moment (the floor any server
// pays), measured with the same load tool right next to the hub. Not a server: no limits, no
// close handshake, no fragmentation, unchecked upgrade requests. Benchmark use only.
//
//   cc -O2 -o /tmp/ws-echo-floor scripts/ws-echo-floor.c -lcrypto && /tmp/ws-echo-floor 9400
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct peer {
    int fd;
    int upgraded;
    size_t count;
    unsigned char in[65536 + 1];
};

static unsigned char out[70000];

static void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void drop(struct peer *p) {
    close(p->fd);
    free(p);
}

// Answers the upgrade once the request is complete; returns 0 while it is not.
static int upgrade(struct peer *p) {
    p->in[p->count] = 0;
    char *end = strstr((char *)p->in, "\r\n\r\n");
    char *key = strcasestr((char *)p->in, "\r\nSec-WebSocket-Key:");
    if (!end || !key) return 0;
    key += 20;
    while (*key == ' ') key++;
    char text[128];
    int length = (int)(strstr(key, "\r\n") - key);
    if (length <= 0 || length > 60) return -1;
    snprintf(text, sizeof text, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", length, key);
    unsigned char digest[20];
    char accept[32];
    SHA1((unsigned char *)text, strlen(text), digest);
    EVP_EncodeBlock((unsigned char *)accept, digest, 20);
    char response[256];
    int n = snprintf(response, sizeof response,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    if (write(p->fd, response, n) != n) return -1;
    size_t used = (size_t)((unsigned char *)end + 4 - p->in);
    memmove(p->in, p->in + used, p->count - used);
    p->count -= used;
    p->upgraded = 1;
    return 1;
}

// Echoes every complete masked frame (payloads under 64 KiB) in one write; -1 on close or error.
static int echo(struct peer *p) {
    size_t at = 0, o = 0;
    while (p->count - at >= 2) {
        unsigned char *f = p->in + at;
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
    int port = argc > 1 ? atoi(argv[1]) : 9400, one = 1;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 4096)) {
        perror("ws-echo-floor: bind/listen");
        return 1;
    }
    set_nonblocking(listener);
    int poller = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);  // port 0 picks a free one
    printf("listening on http://127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stdout);
    struct epoll_event ready[1024];
    for (;;) {
        int n = epoll_wait(poller, ready, 1024, -1);
        for (int i = 0; i < n; i++) {
            struct peer *p = ready[i].data.ptr;
            if (!p) {
                for (int fd; (fd = accept(listener, NULL, NULL)) >= 0;) {
                    set_nonblocking(fd);
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    p = calloc(1, sizeof *p);
                    p->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = p};
                    epoll_ctl(poller, EPOLL_CTL_ADD, fd, &e);
                }
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
