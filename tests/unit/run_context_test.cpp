// Run context: parsing what the kernel writes (fake file contents), the
// contention rule on figures measured on a 2-core VM, the wire round trip of
// Sample and StepFinished with their context, and a spooled sample that
// keeps its context across an agent restart.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "agent/fingerprint.hpp"
#include "agent/process.hpp"
#include "agent/spool.hpp"
#include "common/run_context.hpp"
#include "common/wire.hpp"

namespace yardstick {
namespace {

namespace fs = std::filesystem;

constexpr const char* kProcStat =
    "cpu  3025286 12 307464 860825 11085 0 6341 4565 0 0\n"
    "cpu0 1514386 0 153471 429316 5888 0 2377 2144 0 0\n"
    "cpu1 1510900 0 153993 431509 5197 0 3964 2420 0 0\n"
    "intr 1234 0 0\n"
    "ctxt 987654\n";

TEST(RunContext, ProcStatGivesTheAggregateCpuLine) {
  auto t = parse_proc_stat(kProcStat);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->total, 3025286u + 12 + 307464 + 860825 + 11085 + 0 + 6341 + 4565);
  EXPECT_EQ(t->iowait, 11085u);
  EXPECT_EQ(t->steal, 4565u);
}

TEST(RunContext, ProcStatOfAnOldKernelWithoutStealStillParses) {
  // Before Linux 2.6.11 the line stops after softirq: no steal column.
  auto t = parse_proc_stat("cpu 10 0 5 80 3 1 1\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->total, 100u);
  EXPECT_EQ(t->iowait, 3u);
  EXPECT_EQ(t->steal, 0u);
}

TEST(RunContext, ProcStatWithoutACpuLineOrWithGarbageIsUnknown) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4 5 6 7 8\nintr 5\n"));
  EXPECT_FALSE(parse_proc_stat("cpu 1 2 x 4 5 6 7 8\n"));
  EXPECT_FALSE(parse_proc_stat("cpu 1 2\n"));
}

TEST(RunContext, StealAndIowaitAreSharesOfTheTicksBetweenTwoReadings) {
  CpuTimes before{1000, 50, 20}, after{1200, 60, 50};
  RunContext c;
  apply_cpu_times(before, after, &c);
  EXPECT_EQ(c.stat_ticks, 200u);
  ASSERT_TRUE(c.steal_pct && c.iowait_pct);
  EXPECT_DOUBLE_EQ(*c.steal_pct, 15.0);
  EXPECT_DOUBLE_EQ(*c.iowait_pct, 5.0);
}

TEST(RunContext, NoTickBetweenReadingsIsUnknownNotZero) {
  CpuTimes same{1000, 50, 20};
  RunContext c;
  apply_cpu_times(same, same, &c);
  EXPECT_FALSE(c.steal_pct);
  EXPECT_FALSE(c.iowait_pct);
  // iowait may go backwards on Linux: unknown, not negative.
  apply_cpu_times({1000, 50, 20}, {1100, 40, 20}, &c);
  EXPECT_FALSE(c.iowait_pct);
  ASSERT_TRUE(c.steal_pct);
  EXPECT_DOUBLE_EQ(*c.steal_pct, 0.0);
}

TEST(RunContext, LoadavgGivesTheOneMinuteFigure) {
  EXPECT_EQ(parse_loadavg("0.80 0.95 1.31 3/92 15898\n"), 0.80);
  EXPECT_EQ(parse_loadavg("12.5 1 1 1/1 1"), 12.5);
  EXPECT_FALSE(parse_loadavg(""));
  EXPECT_FALSE(parse_loadavg("x 1 1"));
}

TEST(RunContext, CpuinfoMhzIsTheMeanOverCpus) {
  EXPECT_EQ(parse_cpuinfo_mhz("processor\t: 0\ncpu MHz\t\t: 2000.000\nprocessor\t: 1\n"
                              "cpu MHz\t\t: 3000.000\nflags\t: fpu\n"),
            2500.0);
  // Without the line (ARM, some VMs) the frequency is unknown.
  EXPECT_FALSE(parse_cpuinfo_mhz("processor\t: 0\nBogoMIPS\t: 50.00\n"));
}

// Figures of a CPU-bound command of about 30 ms pinned with taskset -c 0 on
// the 2-core VM the rule was tuned on (docs/benchmarks.md, "Run context").
RunContext run(double wall_ms, double task_clock_ms, uint64_t invol, uint64_t vol = 1) {
  RunContext c;
  c.wall_ns = static_cast<uint64_t>(wall_ms * 1e6);
  c.task_clock_ns = static_cast<uint64_t>(task_clock_ms * 1e6);
  c.cpu_us = static_cast<uint64_t>(task_clock_ms * 1e3);
  c.invol_ctx = invol;
  c.vol_ctx = vol;
  return c;
}

TEST(RunContext, ARunBesideABusyLoopOnItsCpuIsUnderContention) {
  EXPECT_TRUE(under_contention(run(88.9, 22.2, 6)));
  EXPECT_TRUE(under_contention(run(235.8, 56.5, 14)));
  EXPECT_TRUE(under_contention(run(79.8, 21.2, 5)));
}

TEST(RunContext, ARunThatHadItsCpuIsNotUnderContention) {
  EXPECT_FALSE(under_contention(run(35.7, 35.4, 0)));
  EXPECT_FALSE(under_contention(run(34.1, 33.7, 0)));
  // One chance preemption on a short run is not contention.
  EXPECT_FALSE(under_contention(run(34.1, 33.0, 1)));
}

TEST(RunContext, ASleepingCommandIsNotUnderContention) {
  // sleep 0.1: almost no CPU time, but it was never runnable and waiting.
  EXPECT_FALSE(under_contention(run(100.5, 0.6, 0, 1)));
}

TEST(RunContext, ABusyParallelTreeUsingMoreCpuThanWallIsNotFlaggedByPreemptionAlone) {
  // make -j2: 2 CPUs busy, preempted now and then by its own jobs.
  EXPECT_FALSE(under_contention(run(1000, 1900, 300, 500)));
}

TEST(RunContext, WithoutTaskClockTheRuleUsesUserPlusSys) {
  RunContext c = run(88.9, 22.2, 6);
  c.task_clock_ns.reset();
  EXPECT_TRUE(under_contention(c));
  c.cpu_us = 88'000;
  EXPECT_FALSE(under_contention(c));
}

TEST(RunContext, StealCountsOnlyOverEnoughTicks) {
  RunContext c = run(500, 495, 0);
  c.steal_pct = 25;
  c.stat_ticks = 100;
  EXPECT_TRUE(under_contention(c));
  c.stat_ticks = 6;  // a 30 ms run on 2 CPUs: one tick is 16 %
  EXPECT_FALSE(under_contention(c));
  c.stat_ticks = 100;
  c.steal_pct = 3;
  EXPECT_FALSE(under_contention(c));
}

TEST(RunContext, TheRuleDescribesItsThresholds) {
  const std::string rule = contention_rule();
  EXPECT_NE(rule.find("at least 2 involuntary"), std::string::npos) << rule;
  EXPECT_NE(rule.find("per 10 ms"), std::string::npos) << rule;
  EXPECT_NE(rule.find("80 %"), std::string::npos) << rule;
  EXPECT_NE(rule.find("steal >= 10 %"), std::string::npos) << rule;
}

RunContext full_context() {
  RunContext c;
  c.wall_ns = 31'000'000;
  c.cpu_us = 29'500;
  c.vol_ctx = 3;
  c.invol_ctx = 7;
  c.steal_pct = 1.5;
  c.iowait_pct = 0.25;
  c.load1 = 2.75;
  c.cpu_mhz = 2100;
  c.task_clock_ns = 29'123'456;
  c.instructions = 123'456'789'012;
  c.cycles = 98'765'432'109;
  return c;
}

StepResult sample_run() {
  StepResult r;
  r.wall_ns = 31'000'000;
  r.user_us = 29'000;
  r.sys_us = 500;
  r.max_rss_kb = 2048;
  r.started_at_us = 1'700'000'000'000'001;
  r.round = 4;
  r.position = 2;
  r.contended = true;
  r.context = full_context();
  return r;
}

std::string encoded_sample(const StepResult& r) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 0).getBody().initSample(), {9, 1, 17}, "mold", 1, 4, r);
  zmq::message_t m = wire_io::to_message(b);
  return std::string(m.data<char>(), m.size());
}

