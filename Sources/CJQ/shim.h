// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_CJQ_SHIM_H
#define SPP_HOOKD_CJQ_SHIM_H
// Debian's libjq-dev (jq 1.6) ships no pkg-config file: the headers are in /usr/include.
#include <jq.h>
#include <jv.h>
#endif
