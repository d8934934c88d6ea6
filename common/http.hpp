// HTTP for deploy jobs (health checks, the zero-downtime probe, version
// checks) and webhooks, through libcurl: HTTPS, redirects off, every
// request with its own deadline. A request's outcome is typed, so that a
// probe can count failures by kind: an HTTP status outside the expected
// range, a refused connection, a connection reset, a timeout, or another
// transport error (name resolution, TLS, a malformed answer).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status_range.hpp"

typedef void CURL;

namespace yardstick {

enum class HttpFailure { kNone, kStatus, kRefused, kReset, kTimeout, kOther };
const char* failure_name(HttpFailure f);  // "ok", "status", "refused", "reset", "timeout", "other"

struct HttpAnswer {
  HttpFailure failure = HttpFailure::kOther;
  long status = 0;   // 0: no HTTP answer
  std::string body;  // at most the first `kBodyLimit` bytes
  double seconds = 0;
  std::string error;  // what failed, for a log line; empty when it did not
  bool ok() const { return failure == HttpFailure::kNone; }
  static constexpr size_t kBodyLimit = 4096;
};

// libcurl's global set-up, once per process, before any thread uses it.
void http_global_init();

// Classifies a finished transfer (its CURLcode and HTTP status).
HttpFailure classify(int curl_code, long status, const StatusRange& expect);

// Options shared by every request: a new connection each time (no reuse, as
// a new visitor would see the service), no redirects followed, no signals
// (threads), the deadline as the whole transfer's timeout, the body kept up
// to kBodyLimit. `body` must outlive the transfer.
void configure_request(CURL* handle, const std::string& url, std::chrono::milliseconds timeout,
                       std::string* body);

// One blocking GET.
HttpAnswer http_get(const std::string& url, std::chrono::milliseconds timeout,
                    const StatusRange& expect = {});

// One blocking POST of a JSON document; any 2xx is success.
HttpAnswer http_post_json(const std::string& url, const std::string& json,
                          std::chrono::milliseconds timeout);

}  // namespace yardstick
