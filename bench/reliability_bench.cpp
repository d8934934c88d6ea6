// Reliability figures, measured on this machine with a real PostgreSQL, a
// real coordinator and real agents on loopback:
//
//  1. failover: SIGKILL of the agent running a job, until the job's next
//     attempt is `running` on another agent. The kill is stamped with the
//     system clock just before kill(2); the `lost` and `running` transitions
//     with their job_events.at in PostgreSQL (the coordinator's transaction
//     start), the next attempt's step start with steps.started_at (the
//     agent's clock, same host). One job with `retries: N` is moved back and
//     forth between two agents; the killed agent is restarted (same name and
//     home) only after the next attempt runs, so its restart cannot report
//     the job lost early;
//  2. spool replay: a step writes --spool-entries metric lines to
//     $YARDSTICK_METRICS while the coordinator is down (killed once the job
//     runs; the step waits for a file created after the kill), so that the
//     agent spools one result per line; then the coordinator starts again
//     and the clock runs until every metric is a row in PostgreSQL;
//  3. memory under large output: one job printing --small-mib, then one
//     printing --big-mib, of 100-byte lines with the default log cap, each in
//     a cluster of its own; VmRSS of the coordinator and the agent sampled
//     every 250 ms while the job runs, their VmHWM at the end, the largest
//     size the agent's spool reached on disk, and how many log_chunks rows
//     PostgreSQL was made to insert and delete (pg_stat_user_tables);
//  4. the spool's cost on sample ingestion: a bench job of 2 variants x
//     --runs runs of `true`, on an agent spooling to disk and on one started
//     with --spool-in-memory (labels spool=disk, spool=memory), in an order
//     drawn at random in each of --rounds rounds. The span of the samples'
//     start times is the agent's run loop, where each sample is spooled; the
//     span minus the measured walls, per run, is the agent's own time
//     between two runs. Disk against memory is taken per round (paired),
//     then its median.
//
// Any count 0 skips its part. Every wait has a deadline; on failure the
// program says what it waited for and exits 1 (YARDSTICK_KEEP_TEST_DIRS=1
// keeps the clusters' folders and logs).
//
//   build/bench/reliability_bench [--failovers 5] [--long-lease-ms 5000]
//       [--spool-entries 100000] [--big-mib 1024] [--small-mib 256]
//       [--rounds 5] [--runs 3000] [--seed N]
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/stats.hpp"
#include "tests/integration/harness.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : quantile_sorted(v, 0.5);
}

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

template <typename... Args>
std::string format(const char* fmt, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// The last `lines` lines of a log, for error messages.
std::string tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

// The 1-minute load average: other tenants of the machine show here.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

// VmRSS of a live process in KiB; -1 when unknown.
long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// Bytes of the spool's segment files (live and dead records) and how many there are.
std::pair<uint64_t, int> spool_on_disk(const std::string& dir) {
  uint64_t bytes = 0;
  int segments = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".log") continue;
    std::error_code size_ec;
    const uint64_t size = fs::file_size(it->path(), size_ec);
    if (size_ec) continue;  // deleted meanwhile
    bytes += size;
    ++segments;
  }
  return {bytes, segments};
}

// One PostgreSQL connection for a wait's polling, so that a wait does not
// open a connection every few milliseconds next to what it measures.
class Poll {
 public:
  explicit Poll(Cluster& c) : conn_(c.dsn()) {}
  int64_t scalar(const std::string& sql) {
    pqxx::nontransaction w(conn_);
    const pqxx::result r = w.exec(sql);
    return r.empty() || r[0][0].is_null() ? 0 : r[0][0].as<int64_t>();
  }

 private:
  pqxx::connection conn_;
};

// One job's state for error messages: "running attempt 2 (message)".
std::string describe_job(Cluster& c, uint64_t job) {
  return c.text(
      "SELECT state || ' attempt ' || attempt || coalesce(' (' || nullif(message, '') || ')', '')"
      " FROM jobs WHERE id = " +
      std::to_string(job));
}

