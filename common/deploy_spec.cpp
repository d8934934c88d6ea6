#include "common/deploy_spec.hpp"

#include "common/deploy_json.hpp"

#include <cmath>

namespace yardstick {

std::string_view to_string(DeployOutcome outcome) {
  switch (outcome) {
    case DeployOutcome::kSucceeded:
      return "succeeded";
    case DeployOutcome::kFailed:
      return "failed";
    case DeployOutcome::kRolledBack:
      return "rolled back";
    case DeployOutcome::kRollbackFailed:
      return "rollback failed";
  }
  return "failed";
}

std::optional<DeployOutcome> parse_deploy_outcome(std::string_view text) {
  for (auto o : {DeployOutcome::kSucceeded, DeployOutcome::kFailed, DeployOutcome::kRolledBack,
                 DeployOutcome::kRollbackFailed})
    if (to_string(o) == text) return o;
  return std::nullopt;
}

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

nlohmann::json probe_json(const ProbeCounts& c) {
  return {{"sent", c.sent},
          {"failed", c.failed},
          {"failures", c.failures},
          {"late", c.late},
          {"longest_outage_ms", c.longest_outage_ms},
          {"p50_ms", c.p50_ms},
          {"p99_ms", c.p99_ms},
          {"interval_ms", c.interval_us / 1000.0},
          {"text", c.text()}};
}

ProbeCounts probe_from_json(const nlohmann::json& j) {
  ProbeCounts c;
  c.sent = j.at("sent").get<uint64_t>();
  c.failed = j.at("failed").get<uint64_t>();
  c.failures = j.at("failures").get<std::map<std::string, uint64_t>>();
  c.late = j.at("late").get<uint64_t>();
  c.longest_outage_ms = j.at("longest_outage_ms").get<double>();
  c.p50_ms = j.at("p50_ms").get<double>();
  c.p99_ms = j.at("p99_ms").get<double>();
  c.interval_us = std::llround(j.at("interval_ms").get<double>() * 1000);
  return c;
}

}  // namespace yardstick
