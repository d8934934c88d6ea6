// libcurl, loaded when HTTP is first needed (dlopen of libcurl.so.4) rather
// than linked: a process that never speaks HTTP (an idle agent, a
// coordinator without webhooks) maps none of libcurl's thirty or so
// libraries, about 7 MB of resident pages.
//
// Call sites read curl().easy_setopt(...) where they would write
// curl_easy_setopt(...). When the library cannot be loaded, every entry
// fails as libcurl does when it cannot start (null handles, error codes),
// and curl_load_error() says why, so no caller needs a second error path.
#pragma once

#include <curl/curl.h>

#include <string>

namespace yardstick {

struct CurlLibrary {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* handle);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  void (*easy_cleanup)(CURL* handle);
  const char* (*easy_strerror)(CURLcode code);
  curl_slist* (*slist_append)(curl_slist* list, const char* text);
  void (*slist_free_all)(curl_slist* list);
  CURLM* (*multi_init)();
  CURLMcode (*multi_add_handle)(CURLM* multi, CURL* handle);
  CURLMcode (*multi_remove_handle)(CURLM* multi, CURL* handle);
  CURLMcode (*multi_perform)(CURLM* multi, int* running);
  CURLMcode (*multi_poll)(CURLM* multi, curl_waitfd* extra, unsigned int extra_count,
                          int timeout_ms, int* ready);
  CURLMcode (*multi_wakeup)(CURLM* multi);
  CURLMcode (*multi_timeout)(CURLM* multi, long* timeout_ms);
  CURLMsg* (*multi_info_read)(CURLM* multi, int* queued);
  CURLMcode (*multi_cleanup)(CURLM* multi);
};

// The library's entry points, loaded (and curl_global_init run) on the
// first call; thread-safe.
const CurlLibrary& curl();
// Empty when libcurl is loaded; else why it is not (named in errors).
const std::string& curl_load_error();

}  // namespace yardstick
