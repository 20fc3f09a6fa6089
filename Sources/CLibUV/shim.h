#include <uv.h>

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

// The loop's own epoll instance (HubLoop's Poller). `struct epoll_event` is packed on x86-64,
// which Swift does not import faithfully, so these take and return its two fields apart.

/// Adds, changes or removes `fd` (`op` EPOLL_CTL_*) with `events`, carrying `data` back in each
/// event. Returns 0 or -errno.
static inline int spacehub_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event = {.events = events, .data = {.u64 = data}};
    return epoll_ctl(epfd, op, fd, &event) == 0 ? 0 : -errno;
}

/// The most events one `spacehub_epoll_poll` takes.
#define SPACEHUB_EPOLL_EVENTS_MAX 256

/// Takes up to SPACEHUB_EPOLL_EVENTS_MAX ready events without blocking into `data` and
/// `events`, which have room for that many. Returns how many, or -errno.
static inline int spacehub_epoll_poll(int epfd, uint64_t *data, uint32_t *events) {
    struct epoll_event ready[SPACEHUB_EPOLL_EVENTS_MAX];
    int count = epoll_wait(epfd, ready, SPACEHUB_EPOLL_EVENTS_MAX, 0);
    if (count < 0) return -errno;
    for (int i = 0; i < count; i++) {
        data[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

/// glibc's accept4, declared only under _GNU_SOURCE: takes a waiting peer as a socket with
/// `flags` (SOCK_NONBLOCK, SOCK_CLOEXEC) set. Returns the socket or -errno.
int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
static inline int spacehub_accept(int fd, int flags) {
    int peer = accept4(fd, NULL, NULL, flags);
    return peer >= 0 ? peer : -errno;
}