// Submits a pipeline of one job; returns the job's id.
uint64_t submit_one(Cluster& c, const std::string& name, const std::string& yaml) {
  c.write_file(name + ".yml", yaml);
  const CliResult r = c.cli({"submit", "--quiet", name + ".yml"});
  if (r.code != 0)
    throw std::runtime_error("submitting " + name + " failed (exit " + std::to_string(r.code) +
                             "): " + r.err);
  const int64_t pipeline = std::atoll(r.out.c_str());
  const int64_t job =
      c.scalar("SELECT min(id) FROM jobs WHERE pipeline_id = " + std::to_string(pipeline));
  if (pipeline <= 0 || job <= 0)
    throw std::runtime_error("submitting " + name + ": no job stored (CLI said '" + r.out + "')");
  return static_cast<uint64_t>(job);
}

// Waits until the job runs attempt `attempt`; throws when it does not in time.
void await_running(Cluster& c, uint64_t job, int attempt, std::chrono::milliseconds timeout) {
  const std::string sql = "SELECT count(*) FROM jobs WHERE id = " + std::to_string(job) +
                          " AND state = 'running' AND attempt = " + std::to_string(attempt);
  Poll poll(c);
  if (!wait_for([&] { return poll.scalar(sql) == 1; }, timeout))
    throw std::runtime_error("job " + std::to_string(job) + " was not running attempt " +
                             std::to_string(attempt) + " after " + std::to_string(timeout.count()) +
                             " ms: it is " + describe_job(c, job));
}

// Waits until the job has ended; throws unless it succeeded in time.
void await_success(Cluster& c, uint64_t job, std::chrono::milliseconds timeout) {
  const std::string sql =
      "SELECT count(*) FROM jobs WHERE id = " + std::to_string(job) +
      " AND state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped')";
  Poll poll(c);
  if (!wait_for([&] { return poll.scalar(sql) == 1; }, timeout))
    throw std::runtime_error("job " + std::to_string(job) + " did not end within " +
                             std::to_string(timeout.count()) + " ms: it is " +
                             describe_job(c, job));
  if (c.text("SELECT state FROM jobs WHERE id = " + std::to_string(job)) != "succeeded")
    throw std::runtime_error("job " + std::to_string(job) + " ended " + describe_job(c, job));
}

int64_t epoch_us(Cluster& c, const std::string& sql_timestamp_query) {
  return c.scalar("SELECT (extract(epoch FROM t) * 1e6)::bigint FROM (" + sql_timestamp_query +
                  ") AS q(t)");
}

// ---------------------------------------------------------------------------
// 1. Failover

struct Failovers {
  uint32_t lease_ms = 0, heartbeat_ms = 0;
  std::vector<double> lost_ms, running_ms, step_ms;  // after the kill
};

Failovers failovers(uint32_t lease_ms, uint32_t heartbeat_ms, int kills) {
  std::fprintf(stderr, "failover: lease %u ms, heartbeat %u ms, %d kills\n", lease_ms, heartbeat_ms,
               kills);
  Cluster::Options options;
  options.lease_ms = lease_ms;
  options.heartbeat_ms = heartbeat_ms;
  Cluster c(options);
  c.add_agent("a", "pool=failover", "failover-a");
  c.add_agent("b", "pool=failover", "failover-b");
  const uint64_t job =
      submit_one(c, "failover",
                 "pipeline: failover\njobs:\n  work:\n"
                 "    on: { labels: [pool=failover] }\n    retries: " +
                     std::to_string(kills) + "\n    steps:\n      - run: sleep 3600\n");
  await_running(c, job, 1, 30s);
  Failovers out{lease_ms, heartbeat_ms, {}, {}, {}};
  std::mt19937 rng(std::random_device{}());
  const std::string id = std::to_string(job);
  for (int attempt = 1; attempt <= kills; ++attempt) {
    // Land the kill at a random phase of the heartbeat.
    std::this_thread::sleep_for(std::chrono::milliseconds(
        heartbeat_ms + std::uniform_int_distribution<uint32_t>(0, heartbeat_ms)(rng)));
    const std::string holder =
        c.text("SELECT a.name FROM jobs j JOIN agents a ON a.id = j.agent_id WHERE j.id = " + id);
    const std::string victim = holder == c.agent_name("a")   ? "a"
                               : holder == c.agent_name("b") ? "b"
                                                             : "";
    if (victim.empty())
      throw std::runtime_error("failover: job " + id + " is held by '" + holder +
                               "', neither of the two agents");
    const int64_t killed_us = unix_us();
    c.agent(victim).signal(SIGKILL);
    if (c.agent(victim).wait(10s) == -1)
      throw std::runtime_error("failover: agent " + victim + " did not die of SIGKILL");
    await_running(c, job, attempt + 1, std::chrono::milliseconds(lease_ms) + 30s);
    const std::string k = std::to_string(attempt), next = std::to_string(attempt + 1);
    const int64_t lost_us = epoch_us(c, "SELECT min(at) FROM job_events WHERE job_id = " + id +
                                            " AND attempt = " + k + " AND to_state = 'lost'");
    const int64_t running_us =
        epoch_us(c, "SELECT min(at) FROM job_events WHERE job_id = " + id +
                        " AND attempt = " + next + " AND to_state = 'running'");
    const int64_t step_us = epoch_us(c, "SELECT started_at FROM steps WHERE job_id = " + id +
                                            " AND attempt = " + next + " AND idx = 0");
    if (lost_us <= 0 || running_us <= 0 || step_us <= 0)
      throw std::runtime_error("failover: attempt " + next + " runs, but its lost/running events " +
                               "or its step start are missing in PostgreSQL");
    out.lost_ms.push_back((lost_us - killed_us) / 1e3);
    out.running_ms.push_back((running_us - killed_us) / 1e3);
    out.step_ms.push_back((step_us - killed_us) / 1e3);
    std::fprintf(stderr, "  kill %d: lost after %.0f ms, attempt %d running after %.0f ms\n",
                 attempt, out.lost_ms.back(), attempt + 1, out.running_ms.back());
    // Back for the next round: its restart reports its old attempt lost,
    // which the coordinator has already settled.
    c.restart_agent(victim);
  }
  return out;
}

