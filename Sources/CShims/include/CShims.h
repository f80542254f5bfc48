// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_CSHIMS_H
#define SPP_HOOKD_CSHIMS_H

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, which Glibc's Swift overlay does not
/// export (it needs _GNU_SOURCE). Atomic close-on-exec matters once hooks are spawned.
int spp_accept_nonblocking_cloexec(int listener);



/// Creates a close-on-exec pipe and installs an async-signal-safe handler for `signals`
/// that writes the signal number (one byte) into it. Returns the read end, or -1 (errno set).
int spp_install_signal_pipe(const int *signals, int count);

#include <pthread.h>
#include <sys/types.h>

/// Spawns argv[0] (searched in PATH) with `envp` in a new session, so it leads its own
/// process group; fds 0, 1, 2 come from in_fd, out_fd, err_fd and every other fd is
/// closed; the signal mask is empty and SIGPIPE, SIGTERM, SIGINT, SIGHUP are default.
/// Returns 0 and sets *pid, or an errno value.
int spp_spawn(char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd, pid_t *pid);

/// pidfd_open(pid, 0): a close-on-exec fd that polls readable when the process exits;
/// -1 (errno set) on kernels before 5.3.
int spp_pidfd_open(pid_t pid);

/// Names the calling thread (`ps -L`, `top -H`, /proc/self/task/N/comm): at most 15 bytes
/// are kept.
void spp_set_thread_name(const char *name);

/// The calling thread's kernel id (its entry in /proc/self/task).
int spp_thread_id(void);

/// pthread_timedjoin_np with a timeout relative to now: 0 once `thread` ended and was
/// joined, ETIMEDOUT when it still runs after `seconds`.
int spp_join_thread(pthread_t thread, double seconds);

/// malloc_trim(0): gives memory that malloc holds free back to the system.
void spp_release_free_memory(void);

/// mallopt(M_ARENA_MAX, 1): every thread allocates from one heap, so memory one thread
/// frees (expired dedup entries, finished batches) is reused by the others.
void spp_use_one_malloc_arena(void);

/// pipe2(fds, O_CLOEXEC).
int spp_pipe_cloexec(int fds[2]);

/// epoll and eventfd for the connection event loops, with plain arrays instead of the
/// packed struct epoll_event.
enum {
    SPP_EPOLLIN = 0x001, SPP_EPOLLOUT = 0x004, SPP_EPOLLERR = 0x008, SPP_EPOLLHUP = 0x010,
    SPP_EPOLL_CTL_ADD = 1, SPP_EPOLL_CTL_DEL = 2, SPP_EPOLL_CTL_MOD = 3,
};
/// epoll_create1(EPOLL_CLOEXEC).
int spp_epoll_create(void);
/// epoll_ctl with `events` and the fd itself as the event's data.
int spp_epoll_ctl(int epfd, int op, int fd, unsigned events);
/// epoll_wait into `fds` and `events` (at most `max`); returns the count, or -1 (errno set).
int spp_epoll_wait(int epfd, int *fds, unsigned *events, int max, int timeout_ms);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int spp_eventfd(void);

#endif
