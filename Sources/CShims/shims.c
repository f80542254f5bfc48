// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include "CShims.h"

int spp_accept_nonblocking_cloexec(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t spp_signal_pipe_fd = -1;

static void spp_on_signal(int sig) {
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    ssize_t ignored = write(spp_signal_pipe_fd, &byte, 1);
    (void)ignored;
    errno = saved;
}

int spp_install_signal_pipe(const int *signals, int count) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    spp_signal_pipe_fd = fds[1];
    struct sigaction sa;
    sa.sa_handler = spp_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &sa, NULL) != 0) return -1;
    }
    return fds[0];
}
