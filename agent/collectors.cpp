#include "agent/collectors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/process.hpp"

namespace yardstick {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
std::string read_file(const std::string& path, bool* ok = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (ok) *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void add_hit_rate(std::vector<CollectedMetric>& out, const std::string& tool, double hits,
                  double misses) {
  out.push_back({tool + ".hits", hits, "count"});
  out.push_back({tool + ".misses", misses, "count"});
  if (hits + misses > 0) out.push_back({tool + ".hit_rate", hits / (hits + misses), "ratio"});
}

class CcacheCollector : public Collector {
 public:
  CcacheCollector(std::string cwd, std::vector<std::string> env, CommandRunner run)
      : cwd_(std::move(cwd)), env_(std::move(env)), run_(run) {}
  void before() override { before_ = parse_ccache_stats(run_("ccache --print-stats", env_, cwd_)); }
  std::vector<CollectedMetric> after(std::vector<std::string>* warnings) override {
    auto now = parse_ccache_stats(run_("ccache --print-stats", env_, cwd_));
    if (now.empty()) {
      warnings->push_back("ccache: `ccache --print-stats` gave no statistics; no metrics");
      return {};
    }
    auto get = [](std::map<std::string, double>& m, const char* k) {
      auto it = m.find(k);
      return it == m.end() ? 0.0 : it->second;
    };
    double hits = get(now, "direct_cache_hit") + get(now, "preprocessed_cache_hit") -
                  get(before_, "direct_cache_hit") - get(before_, "preprocessed_cache_hit");
    double misses = get(now, "cache_miss") - get(before_, "cache_miss");
    std::vector<CollectedMetric> out;
    add_hit_rate(out, "ccache", std::max(0.0, hits), std::max(0.0, misses));
    return out;
  }

 private:
  std::string cwd_;
  std::vector<std::string> env_;
  CommandRunner run_;
  std::map<std::string, double> before_;
};

class SccacheCollector : public Collector {
 public:
  SccacheCollector(std::string cwd, std::vector<std::string> env, CommandRunner run)
      : cwd_(std::move(cwd)), env_(std::move(env)), run_(run) {}
  void before() override {
    have_before_ = parse_sccache_json(run_("sccache --show-stats --stats-format=json", env_, cwd_),
                                      &hits_, &misses_);
  }
  std::vector<CollectedMetric> after(std::vector<std::string>* warnings) override {
    double hits = 0, misses = 0;
    if (!parse_sccache_json(run_("sccache --show-stats --stats-format=json", env_, cwd_), &hits,
                            &misses)) {
      warnings->push_back("sccache: no statistics from `sccache --show-stats`; no metrics");
      return {};
    }
    if (have_before_) {
      hits -= hits_;
      misses -= misses_;
    }
    std::vector<CollectedMetric> out;
    add_hit_rate(out, "sccache", std::max(0.0, hits), std::max(0.0, misses));
    return out;
  }

 private:
  std::string cwd_;
  std::vector<std::string> env_;
  CommandRunner run_;
  bool have_before_ = false;
  double hits_ = 0, misses_ = 0;
};

std::string join_path(const std::string& cwd, const std::string& p) {
  if (p.empty()) return cwd;
  return p.front() == '/' ? p : cwd + "/" + p;
}

class NinjaLogCollector : public Collector {
 public:
  // `path`: the log, a directory holding it, or "" (the workdir's log, or
  // build/.ninja_log): resolved before and again after the step, because a
  // cold build creates the build directory.
  NinjaLogCollector(std::string cwd, std::string path)
      : cwd_(std::move(cwd)), path_(std::move(path)) {}
  void before() override {
    bool ok = false;
    std::string text = read_file(resolve(), &ok);
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) before_.insert(line);
  }
  std::vector<CollectedMetric> after(std::vector<std::string>* warnings) override {
    const std::string file = resolve();
    bool ok = false;
    std::string text = read_file(file, &ok);
    if (!ok) {
      warnings->push_back("ninja-log: " + file + " not found; no metrics");
      return {};
    }
    std::vector<CollectedMetric> out;
    if (!parse_ninja_log(text, &before_, &out))
      warnings->push_back("ninja-log: " + file + " is not a ninja log (v5); no metrics");
    return out;
  }

 private:
  std::string resolve() const {
    std::string file = join_path(cwd_, path_);
    if (path_.empty() || fs::is_directory(file)) {
      std::string dir = file;
      if (path_.empty() && !fs::exists(dir + "/.ninja_log") &&
          fs::exists(dir + "/build/.ninja_log"))
        dir += "/build";
      file = dir + "/.ninja_log";
    }
    return file;
  }
  std::string cwd_, path_;
  std::unordered_set<std::string> before_;
};

class CargoTimingsCollector : public Collector {
 public:
  explicit CargoTimingsCollector(std::string dir) : dir_(std::move(dir)) {}
  void before() override { start_ = fs::file_time_type::clock::now(); }
  std::vector<CollectedMetric> after(std::vector<std::string>* warnings) override {
    std::error_code ec;
    fs::path newest;
    fs::file_time_type newest_time{};
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("cargo-timing-", 0) != 0 || e.path().extension() != ".html") continue;
      auto t = e.last_write_time(ec);
      if (t >= start_ && (newest.empty() || t > newest_time)) {
        newest = e.path();
        newest_time = t;
      }
    }
    if (newest.empty()) {
      warnings->push_back("cargo-timings: no report written in " + dir_ +
                          " by this step (did it run `cargo build --timings`?); no metrics");
      return {};
    }
    std::vector<CollectedMetric> out;
    if (!parse_cargo_timings(read_file(newest.string()), &out))
      warnings->push_back("cargo-timings: " + newest.string() + " holds no unit data; no metrics");
    return out;
  }

 private:
  std::string dir_;
  fs::file_time_type start_;
};

}  // namespace