StepResult decoded_sample(const std::string& bytes) {
  auto d = wire_io::decode_frame(bytes.data(), bytes.size());
  auto env = std::get<std::unique_ptr<wire_io::Frame>>(d)->envelope();
  auto s = env.getBody().getSample();
  EXPECT_EQ(wire_io::read(s.getKey()), (ResultKey{9, 1, 17}));
  EXPECT_EQ(std::string(s.getVariant()), "mold");
  EXPECT_EQ(s.getVariantIndex(), 1u);
  return wire_io::read(s);
}

TEST(RunContext, SampleRoundTripsItsContext) {
  const StepResult r = sample_run();
  StepResult back = decoded_sample(encoded_sample(r));
  EXPECT_EQ(back.index, 4u);
  EXPECT_EQ(back.wall_ns, r.wall_ns);
  EXPECT_EQ(back.user_us, r.user_us);
  EXPECT_EQ(back.sys_us, r.sys_us);
  EXPECT_EQ(back.started_at_us, r.started_at_us);
  EXPECT_EQ(back.round, 4u);
  EXPECT_EQ(back.position, 2u);
  EXPECT_TRUE(back.contended);
  EXPECT_EQ(back.context, r.context);
}

TEST(RunContext, UnknownValuesStayUnknownOnTheWire) {
  StepResult r = sample_run();
  r.contended = false;
  RunContext& c = r.context;
  c.steal_pct.reset();
  c.iowait_pct.reset();
  c.load1.reset();
  c.cpu_mhz.reset();
  c.task_clock_ns.reset();
  c.instructions.reset();
  c.cycles.reset();
  StepResult back = decoded_sample(encoded_sample(r));
  EXPECT_EQ(back.context, r.context);
  EXPECT_FALSE(back.context.instructions);
  EXPECT_FALSE(back.contended);
  // Zero is a measurement where it can be one: no steal, no load.
  c.steal_pct = 0;
  c.load1 = 0;
  back = decoded_sample(encoded_sample(r));
  EXPECT_EQ(back.context.steal_pct, 0.0);
  EXPECT_EQ(back.context.load1, 0.0);
}