std::vector<std::string> failover_rows(const Failovers& f) {
  if (f.running_ms.empty()) return {};
  const double lease = f.lease_ms;
  const auto max = [](const std::vector<double>& v) {
    return *std::max_element(v.begin(), v.end());
  };
  std::string head = "| failover, lease " + std::to_string(f.lease_ms) + " ms, heartbeat " +
                     std::to_string(f.heartbeat_ms) + " ms (" +
                     std::to_string(f.running_ms.size()) + " kills): ";
  return {
      head + "SIGKILL → job `lost` | " +
          format("median %.0f ms, max %.0f ms = lease %+.0f ms (max: lease %+.0f ms)",
                 median(f.lost_ms), max(f.lost_ms), median(f.lost_ms) - lease,
                 max(f.lost_ms) - lease) +
          " |",
      head + "SIGKILL → next attempt `running` on the other agent | " +
          format("median %.0f ms, max %.0f ms = lease %+.0f ms (max: lease %+.0f ms)",
                 median(f.running_ms), max(f.running_ms), median(f.running_ms) - lease,
                 max(f.running_ms) - lease) +
          " |",
      head + "SIGKILL → next attempt's step started (agent's clock) | " +
          format("median %.0f ms, max %.0f ms", median(f.step_ms), max(f.step_ms)) + " |",
  };
}

// ---------------------------------------------------------------------------
// 2. Spool replay

