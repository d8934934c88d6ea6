#include "common/status_range.hpp"

#include <charconv>
#include <string_view>

namespace yardstick {

namespace {

bool parse_status(std::string_view s, long* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out >= 100 && *out <= 599;
}

}  // namespace

std::optional<StatusRange> StatusRange::parse(const std::string& text, std::string* error) {
  StatusRange r;
  r.text_ = text;
  r.ranges_.clear();
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    const size_t dash = part.find('-');
    long low = 0, high = 0;
    bool ok = dash == std::string_view::npos
                  ? parse_status(part, &low) && (high = low, true)
                  : parse_status(part.substr(0, dash), &low) &&
                        parse_status(part.substr(dash + 1), &high) && low <= high;
    if (!ok) {
      *error = "expected HTTP statuses such as \"200-399\" or \"200,204\", got \"" + text + "\"";
      return std::nullopt;
    }
    r.ranges_.push_back({low, high});
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return r;
}

bool StatusRange::contains(long status) const {
  for (const auto& [low, high] : ranges_)
    if (status >= low && status <= high) return true;
  return false;
}

}  // namespace yardstick
