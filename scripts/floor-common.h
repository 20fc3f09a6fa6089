// What the C floors (scripts/fanout-floor.c, scripts/ws-echo-floor.c) share: a loopback listener
// on epoll, accepting, and the WebSocket opening handshake. Header-only, benchmark use only: no
// limits, and upgrade requests are not checked beyond finding their key.
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

static void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Listens on 127.0.0.1:port (0: a free port), registered with a new epoll instance (*poller)
// under a NULL data pointer, and prints "listening on http://127.0.0.1:PORT" and `suffix`, the
// line the bench scripts wait for. Exits 1 when it cannot.
static int floor_listen(int port, const char *name, const char *suffix, int *poller) {
    int one = 1;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 4096)) {
        fprintf(stderr, "%s: bind/listen: %s\n", name, strerror(errno));
        exit(1);
    }
    set_nonblocking(listener);
    *poller = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(*poller, EPOLL_CTL_ADD, listener, &event);
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    printf("listening on http://127.0.0.1:%d%s\n", ntohs(address.sin_port), suffix);
    fflush(stdout);
    return listener;
}

// Accepts every pending connection: non-blocking, TCP_NODELAY, and a zeroed peer of `size` bytes,
// whose first member is the socket (an int), registered with the poller for reading.
static void floor_accept(int listener, int poller, size_t size) {
    int one = 1;
    for (int fd; (fd = accept(listener, NULL, NULL)) >= 0;) {
        set_nonblocking(fd);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int *peer = calloc(1, size);
        *peer = fd;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = peer};
        epoll_ctl(poller, EPOLL_CTL_ADD, fd, &e);
    }
}

// The 101 answer to the upgrade request at the start of `in` (`count` bytes read into a buffer of
// `capacity`; in[count] must be writable): its length in `response`, 0 while the request is
// incomplete, -1 when it cannot be answered. *used is the request's length.
static int floor_handshake(char *in, size_t count, size_t capacity, char *response, size_t response_size, size_t *used) {
    in[count] = 0;
    char *end = strstr(in, "\r\n\r\n");
    char *key = strcasestr(in, "\r\nSec-WebSocket-Key:");
    if (!end || !key) return count + 1 >= capacity ? -1 : 0;
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
    *used = (size_t)(end + 4 - in);
    return snprintf(response, response_size,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
}