std::string run_command(const std::string& command, const std::vector<std::string>& env,
                        const std::string& cwd) {
  PosixLauncher launcher;
  std::string error;
  auto p = launcher.spawn({command + " 2>/dev/null", env, cwd, {}, {}}, &error);
  if (!p) return "";
  // Blocking read until EOF, then reap this child only.
  fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) & ~O_NONBLOCK);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p->out_fd, buf, sizeof buf)) > 0) out.append(buf, n);
  close(p->out_fd);
  close(p->err_fd);
  int status = 0;
  waitpid(p->pid, &status, 0);
  return out;
}

std::unique_ptr<Collector> make_collector(const std::string& spec, const std::string& cwd,
                                          const std::vector<std::string>& env,
                                          CommandRunner runner) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const std::string path = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (name == "ccache") return std::make_unique<CcacheCollector>(cwd, env, runner);
  if (name == "sccache") return std::make_unique<SccacheCollector>(cwd, env, runner);
  if (name == "ninja-log") return std::make_unique<NinjaLogCollector>(cwd, path);
  if (name == "cargo-timings")
    return std::make_unique<CargoTimingsCollector>(join_path(cwd, path.empty() ? "target" : path) +
                                                   "/cargo-timings");
  return nullptr;
}

std::map<std::string, double> parse_ccache_stats(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    char* end = nullptr;
    std::string value = line.substr(tab + 1);
    double v = std::strtod(value.c_str(), &end);
    if (end != value.c_str()) out[line.substr(0, tab)] = v;
  }
  return out;
}

bool parse_sccache_json(const std::string& text, double* hits, double* misses) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("stats")) return false;
  auto sum = [](const json& counter) {
    double total = 0;
    if (counter.contains("counts"))
      for (auto& [lang, n] : counter["counts"].items())
        if (n.is_number()) total += n.get<double>();
    return total;
  };
  const json& s = j["stats"];
  *hits = s.contains("cache_hits") ? sum(s["cache_hits"]) : 0;
  *misses = s.contains("cache_misses") ? sum(s["cache_misses"]) : 0;
  return true;
}

