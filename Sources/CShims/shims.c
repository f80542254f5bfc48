// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <malloc.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include "CShims.h"

int spp_accept_nonblocking_cloexec(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
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
    sigset_t handled;
    sigemptyset(&handled);
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &sa, NULL) != 0) return -1;
        sigaddset(&handled, signals[i]);
    }
    // A parent may have started us with these blocked (a mask is inherited across exec);
    // threads created from here on inherit the unblocked mask.
    if (pthread_sigmask(SIG_UNBLOCK, &handled, NULL) != 0) return -1;
    return fds[0];
}

#include <spawn.h>

int spp_spawn(char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd, pid_t *pid) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int rc = posix_spawnattr_init(&attr);
    if (rc != 0) return rc;
    rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) { posix_spawnattr_destroy(&attr); return rc; }
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    short flags = POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if ((rc = posix_spawnattr_setflags(&attr, flags)) == 0 &&
        (rc = posix_spawnattr_setsigmask(&attr, &empty)) == 0 &&
        (rc = posix_spawnattr_setsigdefault(&attr, &defaults)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, in_fd, 0)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 1)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, err_fd, 2)) == 0 &&
        (rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) == 0) {
        rc = posix_spawnp(pid, argv[0], &actions, &attr, argv, envp);
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int spp_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

#include <sys/syscall.h>

int spp_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

#include <sys/epoll.h>
#include <sys/eventfd.h>

int spp_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int spp_epoll_ctl(int epfd, int op, int fd, unsigned events) {
    struct epoll_event ev = {.events = events, .data = {.fd = fd}};
    return epoll_ctl(epfd, op, fd, &ev);
}

int spp_epoll_wait(int epfd, int *fds, unsigned *events, int max, int timeout_ms) {
    struct epoll_event buffer[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, buffer, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = buffer[i].data.fd;
        events[i] = buffer[i].events;
    }
    return n;
}

int spp_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int spp_thread_id(void) { return (int)syscall(SYS_gettid); }

int spp_join_thread(pthread_t thread, double seconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    if (seconds < 0) seconds = 0;
    long long ns = deadline.tv_nsec + (long long)((seconds - (double)(long long)seconds) * 1e9);
    deadline.tv_sec += (time_t)seconds + (time_t)(ns / 1000000000LL);
    deadline.tv_nsec = (long)(ns % 1000000000LL);
    return pthread_timedjoin_np(thread, NULL, &deadline);
}

void spp_set_thread_name(const char *name) {
    char buffer[16];
    strncpy(buffer, name, sizeof buffer - 1);
    buffer[sizeof buffer - 1] = 0;
    pthread_setname_np(pthread_self(), buffer);
}

void spp_release_free_memory(void) {
    malloc_trim(0);
}

void spp_use_one_malloc_arena(void) {
    mallopt(M_ARENA_MAX, 1);
}
