// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include "CShims.h"

int spp_accept_nonblocking_cloexec(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