bool parse_cargo_timings(const std::string& html, std::vector<CollectedMetric>* out) {
  size_t start = html.find("const UNIT_DATA = ");
  if (start == std::string::npos) return false;
  start = html.find('[', start);
  size_t end = html.find("];", start);
  if (start == std::string::npos || end == std::string::npos) return false;
  json units = json::parse(html.substr(start, end - start + 1), nullptr, false);
  if (units.is_discarded() || !units.is_array()) return false;
  double total = 0;
  size_t count = 0;
  for (const auto& u : units) {
    if (!u.is_object() || !u.contains("name") || !u["name"].is_string() ||
        !u.contains("duration") || !u["duration"].is_number())
      continue;
    std::string name = u["name"].get<std::string>();
    const std::string target =
        u.contains("target") && u["target"].is_string() ? u["target"].get<std::string>() : "";
    // cargo describes a unit that is not the crate's library in `target`:
    // " build-script", " build-script (run)", " app \"bin\"", " t \"test\"".
    const size_t first = target.find_first_not_of(' ');
    const std::string t = first == std::string::npos ? "" : target.substr(first);
    if (t.find("build-script (run)") != std::string::npos) {
      name += " (build script run)";
    } else if (t.find("build-script") != std::string::npos ||
               t.find("(build)") != std::string::npos) {
      name += " (build script)";
    } else if (!t.empty()) {
      // `TARGET "KIND"`: "(bin)" when the target is named as the crate.
      const size_t q = t.find(" \"");
      const std::string tname = q == std::string::npos ? t : t.substr(0, q);
      std::string kind = q == std::string::npos ? "" : t.substr(q + 2);
      if (!kind.empty() && kind.back() == '"') kind.pop_back();
      name += kind.empty()
                  ? " (" + t + ")"
                  : " (" + kind + (tname == u["name"].get<std::string>() ? "" : " " + tname) + ")";
    }
    double d = u["duration"].get<double>();
    total += d;
    ++count;
    out->push_back({"cargo.crate." + name, d, "s"});
  }
  out->push_back({"cargo.units", static_cast<double>(count), "count"});
  out->push_back({"cargo.unit_time_total", total, "s"});
  return true;
}

bool parse_ninja_log(const std::string& text, const std::unordered_set<std::string>* before,
                     std::vector<CollectedMetric>* out) {
  if (text.rfind("# ninja log v", 0) != 0) return false;
  std::istringstream in(text);
  std::string line;
  double total = 0;
  size_t count = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (before && before->count(line)) continue;
    std::istringstream f(line);
    std::string start, end, mtime, target;
    if (!std::getline(f, start, '\t') || !std::getline(f, end, '\t') ||
        !std::getline(f, mtime, '\t') || !std::getline(f, target, '\t'))
      continue;
    double s = std::atof(end.c_str()) - std::atof(start.c_str());
    out->push_back({"ninja.target." + target, s / 1000.0, "s"});
    total += s / 1000.0;
    ++count;
  }
  out->push_back({"ninja.targets", static_cast<double>(count), "count"});
  out->push_back({"ninja.target_time_total", total, "s"});
  return true;
}

std::vector<CollectedMetric> read_metrics_file(const std::string& path, size_t* offset,
                                               std::vector<std::string>* warnings) {
  std::vector<CollectedMetric> out;
  bool ok = false;
  std::string text = read_file(path, &ok);
  if (!ok || text.size() <= *offset) return out;
  // Only whole lines; a line being written stays for next time.
  size_t last_nl = text.rfind('\n');
  if (last_nl == std::string::npos || last_nl < *offset) return out;
  std::istringstream in(text.substr(*offset, last_nl + 1 - *offset));
  *offset = last_nl + 1;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string name, value, unit, extra;
    f >> name >> value >> unit >> extra;
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (name.empty() || value.empty() || *end != '\0' || !std::isfinite(v) || !extra.empty()) {
      warnings->push_back("metrics file: ignored the line '" + line +
                          "' (expected: name value [unit])");
      continue;
    }
    out.push_back({name, v, unit});
  }
  return out;
}

}  // namespace yardstick