std::vector<std::string> spool_replay(int entries) {
  std::fprintf(stderr, "spool replay: %d metrics spooled while the coordinator is down\n", entries);
  Cluster c;
  c.add_agent("a", "pool=replay", "replay-a");
  const std::string go = c.dir() + "/go";
  const uint64_t job =
      submit_one(c, "replay",
                 "pipeline: replay\njobs:\n  m:\n    on: { labels: [pool=replay] }\n    steps:\n"
                 "      - run: |\n          while [ ! -e " +
                     go +
                     " ]; do sleep 0.05; done\n"
                     "          awk 'BEGIN { for (i = 0; i < " +
                     std::to_string(entries) +
                     "; i++) printf \"m%d %d\\n\", i, i }' > \"$YARDSTICK_METRICS\"\n");
  await_running(c, job, 1, 30s);
  c.kill_coordinator();
  const auto t_go = SteadyClock::now();
  std::ofstream(go) << "go\n";
  // The step ends, the agent reads the file and spools one result per line,
  // then its step and job end (the last results of the job, logged).
  const std::string ended = "job " + std::to_string(job) + " attempt 1 ended";
  Process& agent = c.agent("a");
  if (!wait_for([&] { return agent.log().find(ended) != std::string::npos; }, 120s))
    throw std::runtime_error("spool replay: the agent did not end the job within 120 s:\n" +
                             tail(agent.log(), 20));
  const double spooled_s = seconds_since(t_go);
  // And the spool on disk no longer changes (2 s).
  const std::string dir = c.agent_home("a") + "/spool";
  auto last = spool_on_disk(dir);
  auto stable_since = SteadyClock::now();
  const auto stable_deadline = SteadyClock::now() + 60s;
  while (seconds_since(stable_since) < 2.0) {
    if (SteadyClock::now() > stable_deadline)
      throw std::runtime_error("spool replay: the spool kept changing for 60 s");
    std::this_thread::sleep_for(100ms);
    const auto now = spool_on_disk(dir);
    if (now != last) {
      last = now;
      stable_since = SteadyClock::now();
    }
  }
  if (c.scalar("SELECT count(*) FROM metrics WHERE job_id = " + std::to_string(job)) != 0)
    throw std::runtime_error("spool replay: metrics reached PostgreSQL without a coordinator");

  const std::string count_sql =
      "SELECT count(*) FROM metrics WHERE job_id = " + std::to_string(job);
  Poll poll(c);
  const auto t0 = SteadyClock::now();
  c.start_coordinator();
  const double ready_s = seconds_since(t0);
  double first_s = -1;
  int64_t stored = 0;
  const auto deadline = t0 + 300s;
  auto next_state_check = SteadyClock::now() + 1s;
  for (;;) {
    stored = poll.scalar(count_sql);
    if (stored > 0 && first_s < 0) first_s = seconds_since(t0);
    if (stored >= entries) break;
    if (SteadyClock::now() > deadline)
      throw std::runtime_error("spool replay: " + thousands(stored) + " of " + thousands(entries) +
                               " metrics stored 300 s after the coordinator started; job " +
                               describe_job(c, job));
    if (SteadyClock::now() > next_state_check) {
      // Results of an attempt the coordinator gave up on are refused: fail now.
      const std::string state = c.text("SELECT state FROM jobs WHERE id = " + std::to_string(job));
      if (state != "running" && state != "succeeded")
        throw std::runtime_error("spool replay: after the restart the job is " +
                                 describe_job(c, job) + "; " + thousands(stored) + " of " +
                                 thousands(entries) + " metrics stored");
      next_state_check = SteadyClock::now() + 1s;
    }
    std::this_thread::sleep_for(10ms);
  }
  const double total_s = seconds_since(t0);
  await_success(c, job, 60s);
  if (stored != entries)
    throw std::runtime_error("spool replay: " + thousands(stored) + " metrics stored, expected " +
                             thousands(entries));
  char row[640];
  std::snprintf(
      row, sizeof row,
      "| spool replay: %s metrics spooled while the coordinator was down (%.1f MiB in "
      "%d segments, spooled %.1f s after the step was let go), delivered after a "
      "coordinator start | %s results/s from start (coordinator ready %.2f s, first "
      "row %.2f s, last row %.2f s); %s results/s from the first row |",
      thousands(entries).c_str(), last.first / 1048576.0, last.second, spooled_s,
      thousands(static_cast<int64_t>(entries / total_s)).c_str(), ready_s, first_s, total_s,
      thousands(static_cast<int64_t>(entries / std::max(1e-3, total_s - first_s))).c_str());
  return {row};
}

// ---------------------------------------------------------------------------
// 3. Memory under large output

struct OutputRun {
  int mib = 0;
  double job_s = 0, step_s = 0;
  Summary coordinator, agent;  // VmRSS samples, KiB
  // Medians of the first and the second half of the samples: flat when equal.
  double coordinator_halves_kb[2] = {0, 0}, agent_halves_kb[2] = {0, 0};
  long coordinator_peak_kb = 0, agent_peak_kb = 0;
  long coordinator_idle_kb = 0, agent_idle_kb = 0;
  uint64_t spool_max_bytes = 0;
  int64_t stored_bytes = 0, cut_bytes = 0;
  int64_t rows_inserted = 0, rows_deleted = 0;  // log_chunks, pg_stat_user_tables
  size_t samples = 0;
};

