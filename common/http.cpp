#include "common/http.hpp"
#include "common/curl_library.hpp"

#include <cstdlib>
#include <mutex>
#include <vector>

namespace yardstick {

const char* failure_name(HttpFailure f) {
  switch (f) {
    case HttpFailure::kNone:
      return "ok";
    case HttpFailure::kStatus:
      return "status";
    case HttpFailure::kRefused:
      return "refused";
    case HttpFailure::kReset:
      return "reset";
    case HttpFailure::kTimeout:
      return "timeout";
    case HttpFailure::kOther:
      return "other";
  }
  return "other";
}

namespace {

size_t keep_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (body->size() < HttpAnswer::kBodyLimit)
    body->append(data, std::min(n, HttpAnswer::kBodyLimit - body->size()));
  return n;  // the rest is read and dropped, so the transfer completes
}

}  // namespace

void http_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { (void)curl(); });  // loads libcurl and runs curl_global_init
}

HttpFailure classify(int curl_code, long status, const StatusRange& expect) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK:
      return expect.contains(status) ? HttpFailure::kNone : HttpFailure::kStatus;
    case CURLE_COULDNT_CONNECT:
      return HttpFailure::kRefused;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpFailure::kTimeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return HttpFailure::kReset;
    default:
      return HttpFailure::kOther;
  }
}

void configure_request(CURL* h, const std::string& url, std::chrono::milliseconds timeout,
                       std::string* body) {
  curl().easy_setopt(h, CURLOPT_URL, url.c_str());
  curl().easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl().easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl().easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl().easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl().easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl().easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl().easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl().easy_setopt(h, CURLOPT_USERAGENT, "yardstick");
  curl().easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
  curl().easy_setopt(h, CURLOPT_WRITEDATA, body);
  // HTTPS is verified against the system's CA certificates, or against
  // $CURL_CA_BUNDLE when set (as curl(1) does): a private CA in a job's env.
  if (const char* ca = std::getenv("CURL_CA_BUNDLE"); ca && *ca)
    curl().easy_setopt(h, CURLOPT_CAINFO, ca);
}

namespace {

HttpAnswer perform(CURL* h, const StatusRange& expect, std::string* body) {
  HttpAnswer a;
  char error[CURL_ERROR_SIZE] = {0};
  curl().easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl().easy_perform(h);
  curl().easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
  double total = 0;
  curl().easy_getinfo(h, CURLINFO_TOTAL_TIME, &total);
  a.seconds = total;
  a.failure = classify(code, a.status, expect);
  a.body = std::move(*body);
  if (a.failure == HttpFailure::kStatus)
    a.error = "HTTP " + std::to_string(a.status) + ", expected " + expect.text();
  else if (a.failure != HttpFailure::kNone)
    a.error = error[0] ? error : curl().easy_strerror(code);
  return a;
}

}  // namespace

HttpAnswer http_get(const std::string& url, std::chrono::milliseconds timeout,
                    const StatusRange& expect) {
  http_global_init();
  CURL* h = curl().easy_init();
  if (!h)
    return {HttpFailure::kOther, 0, "", 0,
            curl_load_error().empty() ? "libcurl could not start a request" : curl_load_error()};
  std::string body;
  configure_request(h, url, timeout, &body);
  HttpAnswer a = perform(h, expect, &body);
  curl().easy_cleanup(h);
  return a;
}

HttpAnswer http_post_json(const std::string& url, const std::string& json,
                          std::chrono::milliseconds timeout) {
  http_global_init();
  CURL* h = curl().easy_init();
  if (!h)
    return {HttpFailure::kOther, 0, "", 0,
            curl_load_error().empty() ? "libcurl could not start a request" : curl_load_error()};
  std::string body;
  configure_request(h, url, timeout, &body);
  curl_slist* headers = curl().slist_append(nullptr, "Content-Type: application/json");
  curl().easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl().easy_setopt(h, CURLOPT_POSTFIELDS, json.c_str());
  curl().easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
  StatusRange two_hundreds;
  std::string ignored;
  two_hundreds = *StatusRange::parse("200-299", &ignored);
  HttpAnswer a = perform(h, two_hundreds, &body);
  curl().slist_free_all(headers);
  curl().easy_cleanup(h);
  return a;
}

}  // namespace yardstick