TEST(RunContext, ASampleOfAnOlderAgentReadsAsUnknownContext) {
  // What an agent without run context sends: none of the new fields set.
  capnp::MallocMessageBuilder b;
  auto m = wire_io::start(b, 0).getBody().initSample();
  wire_io::fill(m.initKey(), {9, 1, 17});
  m.setVariant("mold");
  m.setVariantIndex(1);
  m.setWallNs(5'000'000);
  zmq::message_t msg = wire_io::to_message(b);
  StepResult back = decoded_sample(std::string(msg.data<char>(), msg.size()));
  EXPECT_FALSE(back.context.steal_pct);
  EXPECT_FALSE(back.context.iowait_pct);
  EXPECT_FALSE(back.context.load1);
  EXPECT_FALSE(back.context.cpu_mhz);
  EXPECT_FALSE(back.context.task_clock_ns);
  EXPECT_FALSE(back.context.instructions);
  EXPECT_FALSE(back.context.vol_ctx);
  EXPECT_FALSE(back.context.invol_ctx);
  EXPECT_FALSE(back.round);
  EXPECT_FALSE(back.position);
  EXPECT_FALSE(under_contention(back.context));
}

TEST(RunContext, StepFinishedRoundTripsItsContext) {
  StepResult s;
  s.index = 1;
  s.name = "build";
  s.wall_ns = 31'000'000;
  s.user_us = 29'000;
  s.sys_us = 500;
  s.context = full_context();
  s.context.instructions.reset();
  s.context.cycles.reset();
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 1).getBody().initStepFinished(), {1, 2, 3}, s);
  zmq::message_t m = wire_io::to_message(b);
  auto d = wire_io::decode_frame(m.data(), m.size());
  auto env = std::get<std::unique_ptr<wire_io::Frame>>(d)->envelope();
  StepResult back = wire_io::read(env.getBody().getStepFinished());
  EXPECT_EQ(back.context, s.context);
}