OutputRun large_output(int mib) {
  std::fprintf(stderr, "memory: one job printing %d MiB\n", mib);
  Cluster c;
  c.add_agent("a", "pool=output", "output-a");
  const int64_t lines = static_cast<int64_t>(mib) * 1048576 / 100;
  OutputRun out;
  out.mib = mib;
  const pid_t coordinator = c.coordinator().pid(), agent = c.agent("a").pid();
  out.coordinator_idle_kb = rss_kb(coordinator);
  out.agent_idle_kb = rss_kb(agent);
  const uint64_t job =
      submit_one(c, "output",
                 "pipeline: output\njobs:\n  loud:\n    on: { labels: [pool=output] }\n"
                 "    steps:\n      - run: |\n"
                 "          awk 'BEGIN { for (i = 0; i < " +
                     std::to_string(lines) + "; i++) printf \"%099d\\n\", i }'\n");
  const std::string ended_sql =
      "SELECT count(*) FROM jobs WHERE id = " + std::to_string(job) +
      " AND state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost')";
  const std::string spool = c.agent_home("a") + "/spool";
  std::vector<double> coordinator_kb, agent_kb;
  Poll poll(c);
  // 1 GiB has taken well under a minute here; allow 20 MiB/s at the least.
  const auto deadline = SteadyClock::now() + 60s + std::chrono::seconds(mib / 20);
  for (;;) {
    const long ck = rss_kb(coordinator), ak = rss_kb(agent);
    if (ck < 0 || ak < 0)
      throw std::runtime_error(std::string("memory: the ") + (ck < 0 ? "coordinator" : "agent") +
                               " died during the job:\n" +
                               tail((ck < 0 ? c.coordinator() : c.agent("a")).log(), 20));
    coordinator_kb.push_back(ck);
    agent_kb.push_back(ak);
    out.spool_max_bytes = std::max(out.spool_max_bytes, spool_on_disk(spool).first);
    if (poll.scalar(ended_sql) == 1) break;
    if (SteadyClock::now() > deadline)
      throw std::runtime_error("memory: the " + std::to_string(mib) + " MiB job did not end in " +
                               "time; it is " + describe_job(c, job));
    std::this_thread::sleep_for(250ms);
  }
  await_success(c, job, 1s);
  out.coordinator_peak_kb = peak_rss_kb(coordinator);
  out.agent_peak_kb = peak_rss_kb(agent);
  out.coordinator = summarize(coordinator_kb);
  out.agent = summarize(agent_kb);
  const size_t half = coordinator_kb.size() / 2;
  out.coordinator_halves_kb[0] = median({coordinator_kb.begin(), coordinator_kb.begin() + half});
  out.coordinator_halves_kb[1] = median({coordinator_kb.begin() + half, coordinator_kb.end()});
  out.agent_halves_kb[0] = median({agent_kb.begin(), agent_kb.begin() + half});
  out.agent_halves_kb[1] = median({agent_kb.begin() + half, agent_kb.end()});
  out.samples = coordinator_kb.size();
  const std::string id = std::to_string(job);
  out.job_s = c.scalar(
                  "SELECT (extract(epoch FROM ended_at - started_at) * 1e6)::bigint FROM "
                  "jobs WHERE id = " +
                  id) /
              1e6;
  out.step_s =
      c.scalar("SELECT (wall_s * 1e6)::bigint FROM steps WHERE job_id = " + id + " AND idx = 0") /
      1e6;
  out.stored_bytes =
      c.scalar("SELECT coalesce(sum(length(data)), 0) FROM log_chunks WHERE job_id = " + id);
  out.cut_bytes = c.scalar("SELECT coalesce(sum(cut_bytes), 0) FROM log_cuts WHERE job_id = " + id);
  // What PostgreSQL was made to write: the coordinator's backend reports its
  // counts about once a second; read until two reads 1.5 s apart agree.
  std::pair<int64_t, int64_t> rows{-1, -1};
  const auto stats_deadline = SteadyClock::now() + 20s;
  for (;;) {
    auto r = c.query(
        "SELECT n_tup_ins, n_tup_del FROM pg_stat_user_tables WHERE relname = 'log_chunks'");
    const std::pair<int64_t, int64_t> now{r.empty() ? -1 : r[0][0].as<int64_t>(),
                                          r.empty() ? -1 : r[0][1].as<int64_t>()};
    if (now == rows || SteadyClock::now() > stats_deadline) break;
    rows = now;
    std::this_thread::sleep_for(1500ms);
  }
  out.rows_inserted = rows.first;
  out.rows_deleted = rows.second;
  return out;
}

