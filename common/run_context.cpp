#include "common/run_context.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace yardstick {

bool under_contention(const RunContext& c) {
  const ContentionThresholds& t = kContention;
  if (c.foreign_share && c.stat_ticks >= t.min_stat_ticks_for_foreign &&
      *c.foreign_share >= t.min_foreign_share + c.foreign_resolution)
    return true;
  if (c.steal_pct && c.stat_ticks >= t.min_stat_ticks_for_steal && *c.steal_pct >= t.min_steal_pct)
    return true;
  if (c.wall_ns == 0) return false;
  const double cpu_s = c.task_clock_ns ? *c.task_clock_ns / 1e9 : c.cpu_us / 1e6;
  const double wall_s = c.wall_ns / 1e9;
  const uint64_t invol = c.invol_ctx.value_or(0);
  if (invol < t.min_invol_ctx) return false;
  // A tree that used no measurable CPU time and was still preempted twice
  // competed for the CPU whenever it wanted it.
  const bool often = cpu_s <= 0 || invol >= t.min_invol_per_cpu_s * cpu_s;
  return often && cpu_s <= t.max_cpu_share * wall_s;
}

std::string contention_rule() {
  const ContentionThresholds& t = kContention;
  char buf[640];
  std::snprintf(buf, sizeof buf,
                "under contention: other processes used >= %.0f %% of the machine over the run "
                "(busy CPU time minus the tree's, beyond the resolution of counting by the tick, "
                "over at least %llu ticks); or at least %llu "
                "involuntary context switches and at least one per %.0f ms of the tree's CPU "
                "time, with CPU time at most %.0f %% of wall (task-clock, else user+sys); or "
                "steal >= %.0f %% over at least %llu ticks",
                t.min_foreign_share * 100,
                static_cast<unsigned long long>(t.min_stat_ticks_for_foreign),
                static_cast<unsigned long long>(t.min_invol_ctx), 1000 / t.min_invol_per_cpu_s,
                t.max_cpu_share * 100, t.min_steal_pct,
                static_cast<unsigned long long>(t.min_stat_ticks_for_steal));
  return buf;
}

namespace {
// The whitespace-separated fields of `line`.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

std::optional<CpuTimes> parse_proc_stat(std::string_view text) {
  std::optional<CpuTimes> all;
  uint32_t cpus = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto f = fields(text.substr(pos, end - pos));
    pos = end + 1;
    if (f.empty() || f[0].substr(0, 3) != "cpu") continue;
    if (f[0] != "cpu") {
      if (number<uint32_t>(f[0].substr(3))) ++cpus;
      continue;
    }
    if (all) continue;
    // user nice system idle iowait irq softirq steal [guest guest_nice]:
    // guest time is already counted in user, so it is left out.
    if (f.size() < 5) return std::nullopt;
    CpuTimes t;
    for (size_t i = 1; i < f.size() && i <= 8; ++i) {
      auto v = number<uint64_t>(f[i]);
      if (!v) return std::nullopt;
      t.total += *v;
      if (i == 4) t.idle = *v;
      if (i == 5) t.iowait = *v;
      if (i == 8) t.steal = *v;
    }
    all = t;
  }
  if (all) all->cpus = cpus;
  return all;
}

void apply_cpu_times(const CpuTimes& before, const CpuTimes& after, RunContext* c,
                     double ticks_per_s) {
  c->steal_pct.reset();
  c->iowait_pct.reset();
  c->foreign_share.reset();
  c->foreign_resolution = 0;
  c->stat_ticks = 0;
  if (after.total <= before.total) return;
  const double ticks = static_cast<double>(after.total - before.total);
  c->stat_ticks = after.total - before.total;
  // A counter that went backwards (a CPU went offline) says nothing.
  if (after.steal >= before.steal) c->steal_pct = 100.0 * (after.steal - before.steal) / ticks;
  if (after.iowait >= before.iowait) c->iowait_pct = 100.0 * (after.iowait - before.iowait) / ticks;
  const auto busy = [](const CpuTimes& t) { return t.total - t.idle - t.iowait - t.steal; };
  if (c->stat_ticks >= kContention.min_stat_ticks_for_foreign && busy(after) >= busy(before) &&
      ticks_per_s > 0) {
    // Both sides in CPU-seconds: the machine's busy time, the tree's own.
    const double busy_s = (busy(after) - busy(before)) / ticks_per_s;
    const double machine_s = ticks / ticks_per_s;
    const double foreign_s = busy_s - c->cpu_us / 1e6;
    c->foreign_share = std::clamp(foreign_s / machine_s, 0.0, 1.0);
    const uint32_t cpus = std::max({after.cpus, before.cpus, 1u});
    c->foreign_resolution = std::min(1.0, (2.0 * cpus + 5) / ticks);
  }
}

std::optional<uint64_t> parse_pressure_total(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto f = fields(text.substr(pos, end - pos));
    pos = end + 1;
    if (f.empty() || f[0] != "some") continue;
    for (auto field : f)
      if (field.rfind("total=", 0) == 0) return number<uint64_t>(field.substr(6));
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<double> parse_loadavg(std::string_view text) {
  auto f = fields(text.substr(0, text.find('\n')));
  if (f.empty()) return std::nullopt;
  auto v = number<double>(f[0]);
  if (!v || *v < 0) return std::nullopt;
  return v;
}

std::optional<double> parse_cpuinfo_mhz(std::string_view text) {
  double sum = 0;
  int n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("cpu MHz", 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto f = fields(line.substr(colon + 1));
    if (f.size() != 1) continue;
    auto v = number<double>(f[0]);
    if (!v || *v <= 0) continue;
    sum += *v;
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

}  // namespace yardstick
