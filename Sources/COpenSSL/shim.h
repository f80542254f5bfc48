// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_COPENSSL_SHIM_H
#define SPP_HOOKD_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#endif