// A table with one column per run.
std::vector<std::string> output_rows(const std::vector<OutputRun>& runs) {
  const auto mib = [](double kb) { return kb / 1024.0; };
  std::vector<std::string> rows(13);
  rows[0] = "| one job's output, 100-byte lines, default log cap (64 MiB) |";
  rows[1] = "|---|";
  const char* names[] = {"job wall, `running` → `succeeded` (the step's own wall)",
                         "coordinator VmRSS every 250 ms: min / median / max (idle before)",
                         "coordinator VmRSS, median of the first / the second half of the job",
                         "coordinator peak RSS (VmHWM)",
                         "agent VmRSS every 250 ms: min / median / max (idle before)",
                         "agent VmRSS, median of the first / the second half of the job",
                         "agent peak RSS (VmHWM)",
                         "agent spool on disk, largest seen",
                         "log in PostgreSQL: kept / cut",
                         "`log_chunks` rows inserted / deleted (pg_stat_user_tables)",
                         "RSS samples"};
  for (int k = 0; k < 11; ++k) rows[k + 2] = std::string("| ") + names[k] + " |";
  for (const auto& r : runs) {
    rows[0] += " " + std::to_string(r.mib) + " MiB |";
    rows[1] += "---|";
    const std::string cells[] = {
        format("%.1f s (%.1f s)", r.job_s, r.step_s),
        format("%.1f / %.1f / %.1f MiB (%.1f)", mib(r.coordinator.min), mib(r.coordinator.median),
               mib(r.coordinator.max), mib(r.coordinator_idle_kb)),
        format("%.1f / %.1f MiB", mib(r.coordinator_halves_kb[0]), mib(r.coordinator_halves_kb[1])),
        format("%.1f MiB", mib(r.coordinator_peak_kb)),
        format("%.1f / %.1f / %.1f MiB (%.1f)", mib(r.agent.min), mib(r.agent.median),
               mib(r.agent.max), mib(r.agent_idle_kb)),
        format("%.1f / %.1f MiB", mib(r.agent_halves_kb[0]), mib(r.agent_halves_kb[1])),
        format("%.1f MiB", mib(r.agent_peak_kb)),
        format("%.1f MiB", r.spool_max_bytes / 1048576.0),
        format("%.1f MiB / %.1f MiB", r.stored_bytes / 1048576.0, r.cut_bytes / 1048576.0),
        thousands(r.rows_inserted) + " / " + thousands(r.rows_deleted),
        std::to_string(r.samples)};
    for (int k = 0; k < 11; ++k) rows[k + 2] += " " + cells[k] + " |";
  }
  return rows;
}

// ---------------------------------------------------------------------------
// 4. The spool's cost on sample ingestion

struct IngestRun {
  double span_s = 0;    // first sample's start to the last one's (the agent's clock)
  double gap_us = 0;    // the agent's time between two runs: (span - their walls) / runs
  double job_s = 0;     // `assigned` to `succeeded` (job_events.at)
  double median_s = 0;  // median sample wall
};

IngestRun ingest_job(Cluster& c, const std::string& spool, int round, int runs) {
  const std::string name = "ingest-" + spool + "-" + std::to_string(round);
  const uint64_t job = submit_one(
      c, name,
      "pipeline: " + name + "\njobs:\n  b:\n    kind: bench\n    on: { labels: [spool=" + spool +
          "] }\n    bench: { run: \"true\", warmup: 0, runs: " + std::to_string(runs) +
          " }\n    variants: [{name: a}, {name: b}]\n");
  // `true` takes about 0.6 ms a run here; allow 20 ms.
  await_success(c, job, 60s + std::chrono::milliseconds(runs * 2 * 20));
  const std::string id = std::to_string(job);
  const int64_t n = c.scalar("SELECT count(*) FROM samples WHERE job_id = " + id);
  if (n != 2 * runs)
    throw std::runtime_error("ingestion: job " + id + " stored " + std::to_string(n) +
                             " samples, expected " + std::to_string(2 * runs));
  IngestRun r;
  r.span_s = c.scalar(
                 "SELECT (extract(epoch FROM max(at) - min(at)) * 1e6)::bigint FROM samples"
                 " WHERE job_id = " +
                 id) /
             1e6;
  // Every run's wall but the last lies inside the span.
  r.gap_us = c.scalar(
                 "SELECT ((extract(epoch FROM max(at) - min(at)) - sum(wall_s) +"
                 " (array_agg(wall_s ORDER BY at DESC))[1]) * 1e9)::bigint FROM samples"
                 " WHERE job_id = " +
                 id) /
             1e3 / (n - 1);
  // A bench job without steps goes from `assigned` straight to `succeeded`.
  r.job_s = c.scalar(
                "SELECT (extract(epoch FROM max(at) - min(at)) * 1e6)::bigint FROM job_events"
                " WHERE job_id = " +
                id + " AND to_state IN ('assigned', 'succeeded')") /
            1e6;
  r.median_s = c.scalar(
                   "SELECT (percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_s) * 1e9)::bigint"
                   " FROM samples WHERE job_id = " +
                   id) /
               1e9;
  return r;
}

