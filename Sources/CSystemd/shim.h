// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_CSYSTEMD_SHIM_H
#define SPP_HOOKD_CSYSTEMD_SHIM_H
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif
