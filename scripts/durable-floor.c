// SPDX-License-Identifier: MIT
// The floor of persist-then-acknowledge, for `make bench-scale`: the least a server can do
// and still answer only after the request is on disk. One thread, epoll, HTTP/1.1
// keep-alive; each round of ready connections reads whole requests (Content-Length only),
// appends their bodies to one file, calls fdatasync once, then answers them all. No
// parsing beyond the head, no validation, no dedup, no limits: a benchmark peer, not a
// server to run.
//
//   durable-floor PORT FILE
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN 1024
#define BUF (64 * 1024)

struct conn {
    char in[BUF];
    size_t len;
    int waiting;  // answers owed after the next sync
};

static struct conn *conns[MAXCONN];
static char pending[4 << 20];
static size_t pendingLen;
static int owed[MAXCONN];
static int owedCount;

static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

// Takes every whole request in c->in; returns -1 to close.
static int take(int fd, struct conn *c) {
    for (;;) {
        char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
        if (!end) return c->len < BUF ? 0 : -1;
        size_t head = (size_t)(end - c->in) + 4;
        size_t body = 0;
        char *cl = memmem(c->in, head, "Content-Length:", 15);
        if (!cl) cl = memmem(c->in, head, "content-length:", 15);
        if (cl) body = strtoul(cl + 15, NULL, 10);
        if (head + body > BUF) return -1;
        if (c->len < head + body) return 0;
        if (pendingLen + body + 1 > sizeof pending) return -1;
        memcpy(pending + pendingLen, c->in + head, body);
        pendingLen += body;
        pending[pendingLen++] = '\n';
        c->waiting++;
        if (c->waiting == 1) owed[owedCount++] = fd;
        memmove(c->in, c->in + head + body, c->len - head - body);
        c->len -= head + body;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: durable-floor PORT FILE\n");
        return 2;
    }
    int out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (out < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 512) != 0) {
        perror("durable-floor");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAXCONN) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    free(conns[c]);
                    conns[c] = calloc(1, sizeof(struct conn));
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            struct conn *c = conns[fd];
            ssize_t got = read(fd, c->in + c->len, BUF - c->len);
            if (got > 0) c->len += (size_t)got;
            if (got == 0 || (got < 0 && errno != EAGAIN) || take(fd, c) < 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                c->waiting = 0;
            }
        }
        if (pendingLen == 0) continue;
        if (write(out, pending, pendingLen) != (ssize_t)pendingLen || fdatasync(out) != 0) {
            perror("durable-floor: write");
            return 1;
        }
        pendingLen = 0;
        for (int k = 0; k < owedCount; k++) {
            struct conn *c = conns[owed[k]];
            for (; c->waiting > 0; c->waiting--) send(owed[k], answer, sizeof answer - 1, MSG_NOSIGNAL);
        }
        owedCount = 0;
    }
}
