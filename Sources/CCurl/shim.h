// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_CCURL_SHIM_H
#define SPP_HOOKD_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic: Swift calls them through these,
// one per argument type.
typedef size_t (*spp_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode spp_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode spp_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode spp_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode spp_curl_set_size(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode spp_curl_set_callback(CURL *handle, CURLoption option, spp_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode spp_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
#endif