std::vector<std::string> spool_cost(int rounds, int runs, uint32_t seed) {
  std::fprintf(stderr, "spool cost: %d rounds of 2 x %d runs of `true` per agent\n", rounds, runs);
  Cluster c;
  c.add_agent("disk", "spool=disk", "bench-machine");
  c.add_agent("memory", "spool=memory", "bench-machine", 1, {"--spool-in-memory"});
  std::mt19937 rng(seed);
  // Per round, disk then memory: spans, gaps, job walls, sample medians.
  std::vector<IngestRun> disk(rounds), mem(rounds);
  for (int r = 0; r < rounds; ++r) {
    const bool disk_first = rng() & 1;
    for (int i = 0; i < 2; ++i) {
      if ((i == 0) == disk_first)
        disk[r] = ingest_job(c, "disk", r, runs);
      else
        mem[r] = ingest_job(c, "memory", r, runs);
    }
    std::fprintf(stderr,
                 "  round %d (%s first): span disk %.3f s, memory %.3f s; between runs disk "
                 "%.1f us, memory %.1f us\n",
                 r + 1, disk_first ? "disk" : "memory", disk[r].span_s, mem[r].span_s,
                 disk[r].gap_us, mem[r].gap_us);
  }
  const auto field = [](const std::vector<IngestRun>& v, double IngestRun::*f) {
    std::vector<double> out;
    for (const auto& r : v) out.push_back(r.*f);
    return out;
  };
  const auto ratios = [&](double IngestRun::*f) {
    std::vector<double> out;
    for (int r = 0; r < rounds; ++r) out.push_back(disk[r].*f / mem[r].*f);
    return out;
  };
  const auto min = [](const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
  };
  const auto max = [](const std::vector<double>& v) {
    return *std::max_element(v.begin(), v.end());
  };
  const auto span_d = field(disk, &IngestRun::span_s), span_m = field(mem, &IngestRun::span_s);
  const auto gap_d = field(disk, &IngestRun::gap_us), gap_m = field(mem, &IngestRun::gap_us);
  const auto span_r = ratios(&IngestRun::span_s), job_r = ratios(&IngestRun::job_s);
  std::vector<double> gap_diff;
  for (int r = 0; r < rounds; ++r) gap_diff.push_back(disk[r].gap_us - mem[r].gap_us);
  const std::string n = std::to_string(rounds);
  return {
      "| run loop, first to last sample start, 2 × " + std::to_string(runs) +
          " runs of `true`: median of " + n + " rounds (disk / memory: median of the rounds' " +
          "ratios, and their range) | " +
          format("%.3f s | %.3f s | %.3f (%.3f–%.3f)", median(span_d), median(span_m),
                 median(span_r), min(span_r), max(span_r)) +
          " |",
      "| run loop, fastest of " + n + " rounds | " +
          format("%.3f s | %.3f s | %.3f", min(span_d), min(span_m), min(span_d) / min(span_m)) +
          " |",
      "| the agent's time between two runs, (span − measured walls) / runs: median of " + n +
          " rounds (difference: median of the rounds' differences, their range, and the "
          "median as a share of the time per run on the in-memory agent) | " +
          format("%.1f µs | %.1f µs | %+.1f µs (%+.1f to %+.1f), %+.2f %% of %.0f µs a run",
                 median(gap_d), median(gap_m), median(gap_diff), min(gap_diff), max(gap_diff),
                 100 * median(gap_diff) / (1e6 * median(span_m) / (2 * runs - 1)),
                 1e6 * median(span_m) / (2 * runs - 1)) +
          " |",
      "| job wall, `assigned` → `succeeded` (job_events) | " +
          format("%.3f s | %.3f s | %.3f (%.3f–%.3f)", median(field(disk, &IngestRun::job_s)),
                 median(field(mem, &IngestRun::job_s)), median(job_r), min(job_r), max(job_r)) +
          " |",
      "| median sample wall (what is measured) | " +
          format("%.3f ms | %.3f ms | %.3f", median(field(disk, &IngestRun::median_s)) * 1e3,
                 median(field(mem, &IngestRun::median_s)) * 1e3,
                 median(field(disk, &IngestRun::median_s)) /
                     median(field(mem, &IngestRun::median_s))) +
          " |",
  };
}

