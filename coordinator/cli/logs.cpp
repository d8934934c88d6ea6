#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>
#include <type_traits>

#include "common/text.hpp"
#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

namespace {

// What `attempt` and `step` could have been, when nothing matched them.
std::string no_match(uint64_t job_id, const std::vector<LogPiece>& pieces, uint32_t attempt,
                     const std::string& step) {
  std::set<uint32_t> attempts;
  std::set<std::string> steps;
  for (const auto& p : pieces) {
    attempts.insert(p.attempt);
    if (!p.step_name.empty() && (!attempt || p.attempt == attempt)) steps.insert(p.step_name);
  }
  auto list = [](const auto& values) {
    std::string s;
    for (const auto& v : values) {
      std::string text;
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>)
        text = v;
      else
        text = std::to_string(v);
      s += (s.empty() ? "" : ", ") + text;
    }
    return s.empty() ? std::string("none") : s;
  };
  if (attempt && !attempts.count(attempt))
    return "job " + std::to_string(job_id) + " has no log of attempt " + std::to_string(attempt) +
           " (attempts with a log: " + list(attempts) + ")";
  const std::string suggestion = closest(step, {steps.begin(), steps.end()});
  return "job " + std::to_string(job_id) + " has no log of a step named '" + step + "'" +
         (attempt ? " in attempt " + std::to_string(attempt) : "") + " (steps: " + list(steps) +
         ")" + (suggestion.empty() ? "" : "; did you mean '" + suggestion + "'?");
}

}  // namespace

int cmd_logs(const Options& o, uint64_t job_id, bool follow, uint32_t attempt,
             const std::string& step) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  uint64_t cursor = 0;
  LogPrinter printer;
  printer.attempt = attempt;
  printer.step = step;
  if (!follow) {
    // Whole: attempt after attempt, each in the order it was written.
    std::vector<LogPiece> pieces;
    read_logs(client, job_id, &cursor, &pieces);
    std::stable_sort(pieces.begin(), pieces.end(),
                     [](const LogPiece& a, const LogPiece& b) { return a.attempt < b.attempt; });
    print_pieces(pieces, printer);
    if ((attempt || !step.empty()) && !printer.printed) {
      std::cerr << "yardstick: " << no_match(job_id, pieces, attempt, step) << "\n";
      return kRefused;
    }
    return kOk;
  }
  for (;;) {
    bool ended = print_logs(client, job_id, &cursor, printer);
    if (ended) return kOk;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace yardstick
