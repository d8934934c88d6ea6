#include "common/deploy_spec.hpp"

#include <cmath>

namespace yardstick {

bool http_url(const std::string& url) {
  return (url.rfind("http://", 0) == 0 && url.size() > 7) ||
         (url.rfind("https://", 0) == 0 && url.size() > 8);
}

std::string with_thousands(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string ProbeCounts::text() const {
  std::string s = with_thousands(failed) + " failed request" + (failed == 1 ? "" : "s") + " of " +
                  with_thousands(sent);
  if (failed == 0) return s;
  std::string kinds;
  for (const auto& [kind, count] : failures) {
    if (count == 0) continue;
    if (!kinds.empty()) kinds += ", ";
    kinds += kind + " " + with_thousands(count);
  }
  return s + " (" + kinds + "), longest outage " +
         with_thousands(static_cast<uint64_t>(std::llround(longest_outage_ms))) + " ms";
}

}  // namespace yardstick
