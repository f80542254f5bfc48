// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_CLIBPQ_SHIM_H
#define SPP_HOOKD_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
