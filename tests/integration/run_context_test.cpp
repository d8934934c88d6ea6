// Run context end to end: real agents measure every counted run and every
// timed step (context switches, /proc/stat, load, frequency, perf counters)
// and the coordinator stores it in PostgreSQL. What the kernel allows is
// found out here independently, with perf_event_open of the test's own.
#include <gtest/gtest.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "agent/bench_plan.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

// Whether this process may count `config` of `type` on itself.
bool perf_allows(uint32_t type, uint64_t config, bool user_only) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = type;
  attr.config = config;
  attr.exclude_kernel = user_only;
  attr.exclude_hv = user_only;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  if (fd < 0) return false;
  close(static_cast<int>(fd));
  return true;
}

bool hardware_counters_allowed() {
  return perf_allows(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, true) &&
         perf_allows(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true);
}

bool task_clock_allowed() {
  return perf_allows(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, false);
}

bool cpu_frequency_exposed() {
  if (std::filesystem::exists("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")) return true;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("cpu MHz", 0) == 0) return true;
  return false;
}

// About 30 ms of CPU time on the machine the tests were written on.
constexpr const char* kBurn = "awk 'BEGIN{for(i=0;i<700000;i++)s+=i}'";

TEST(RunContext, EveryCountedRunAndTimedStepIsMeasuredAndMissingCountersAreSaidOnce) {
  const bool task_clock = task_clock_allowed();
  const bool hardware = hardware_counters_allowed();
  Cluster c;
  c.add_agent("a", "", "ctx-box");
  // The timed command is a tree (sh, then two awk): the counters must
  // follow it into every child.
  c.write_file("ctx.yml", std::string(R"(pipeline: ctx
jobs:
  build:
    steps:
      - run: sleep 0.3; )") + kBurn +
                              R"(
  bench:
    kind: bench
    needs: [build]
    steps:
      - run: sleep 0.3
    bench:
      run: "sh -c \")" + kBurn +
                              "; " + kBurn + R"(\""
      warmup: 1
      runs: 5
    variants:
      - name: one
      - name: two
)");
  auto r = c.cli({"submit", "ctx.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_EQ(c.scalar("SELECT count(*) FROM samples"), 10);
  // Measured, never guessed: the context of every counted run.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE vol_ctx IS NULL OR invol_ctx IS NULL"
                     " OR load1 IS NULL OR round IS NULL OR position IS NULL"),
            0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE cpu_mhz IS NOT NULL"),
            cpu_frequency_exposed() ? 10 : 0);
  if (task_clock) {
    EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE task_clock_s IS NULL"), 0);
    // The task-clock of the whole tree is its CPU time, as rusage also sees it.
    EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE task_clock_s < 0.5 * (user_s + sys_s)"
                       " OR task_clock_s > 2 * (user_s + sys_s) + 0.02"),
              0)
        << c.text(
               "SELECT string_agg(task_clock_s || ' vs ' || (user_s + sys_s), ', ')"
               " FROM samples");
  } else {
    EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE task_clock_s IS NOT NULL"), 0);
  }
  const std::string bench_job =
      std::to_string(c.scalar("SELECT id FROM jobs WHERE name = 'bench'"));
  const std::string log = c.stored_log(std::stoll(bench_job), 1);
  if (hardware) {
    EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE instructions IS NULL OR cycles IS NULL"
                       " OR instructions = 0 OR cycles = 0"),
              0);
    EXPECT_EQ(log.find("hardware counters unavailable"), std::string::npos) << log;
  } else {
    EXPECT_EQ(
        c.scalar(
            "SELECT count(*) FROM samples WHERE instructions IS NOT NULL OR cycles IS NOT NULL"),
        0);
    if (task_clock) {
      // Said once per job, not once per run.
      EXPECT_EQ(count_of(log, "hardware counters unavailable: "), 1u) << log;
    } else {
      EXPECT_EQ(count_of(log, "perf_event_open refused: "), 1u) << log;
    }
  }
  EXPECT_NE(log.find("CPU frequency: "), std::string::npos) << log;

  // Timed steps get the same context; they last 0.3 s, over which the
  // machine's /proc/stat advances.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE vol_ctx IS NULL OR invol_ctx IS NULL OR"
                     " load1 IS NULL OR steal_pct IS NULL OR iowait_pct IS NULL"),
            0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE vol_ctx < 1"), 0);  // sleep waits
  if (task_clock) {
    EXPECT_EQ(
        c.scalar("SELECT count(*) FROM steps WHERE task_clock_s IS NULL OR task_clock_s <= 0"), 0);
  }
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE instructions IS NOT NULL"),
            hardware ? 2 : 0);

  // The machine's fingerprint says what it can count, and `agents` shows it.
  const std::string tools = c.text("SELECT tools::text FROM machines WHERE name = 'ctx-box'");
  EXPECT_NE(
      tools.find(std::string("\"perf.hardware\": \"") + (hardware ? "available" : "unavailable (")),
      std::string::npos)
      << tools;
  EXPECT_NE(tools.find(std::string("\"perf.task-clock\": \"") +
                       (task_clock ? "available" : "unavailable (")),
            std::string::npos)
      << tools;
  auto agents = c.cli({"agents"});
  ASSERT_EQ(agents.code, 0) << agents.err;
  EXPECT_EQ(agents.out.find("perf=task-clock") != std::string::npos, task_clock) << agents.out;
  EXPECT_EQ(agents.out.find("perf=hardware") != std::string::npos, hardware) << agents.out;
}

