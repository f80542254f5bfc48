// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_CSHIMS_H
#define SPP_HOOKD_CSHIMS_H

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, which Glibc's Swift overlay does not
/// export (it needs _GNU_SOURCE). Atomic close-on-exec matters once hooks are spawned.
int spp_accept_nonblocking_cloexec(int listener);



/// Creates a close-on-exec pipe and installs an async-signal-safe handler for `signals`
/// that writes the signal number (one byte) into it. Returns the read end, or -1 (errno set).
int spp_install_signal_pipe(const int *signals, int count);
#endif
