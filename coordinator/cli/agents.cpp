#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/types.hpp"
#include "common/wire.hpp"
#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;

// "1.3 %": a relative spread.
std::string format_percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fraction < 0.1 ? "%.1f %%" : "%.0f %%", fraction * 100);
  return buf;
}

// "cpu 13.2ms, memory 20.4ms, ...": a machine's calibrated medians; "-" without.
std::string format_speed(capnp::List<wire::CalibrationSummary>::Reader calibration) {
  std::string out;
  for (auto c : calibration) {
    char buf[64];
    const double ms = c.getMedianS() * 1e3;
    std::snprintf(buf, sizeof buf, ms < 10 ? "%s %.2fms" : "%s %.1fms", c.getBenchmark().cStr(),
                  ms);
    out += (out.empty() ? "" : ", ") + std::string(buf);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

int cmd_agents(const Options& o) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initAgents();
  auto frame = client.call(*b);
  auto agents = frame->envelope().getBody().getAgentsReply().getAgents();
  // Agents by host: those sharing one take turns for measurements.
  std::map<std::string, std::vector<std::string>> by_host;
  for (auto a : agents)
    if (a.getHost().size()) by_host[a.getHost().cStr()].push_back(a.getName().cStr());
  auto neighbours = [&](wire::AgentInfo::Reader a) {
    std::vector<std::string> out;
    if (a.getHost().size())
      for (const auto& n : by_host[a.getHost().cStr()])
        if (n != a.getName().cStr()) out.push_back(n);
    return out;
  };
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (o.json) {
    json out = json::array();
    for (auto a : agents) {
      json labels = json::array();
      for (const auto& l : wire_io::read_labels(a.getLabels())) labels.push_back(l);
      json running = json::array();
      for (auto id : a.getRunningJobs()) running.push_back(id);
      json calibration = nullptr;  // the machine was never calibrated
      if (a.getCalibratedAtUs() != 0) {
        json benchmarks = json::array();
        for (auto c : a.getCalibration())
          benchmarks.push_back({{"benchmark", c.getBenchmark().cStr()},
                                {"median_s", c.getMedianS()},
                                {"noise", c.getNoise()},
                                {"runs", c.getRuns()}});
        calibration = {
            {"at_us", a.getCalibratedAtUs()},
            {"noise", a.getNoise()},
            {"benchmarks", benchmarks},
            {"stale", a.getCalibrationStale().size() ? json(a.getCalibrationStale().cStr())
                                                     : json(nullptr)}};
      }
      out.push_back({{"name", a.getName().cStr()},
                     {"connected", a.getConnected()},
                     {"draining", a.getDraining()},
                     {"slots", a.getSlots()},
                     {"used_slots", a.getUsedSlots()},
                     {"machine", a.getMachine().cStr()},
                     {"host", a.getHost().cStr()},
                     {"shares_host_with", neighbours(a)},
                     {"labels", labels},
                     {"last_seen_us", a.getLastSeenUs()},
                     {"running_jobs", running},
                     {"calibration", calibration}});
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "SLOTS", "MACHINE", "LAST SEEN", "LABELS", "NOISE", "SPEED"}};
  for (auto a : agents) {
    char seen[32];
    std::snprintf(seen, sizeof seen, "%.0fs ago", (now_us - a.getLastSeenUs()) / 1e6);
    rows.push_back(
        {a.getName(),
         std::string(a.getConnected() ? "connected" : "gone") +
             (a.getDraining() ? ", draining" : ""),
         std::to_string(a.getUsedSlots()) + "/" + std::to_string(a.getSlots()), a.getMachine(),
         a.getConnected() ? "now" : seen, format_labels(wire_io::read_labels(a.getLabels())),
         a.getCalibratedAtUs()
             ? format_percent(a.getNoise()) + (a.getCalibrationStale().size() ? " (stale)" : "")
             : "not calibrated",
         format_speed(a.getCalibration())});
  }
  print_table(rows);
  // What the table cannot say in a column.
  std::set<std::string> said;
  for (auto a : agents) {
    const auto others = neighbours(a);
    if (!others.empty() && !said.count(a.getHost().cStr())) {
      said.insert(a.getHost().cStr());
      std::string names;
      for (const auto& n : by_host[a.getHost().cStr()]) names += (names.empty() ? "" : ", ") + n;
      std::cout << "agents " << names
                << " share one host: their benchmarks, calibrations and deploy probes take "
                   "turns\n";
    }
  }
  for (auto a : agents)
    if (a.getCalibrationStale().size())
      std::cout << "machine " << a.getMachine().cStr() << " (agent " << a.getName().cStr()
                << "): calibrated before " << a.getCalibrationStale().cStr()
                << "; `yardstick calibrate " << a.getName().cStr() << "` measures it again\n";
  return kOk;
}

}  // namespace yardstick