TEST(RunContext, RoundAndPositionAreStoredAndFollowTheOrderSeed) {
  Cluster c;
  c.add_agent("a", "", "order-box");
  c.write_file("order.yml", R"(pipeline: order
jobs:
  order:
    kind: bench
    bench:
      run: "true"
      warmup: 2
      runs: 6
    variants:
      - name: a
      - name: b
      - name: c
)");
  auto r = c.cli({"submit", "order.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const uint64_t job = static_cast<uint64_t>(c.scalar("SELECT id FROM jobs"));
  const uint32_t attempt = static_cast<uint32_t>(c.scalar("SELECT max(attempt) FROM samples"));
  // Warm-ups are not samples: 6 rounds of 3.
  ASSERT_EQ(c.scalar("SELECT count(*) FROM samples"), 18);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE round <> idx"), 0);
  BenchSpec spec;
  spec.runs = 6;
  BenchPlan plan(spec, {{"a", {}, ""}, {"b", {}, ""}, {"c", {}, ""}}, (job << 32) ^ attempt);
  auto rows = c.query(
      "SELECT round, position, variant_idx FROM samples ORDER BY round, position, variant_idx");
  ASSERT_EQ(rows.size(), 18u);
  for (uint32_t round = 0; round < 6; ++round) {
    const auto order = plan.round_order(round);
    std::set<int> positions;
    for (int k = 0; k < 3; ++k) {
      const auto& row = rows[round * 3 + k];
      EXPECT_EQ(row[0].as<uint32_t>(), round);
      positions.insert(row[1].as<int>());
      // The variant at position p of this round is the seed's.
      EXPECT_EQ(row[2].as<size_t>(), order[row[1].as<size_t>()]) << "round " << round;
    }
    // Each round is a permutation of 0..k-1.
    EXPECT_EQ(positions, (std::set<int>{0, 1, 2})) << "round " << round;
  }
  // And the runs really happened in that order: by start time within a round.
  EXPECT_EQ(
      c.scalar("SELECT count(*) FROM (SELECT position, row_number() OVER (PARTITION BY round"
               " ORDER BY at, position) - 1 AS place FROM samples) t WHERE place <> position"),
      0);
}

}  // namespace
}  // namespace yardstick::test