void usage() {
  std::fprintf(stderr,
               "usage: reliability_bench [--failovers 5] [--long-lease-ms 5000] "
               "[--spool-entries 100000] [--big-mib 1024] [--small-mib 256] [--rounds 5] "
               "[--runs 3000] [--seed N]\n(a count of 0 skips its part)\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, int64_t> o = {{"--failovers", 5},
                                      {"--long-lease-ms", 5000},
                                      {"--spool-entries", 100000},
                                      {"--big-mib", 1024},
                                      {"--small-mib", 256},
                                      {"--rounds", 5},
                                      {"--runs", 3000},
                                      {"--seed", std::random_device{}()}};
  for (int i = 1; i < argc; i += 2) {
    auto it = o.find(argv[i]);
    char* end = nullptr;
    const long long v = i + 1 < argc ? std::strtoll(argv[i + 1], &end, 10) : -1;
    if (it == o.end() || i + 1 >= argc || *end != '\0' || v < 0) {
      usage();
      return 2;
    }
    it->second = v;
  }
  if (o["--failovers"] > 100 || (o["--long-lease-ms"] != 0 && o["--long-lease-ms"] < 200) ||
      o["--runs"] < 1 || o["--big-mib"] > 65536 || o["--small-mib"] > 65536) {
    std::fprintf(stderr,
                 "reliability_bench: --failovers at most 100 (the job's retries), "
                 "--long-lease-ms 0 or at least 200, --runs at least 1, MiB at most "
                 "65536\n");
    return 2;
  }
  std::string command = "build/bench/reliability_bench";
  for (const char* k : {"--failovers", "--long-lease-ms", "--spool-entries", "--big-mib",
                        "--small-mib", "--rounds", "--runs", "--seed"})
    command += std::string(" ") + k + " " + std::to_string(o[k]);
  std::fprintf(stderr, "%s\n", command.c_str());
  const auto started = SteadyClock::now();
  const std::string load_before = load_average();

  std::vector<std::string> failover, replay, cost;
  std::vector<OutputRun> outputs;
  const auto print = [&] {
    std::printf("command: %s\n", command.c_str());
    if (!failover.empty() || !replay.empty()) {
      std::printf("\n| figure | result |\n|---|---|\n");
      for (const auto& row : failover) std::printf("%s\n", row.c_str());
      for (const auto& row : replay) std::printf("%s\n", row.c_str());
    }
    if (!outputs.empty()) {
      std::printf("\n");
      for (const auto& row : output_rows(outputs)) std::printf("%s\n", row.c_str());
    }
    if (!cost.empty()) {
      std::printf(
          "\n| sample ingestion | spool on disk | spool in memory | disk / memory |\n"
          "|---|---|---|---|\n");
      for (const auto& row : cost) std::printf("%s\n", row.c_str());
    }
    std::printf(
        "\ntotal time: %.0f s; 1-minute load average %s at the start, %s at the end (2 "
        "cores)\n",
        seconds_since(started), load_before.c_str(), load_average().c_str());
    std::fflush(stdout);
  };
  try {
    if (o["--failovers"] > 0) {
      for (auto& row : failover_rows(failovers(2000, 300, o["--failovers"])))
        failover.push_back(row);
      if (o["--long-lease-ms"] > 0)
        for (auto& row : failover_rows(
                 failovers(static_cast<uint32_t>(o["--long-lease-ms"]), 300, o["--failovers"])))
          failover.push_back(row);
    }
    if (o["--spool-entries"] > 0) replay = spool_replay(o["--spool-entries"]);
    if (o["--small-mib"] > 0) outputs.push_back(large_output(o["--small-mib"]));
    if (o["--big-mib"] > 0) outputs.push_back(large_output(o["--big-mib"]));
    if (o["--rounds"] > 0)
      cost = spool_cost(o["--rounds"], o["--runs"], static_cast<uint32_t>(o["--seed"]));
  } catch (const std::exception& e) {
    print();
    std::fprintf(stderr, "reliability_bench: FAILED: %s\n", e.what());
    return 1;
  }
  print();
  return 0;
}
