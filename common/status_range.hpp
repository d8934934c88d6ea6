// An accepted range of HTTP statuses, as deploy health checks and probes
// write it: "200-399", "200", "200,204,301-302".
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace yardstick {

class StatusRange {
 public:
  StatusRange() : ranges_(1, {200, 399}) {}
  // nullopt and `error` set when `text` does not parse.
  static std::optional<StatusRange> parse(const std::string& text, std::string* error);
  bool contains(long status) const;
  const std::string& text() const { return text_; }
  bool operator==(const StatusRange&) const = default;

 private:
  std::string text_ = "200-399";
  std::vector<std::pair<long, long>> ranges_;
};

}  // namespace yardstick
