#include "common/curl_library.hpp"

#include <dlfcn.h>

#include <mutex>

namespace yardstick {

namespace {

// What every entry does without the library: what libcurl itself returns
// when it cannot start.
CURLcode no_global_init(long) {
  return CURLE_FAILED_INIT;
}
CURL* no_easy_init() {
  return nullptr;
}
CURLcode no_easy_setopt(CURL*, CURLoption, ...) {
  return CURLE_FAILED_INIT;
}
CURLcode no_easy_perform(CURL*) {
  return CURLE_FAILED_INIT;
}
CURLcode no_easy_getinfo(CURL*, CURLINFO, ...) {
  return CURLE_FAILED_INIT;
}
void no_easy_cleanup(CURL*) {}
const char* no_easy_strerror(CURLcode) {
  return curl_load_error().c_str();
}
curl_slist* no_slist_append(curl_slist*, const char*) {
  return nullptr;
}
void no_slist_free_all(curl_slist*) {}
CURLM* no_multi_init() {
  return nullptr;
}
CURLMcode no_multi_handle(CURLM*, CURL*) {
  return CURLM_BAD_HANDLE;
}
CURLMcode no_multi_perform(CURLM*, int* running) {
  if (running) *running = 0;
  return CURLM_BAD_HANDLE;
}
CURLMcode no_multi_poll(CURLM*, curl_waitfd*, unsigned int, int, int* ready) {
  if (ready) *ready = 0;
  return CURLM_BAD_HANDLE;
}
CURLMcode no_multi(CURLM*) {
  return CURLM_BAD_HANDLE;
}
CURLMcode no_multi_timeout(CURLM*, long* timeout_ms) {
  if (timeout_ms) *timeout_ms = -1;
  return CURLM_BAD_HANDLE;
}
CURLMsg* no_multi_info_read(CURLM*, int* queued) {
  if (queued) *queued = 0;
  return nullptr;
}

CurlLibrary g_library = {no_global_init,     no_easy_init,    no_easy_setopt,   no_easy_perform,
                         no_easy_getinfo,    no_easy_cleanup, no_easy_strerror, no_slist_append,
                         no_slist_free_all,  no_multi_init,   no_multi_handle,  no_multi_handle,
                         no_multi_perform,   no_multi_poll,   no_multi,         no_multi_timeout,
                         no_multi_info_read, no_multi};
std::string g_error;

template <typename F>
bool bind(void* lib, const char* name, F* slot) {
  void* sym = dlsym(lib, name);
  if (!sym) return false;
  *slot = reinterpret_cast<F>(sym);
  return true;
}

void load() {
  void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    g_error = std::string("HTTP needs libcurl (Debian: libcurl4): ") + (why ? why : "not found");
    return;
  }
  CurlLibrary l = g_library;
  const bool all = bind(lib, "curl_global_init", &l.global_init) &&
                   bind(lib, "curl_easy_init", &l.easy_init) &&
                   bind(lib, "curl_easy_setopt", &l.easy_setopt) &&
                   bind(lib, "curl_easy_perform", &l.easy_perform) &&
                   bind(lib, "curl_easy_getinfo", &l.easy_getinfo) &&
                   bind(lib, "curl_easy_cleanup", &l.easy_cleanup) &&
                   bind(lib, "curl_easy_strerror", &l.easy_strerror) &&
                   bind(lib, "curl_slist_append", &l.slist_append) &&
                   bind(lib, "curl_slist_free_all", &l.slist_free_all) &&
                   bind(lib, "curl_multi_init", &l.multi_init) &&
                   bind(lib, "curl_multi_add_handle", &l.multi_add_handle) &&
                   bind(lib, "curl_multi_remove_handle", &l.multi_remove_handle) &&
                   bind(lib, "curl_multi_perform", &l.multi_perform) &&
                   bind(lib, "curl_multi_poll", &l.multi_poll) &&
                   bind(lib, "curl_multi_wakeup", &l.multi_wakeup) &&
                   bind(lib, "curl_multi_timeout", &l.multi_timeout) &&
                   bind(lib, "curl_multi_info_read", &l.multi_info_read) &&
                   bind(lib, "curl_multi_cleanup", &l.multi_cleanup);
  if (!all) {
    g_error = "HTTP needs libcurl 7.68 or later (curl_multi_poll): libcurl.so.4 lacks an entry";
    return;
  }
  if (l.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    g_error = "libcurl could not start (curl_global_init failed)";
    return;
  }
  g_library = l;
}

std::once_flag g_once;

}  // namespace

const CurlLibrary& curl() {
  std::call_once(g_once, load);
  return g_library;
}

const std::string& curl_load_error() {
  std::call_once(g_once, load);
  return g_error;
}

}  // namespace yardstick