TEST(RunContext, ASpooledSampleKeepsItsContextAcrossARestart) {
  std::string pattern = (fs::temp_directory_path() / "run_context_test.XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  SpoolOptions o;
  o.dir = pattern;
  const StepResult r = sample_run();
  {
    Spool spool(o);
    spool.recover();
    ASSERT_TRUE(spool.append({9, 1, 17}, encoded_sample(r)));
    ASSERT_TRUE(spool.sync());
  }
  {
    Spool spool(o);
    ASSERT_EQ(spool.recover().size(), 1u);
    auto bytes = spool.read({9, 1, 17});
    ASSERT_TRUE(bytes);
    StepResult back = decoded_sample(*bytes);
    EXPECT_EQ(back.context, r.context);
    EXPECT_EQ(back.round, r.round);
    EXPECT_EQ(back.position, r.position);
    EXPECT_TRUE(back.contended);
  }
  std::error_code ec;
  fs::remove_all(pattern, ec);
}

TEST(RunContext, TheFingerprintSaysWhichCountersThisMachineHas) {
  PerfSupport vm;
  vm.task_clock = true;
  vm.hardware_error = "ENOENT (No such file or directory; the kernel or hypervisor ...)";
  auto tools = measurement_tools(vm, "cpuinfo");
  EXPECT_EQ(tools, (std::vector<Tool>{{"perf.task-clock", "available"},
                                      {"perf.hardware", "unavailable (ENOENT)"},
                                      {"cpu.frequency", "cpuinfo"}}));
  MachineInfo m;
  m.tools = tools;
  m.tools.push_back({"gcc", "12.2.0"});
  Labels l = automatic_labels(m);
  EXPECT_TRUE(l.count("perf=task-clock"));
  EXPECT_FALSE(l.count("perf=hardware"));
  EXPECT_TRUE(l.count("tool=gcc"));
  EXPECT_FALSE(l.count("tool=perf.hardware"));

  PerfSupport locked;
  locked.task_clock_error = "EACCES (Permission denied; perf_event_paranoid is 3)";
  locked.hardware_error = locked.task_clock_error;
  EXPECT_EQ(measurement_tools(locked, "unknown")[0].version, "unavailable (EACCES)");
}

// The real launcher with counters: a child that cannot exec says why, as
// posix_spawn does; one that runs is counted with everything it starts.
TEST(RunContext, ACountedSpawnThatCannotStartSaysWhy) {
  PosixLauncher launcher;
  SpawnRequest missing{"", {"PATH=/usr/bin:/bin"}, "", "/nonexistent/program", {"program"}, true};
  std::string error;
  EXPECT_FALSE(launcher.spawn(missing, &error));
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  SpawnRequest nowhere{"true", {"PATH=/usr/bin:/bin"}, "/nonexistent/dir", {}, {}, true};
  error.clear();
  EXPECT_FALSE(launcher.spawn(nowhere, &error));
  EXPECT_NE(error.find("/nonexistent/dir"), std::string::npos) << error;
}

TEST(RunContext, ACountedSpawnCountsTheWholeTreeFromItsExec) {
  PosixLauncher launcher;
  // The shell burns little CPU itself; its two children burn the rest.
  SpawnRequest burn{
      "awk 'BEGIN{for(i=0;i<300000;i++)s+=i}'; awk 'BEGIN{for(i=0;i<300000;i++)s+=i}'",
      {"PATH=/usr/bin:/bin"},
      "",
      {},
      {},
      true};
  std::string error;
  auto spawned = launcher.spawn(burn, &error);
  ASSERT_TRUE(spawned) << error;
  EXPECT_GT(spawned->started_ns, 0);
  int status = 0;
  struct rusage ru {};
  ASSERT_EQ(wait4(spawned->pid, &status, 0, &ru), spawned->pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(spawned->out_fd);
  close(spawned->err_fd);
  RunContext c;
  spawned->counters.read_into(&c);
  if (!probe_perf().task_clock) {
    EXPECT_FALSE(c.task_clock_ns);
    EXPECT_FALSE(spawned->counters.task_clock_error().empty());
    return;
  }
  ASSERT_TRUE(c.task_clock_ns);
  const double cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                       ru.ru_stime.tv_usec / 1e6;
  // rusage of the shell includes the children it waited for: so must the counter.
  EXPECT_GT(*c.task_clock_ns / 1e9, 0.5 * cpu_s);
  EXPECT_LT(*c.task_clock_ns / 1e9, 2 * cpu_s + 0.01);
  EXPECT_EQ(c.instructions.has_value(), probe_perf().hardware);
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

// Two CPUs over one second (200 ticks): what other processes did is the
// machine's busy time minus the tree's own, whatever the tree's parallelism.
TEST(ForeignShare, IsTheMachinesBusyTimeMinusTheTreesAsAShareOfTheMachine) {
  const CpuTimes before{1000, 0, 0, 500};
  RunContext alone;
  alone.cpu_us = 2'000'000;  // a parallel tree that took both CPUs
  apply_cpu_times(before, {1200, 0, 0, 500}, &alone);
  ASSERT_TRUE(alone.foreign_share);
  EXPECT_NEAR(*alone.foreign_share, 0.0, 1e-9);
  RunContext beside;
  beside.cpu_us = 1'000'000;  // the same tree got one CPU; a neighbour had the other
  apply_cpu_times(before, {1200, 0, 0, 500}, &beside);
  EXPECT_NEAR(*beside.foreign_share, 0.5, 1e-9);
  EXPECT_TRUE(under_contention(beside));
  RunContext idle;
  idle.cpu_us = 990'000;  // one thread, the other CPU idle
  apply_cpu_times(before, {1200, 0, 0, 600}, &idle);
  EXPECT_NEAR(*idle.foreign_share, 0.005, 1e-9);
  EXPECT_FALSE(under_contention(idle));
}

TEST(ForeignShare, IsAbsentOverTooFewTicksAndNeverBelowZero) {
  RunContext short_run;
  apply_cpu_times({1000, 0, 0, 500}, {1010, 0, 0, 500}, &short_run);  // 10 ticks
  EXPECT_FALSE(short_run.foreign_share);
  RunContext tree_counted_more;
  tree_counted_more.cpu_us = 3'000'000;  // rusage ahead of the ticks
  apply_cpu_times({1000, 0, 0, 500}, {1200, 0, 0, 500}, &tree_counted_more);
  EXPECT_EQ(tree_counted_more.foreign_share, 0.0);
}

// /proc/stat counts by the tick and prints whole ticks: over a 0.3 s run on
// two CPUs (60 ticks) the busy time can be off by (2 x 2 + 5) ticks, 15 %
// of the machine. A share that counting alone could give is not a
// neighbour; one well beyond it is.
TEST(ForeignShare, IsJudgedBeyondTheResolutionOfCountingByTheTick) {
  const auto stat = parse_proc_stat(
      "cpu  100 0 50 300 0 0 0 0 0 0\ncpu0 50 0 25 150 0 0 0 0 0 0\n"
      "cpu1 50 0 25 150 0 0 0 0 0 0\nintr 1 2 3\n");
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->cpus, 2u);
  EXPECT_EQ(stat->total, 450u);
  CpuTimes before{1000, 0, 0, 400, 2};
  RunContext near_quiet;
  near_quiet.cpu_us = 520'000;  // 52 of 60 ticks the tree's: 8 ticks, 13 %, foreign at most
  apply_cpu_times(before, {1060, 0, 0, 400, 2}, &near_quiet);
  ASSERT_TRUE(near_quiet.foreign_share);
  EXPECT_NEAR(*near_quiet.foreign_share, 8.0 / 60, 1e-9);
  EXPECT_NEAR(near_quiet.foreign_resolution, 9.0 / 60, 1e-9);
  EXPECT_FALSE(under_contention(near_quiet));
  RunContext beside;
  beside.cpu_us = 300'000;  // half the machine went elsewhere
  apply_cpu_times(before, {1060, 0, 0, 400, 2}, &beside);
  EXPECT_TRUE(under_contention(beside));
  // Over 10 s of the same two CPUs the resolution is 0.45 %: 13 % is a neighbour.
  RunContext longer;
  longer.cpu_us = 17'400'000;
  apply_cpu_times(before, {3000, 0, 0, 400, 2}, &longer);
  EXPECT_NEAR(*longer.foreign_share, 0.13, 1e-9);
  EXPECT_TRUE(under_contention(longer));
}

TEST(CpuPressure, TheSomeLinesTotalIsRead) {
  EXPECT_EQ(parse_pressure_total("some avg10=4.00 avg60=4.56 avg300=13.89 total=4581235429\n"
                                 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            4581235429u);
  EXPECT_FALSE(parse_pressure_total("full avg10=0.00 total=3\n"));
  EXPECT_FALSE(parse_pressure_total("some total=x\n"));
}

}  // namespace
}  // namespace yardstick
