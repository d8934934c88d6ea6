// What one agent holding a listed key can send that breaks a bound of the
// protocol (docs/protocol.md, "Bounds"): one value out of bounds per case,
// everything else in the message valid. Shared by the hostile-peer test
// and benchmark.
#pragma once

#include <chrono>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/wire.hpp"
#include "tests/integration/sim_agent.hpp"

namespace yardstick::test {

using Body = wire::Envelope::Body::Builder;

struct HostileCase {
  const char* name;
  std::function<void(Body, const ResultKey&)> fill;
};

inline int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline void sample(Body b, const ResultKey& k, uint32_t variant_index, uint32_t index,
                   uint64_t wall_ns) {
  auto m = b.initSample();
  wire_io::fill(m.initKey(), k);
  m.setVariant("default");
  m.setVariantIndex(variant_index);
  m.setIndex(index);
  m.setWallNs(wall_ns);
  m.setAtUs(now_us());
}

// One value out of bounds per case; everything else in the message is valid.
inline std::vector<HostileCase> hostile_cases() {
  const std::string big_name(1 << 20, 'n');
  return {
      {"sample variantIndex 0x7FFFFFFF",
       [](Body b, const ResultKey& k) { sample(b, k, 0x7FFFFFFF, 0, 1'000'000); }},
      {"sample index 0xFFFFFFFF",
       [](Body b, const ResultKey& k) { sample(b, k, 0, 0xFFFFFFFF, 1'000'000); }},
      {"sample wallNs 2^64-1",
       [](Body b, const ResultKey& k) {
         sample(b, k, 0, 1, std::numeric_limits<uint64_t>::max());
       }},
      {"step start index 0xFFFFFFFF",
       [](Body b, const ResultKey& k) {
         auto m = b.initStepStarted();
         wire_io::fill(m.initKey(), k);
         m.setIndex(0xFFFFFFFF);
         m.setName("setup");
         m.setStartedAtUs(now_us());
       }},
      {"step end startedAtUs 2^63-1",
       [](Body b, const ResultKey& k) {
         auto m = b.initStepFinished();
         wire_io::fill(m.initKey(), k);
         m.setIndex(0);
         m.setName("setup");
         m.setStartedAtUs(std::numeric_limits<int64_t>::max());
         m.setEndedAtUs(std::numeric_limits<int64_t>::max());
       }},
      {"log chunk stepIndex -2^31",
       [](Body b, const ResultKey& k) {
         auto m = b.initLogChunk();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(std::numeric_limits<int32_t>::min());
         m.setData(kj::arrayPtr(reinterpret_cast<const capnp::byte*>("line\n"), 5));
         m.setAtUs(now_us());
       }},
      {"metric runIndex 2^31-1",
       [](Body b, const ResultKey& k) {
         auto m = b.initMetric();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(-1);
         m.setRunIndex(std::numeric_limits<int32_t>::max());
         m.setName("x");
         m.setValue(1);
       }},
      {"metric name of 1 MiB",
       [big_name](Body b, const ResultKey& k) {
         auto m = b.initMetric();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(-1);
         m.setRunIndex(0);
         m.setName(big_name);
         m.setValue(1);
       }},
      {"job end endedAtUs -2^63",
       [](Body b, const ResultKey& k) {
         auto m = b.initJobFinished();
         wire_io::fill(m.initKey(), k);
         m.setOutcome(wire::JobOutcome::SUCCEEDED);
         m.setEndedAtUs(std::numeric_limits<int64_t>::min());
       }},
  };
}

// The pipeline whose jobs the hostile peer takes: one bench job per case,
// named caseN, on label role=hostile.
inline std::string hostile_pipeline(size_t cases) {
  std::string yaml = "pipeline: hostile\njobs:\n";
  for (size_t i = 0; i < cases; ++i)
    yaml += "  case" + std::to_string(i) +
            ":\n    kind: bench\n    on: { labels: [role=hostile] }\n"
            "    bench: { run: \"true\", runs: 3 }\n";
  return yaml;
}

// What the peer sends for a job it was assigned (its name says its case):
// the case's bad value, a good sample, and the job's end, each kept and
// resent until acknowledged.
inline void send_hostile_job(SimAgent& peer, const JobAssignment& job,
                             const std::vector<HostileCase>& cases) {
  const size_t i = std::stoul(job.job_name.substr(4));
  const ResultKey k1{job.job_id, job.attempt, 1}, k2{job.job_id, job.attempt, 2},
      k3{job.job_id, job.attempt, 3};
  peer.send_result(k1, result_frame([&](Body b) { cases.at(i).fill(b, k1); }));
  peer.send_result(k2, result_frame([&](Body b) { sample(b, k2, 0, 0, 1'000'000); }));
  peer.send_result(k3, result_frame([&](Body b) {
                     auto m = b.initJobFinished();
                     wire_io::fill(m.initKey(), k3);
                     m.setOutcome(wire::JobOutcome::SUCCEEDED);
                     m.setEndedAtUs(now_us());
                   }),
                   /*ends_job=*/true);
}

}  // namespace yardstick::test
