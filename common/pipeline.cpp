#include "common/pipeline.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "common/checkout.hpp"
#include "common/secrets.hpp"
#include "common/stats.hpp"
#include "common/text.hpp"

namespace yardstick {

std::string PipelineError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (column > 0) out += ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

const JobDef* PipelineDef::find_job(std::string_view job_name) const {
  for (const auto& j : jobs)
    if (j.name == job_name) return &j;
  return nullptr;
}

bool needs_no_regression(const JobDef& job, std::string_view need) {
  return std::find(job.no_regression_needs.begin(), job.no_regression_needs.end(), need) !=
         job.no_regression_needs.end();
}

const std::vector<std::string>& notify_events() {
  static const std::vector<std::string> events = {
      "rolled_back",          "failed",    "over_budget", "succeeded",
      "pipeline_over_budget", "regressed", "improved",    "bisected"};
  return events;
}

const std::vector<std::string>& default_notify_events() {
  static const std::vector<std::string> events = {"rolled_back", "failed"};
  return events;
}

namespace {
// `events` in the order of notify_events().
std::vector<std::string> in_event_order(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (const auto& e : notify_events())
    if (std::find(events.begin(), events.end(), e) != events.end()) out.push_back(e);
  return out;
}
}  // namespace

std::vector<Webhook> webhooks_for(const PipelineDef& def, const JobDef& job) {
  std::vector<Webhook> out;
  for (const auto* list : {&def.notify, &job.notify})
    for (const auto& hook : *list) {
      auto same =
          std::find_if(out.begin(), out.end(), [&](const Webhook& w) { return w.url == hook.url; });
      if (same == out.end()) {
        out.push_back(hook);
        continue;
      }
      std::vector<std::string> both = same->on;
      both.insert(both.end(), hook.on.begin(), hook.on.end());
      same->on = in_event_order(both);
    }
  return out;
}

const std::vector<std::string>& known_collectors() {
  static const std::vector<std::string> names = {"cargo-timings", "ninja-log", "sccache", "ccache"};
  return names;
}

std::optional<uint64_t> parse_duration_ms(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  size_t unit_pos = 0;
  while (unit_pos < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[unit_pos])) || text[unit_pos] == '.'))
    ++unit_pos;
  if (unit_pos == 0) return std::nullopt;
  double value = 0;
  try {
    size_t used = 0;
    value = std::stod(std::string(text.substr(0, unit_pos)), &used);
    if (used != unit_pos) return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
  std::string_view unit = text.substr(unit_pos);
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return std::nullopt;
  double ms = value * scale;
  if (!std::isfinite(ms) || ms < 0 || ms > 1e15) return std::nullopt;
  return static_cast<uint64_t>(std::llround(ms));
}

namespace {

class Validator {
 public:
  explicit Validator(std::string file) : file_(std::move(file)) {}

  std::vector<PipelineError> errors;
  std::vector<PipelineError> warnings;
  size_t visited_ = 0;  // nodes check_duplicate_keys() has looked at

  void error(const YAML::Node& node, const std::string& key, const std::string& message) {
    errors.push_back(at(node, key, message));
  }
  void warning(const YAML::Node& node, const std::string& key, const std::string& message) {
    warnings.push_back(at(node, key, message));
  }
  PipelineError at(const YAML::Node& node, const std::string& key,
                   const std::string& message) const {
    PipelineError e{file_, 0, 0, key, message};
    if (node.IsDefined() && node.Mark().line >= 0) {
      e.line = node.Mark().line + 1;
      e.column = node.Mark().column + 1;
    }
    return e;
  }

  // Checks that `node` is a map and has only `allowed` keys.
  bool check_map(const YAML::Node& node, const std::string& path,
                 const std::vector<std::string>& allowed) {
    if (!node.IsMap()) {
      error(node, path, "expected a mapping");
      return false;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        const std::string near = closest(key, allowed);
        error(it->first, join(path, key),
              "unknown key (" + (near.empty() ? "" : "did you mean '" + near + "'? ") +
                  "expected one of: " + list + ")");
      }
    }
    return true;
  }

  // A key given twice in one mapping, anywhere under `node`: YAML keeps one
  // of the values and drops the other without a word (`timeout: 5m` then
  // `timeout: 1s`; `runs: 20` turned into a second `run: 20`).
  void check_duplicate_keys(const YAML::Node& node, const std::string& path, int depth = 0) {
    // Deeper than any pipeline, or past a bound on the nodes visited: an
    // alias repeated inside aliases ("billion laughs") is a tree far larger
    // than its file, and the other checks refuse such a file anyway.
    if (depth > 64 || ++visited_ > 100'000) return;
    if (node.IsMap()) {
      std::map<std::string, int> first_line;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        const std::string key = it->first.Scalar();
        const int line = it->first.Mark().line + 1;
        if (auto [at, added] = first_line.emplace(key, line); !added)
          error(it->first, join(path, key),
                "given twice in one mapping (first on line " + std::to_string(at->second) +
                    "): YAML keeps one value and drops the other; remove one");
        check_duplicate_keys(it->second, join(path, key), depth + 1);
      }
    } else if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i)
        check_duplicate_keys(node[i], path + "[" + std::to_string(i) + "]", depth + 1);
    }
  }

  std::optional<std::string> string(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      error(node, path, "expected a string");
      return std::nullopt;
    }
    // YAML's "\0": no command, argument or environment can carry it, and a
    // stored spec would lose what follows it. yaml-cpp writes "\N" and "\_"
    // as single Latin-1 bytes, which are not UTF-8 (both found by fuzzing).
    if (!is_valid_text(node.Scalar())) {
      error(node, path,
            node.Scalar().find('\0') != std::string::npos
                ? "holds a NUL character (\\0), which no command or environment can carry"
                : "is not valid UTF-8 text (YAML's \\N and \\_ escapes make bytes that are "
                  "not; write the character itself)");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      error(node, path, "expected true or false");
      return std::nullopt;
    }
    return value;
  }

  std::optional<int64_t> integer(const YAML::Node& node, const std::string& path, int64_t min,
                                 int64_t max) {
    int64_t value = 0;
    if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      if (ec == std::errc() && p == s.data() + s.size() && value >= min && value <= max)
        return value;
    }
    error(node, path,
          "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }

  std::optional<uint64_t> duration(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) {
      if (auto ms = parse_duration_ms(node.Scalar())) return ms;
    }
    error(node, path, "expected a duration such as 250ms, 30s, 10m or 1h");
    return std::nullopt;
  }

  EnvVars env(const YAML::Node& node, const std::string& path) {
    EnvVars out;
    if (!node.IsMap()) {
      error(node, path, "expected a mapping of variable names to values");
      return out;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string name = it->first.Scalar();
      if (name.empty() || name.find('=') != std::string::npos || !is_valid_text(name) ||
          std::isdigit(static_cast<unsigned char>(name[0])))
        error(it->first, join(path, name), "invalid environment variable name");
      if (auto v = string(it->second, join(path, name))) out[name] = *v;
    }
    return out;
  }

  // `secrets: [NAME, ...]`: names of environment variables, each once.
  std::vector<std::string> secrets(const YAML::Node& node, const std::string& path) {
    std::vector<std::string> out;
    if (!node.IsSequence()) {
      error(node, path, "expected a list of secret names, such as [API_TOKEN]");
      return out;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      auto name = string(node[i], p);
      if (!name) continue;
      if (!valid_env_name(*name))
        error(node[i], p,
              "'" + *name +
                  "' is not a valid secret name (letters, digits and '_', not starting with a "
                  "digit)");
      else if (std::find(out.begin(), out.end(), *name) != out.end())
        error(node[i], p, "'" + *name + "' is listed twice");
      else
        out.push_back(*name);
    }
    return out;
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string file_;
};

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::vector<std::string> parse_collect(Validator& v, const YAML::Node& node,
                                       const std::string& path) {
  std::vector<std::string> out;
  if (!node.IsSequence()) {
    v.error(node, path, "expected a list of collectors");
    return out;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    auto s = v.string(node[i], p);
    if (!s) continue;
    std::string name = s->substr(0, s->find(':'));
    const auto& known = known_collectors();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      v.error(node[i], p, "unknown collector '" + name + "' (known: " + list + ")");
      continue;
    }
    out.push_back(*s);
  }
  return out;
}

std::optional<Budget> parse_budget(Validator& v, const YAML::Node& node, const std::string& path) {
  if (!v.check_map(node, path, {"wall", "metrics", "fail"})) return std::nullopt;
  Budget b;
  if (node["wall"]) {
    if (auto d = v.duration(node["wall"], path + ".wall")) b.wall_ms = *d;
  }
  if (auto m = node["metrics"]) {
    if (!m.IsMap()) {
      v.error(m, path + ".metrics",
              "expected a mapping of metric names to bounds such as \">= 0.8\"");
    } else {
      for (auto it = m.begin(); it != m.end(); ++it) {
        const std::string name = it->first.Scalar();
        const std::string p = path + ".metrics." + name;
        auto expr = v.string(it->second, p);
        if (!expr || !v.string(it->first, p)) continue;
        auto bound = parse_metric_bound(name, *expr);
        if (!bound)
          v.error(
              it->second, p,
              "expected a comparison such as \">= 0.8\" or \"< 420\" (operators: >=, <=, >, <)");
        else
          b.metrics.push_back(*bound);
      }
    }
  }
  if (node["fail"]) {
    if (auto f = v.boolean(node["fail"], path + ".fail")) b.fail = *f;
  }
  return b;
}

// The pipeline's `budget: {wall: 7m}`: its wall time in ms (0 after an
// error). Only `wall`: metrics belong to a job or a step, and nothing is
// left to fail when the last job has ended.
uint64_t parse_pipeline_budget(Validator& v, const YAML::Node& node) {
  if (!v.check_map(node, "budget", {"wall"})) return 0;
  if (!node["wall"]) {
    v.error(node, "budget.wall", "missing key: a pipeline's budget is its wall time, e.g. 7m");
    return 0;
  }
  auto ms = v.duration(node["wall"], "budget.wall");
  if (ms && *ms == 0) {
    v.error(node["wall"], "budget.wall", "a pipeline's wall budget must be more than 0");
    return 0;
  }
  return ms.value_or(0);
}

// `notify: [{webhook: URL, on: [EVENT, ...]}]`. A webhook's URL usually
// holds its token, so no message here quotes more of it than
// mask_webhook_url() shows.
std::vector<Webhook> parse_notify(Validator& v, const YAML::Node& node, const std::string& path) {
  std::vector<Webhook> out;
  if (!node.IsSequence()) {
    v.error(node, path,
            "expected a list of webhooks, such as [{webhook: https://..., on: [failed]}]");
    return out;
  }
  std::string events_text;
  for (const auto& e : notify_events()) events_text += (events_text.empty() ? "" : ", ") + e;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const YAML::Node entry = node[i];
    if (entry.IsScalar()) {
      v.error(entry, p, "expected {webhook: URL, on: [EVENT, ...]}, not a bare value");
      continue;
    }
    if (!v.check_map(entry, p, {"webhook", "on"})) continue;
    Webhook hook;
    bool ok = true;
    if (auto url = entry["webhook"]) {
      auto s = v.string(url, p + ".webhook");
      ok = s.has_value();
      if (s) {
        std::string scheme = s->substr(0, s->find("://"));
        for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const bool has_scheme = s->find("://") != std::string::npos;
        const size_t host = has_scheme ? s->find("://") + 3 : 0;
        const bool has_host = has_scheme && host < s->size() && !std::strchr("/?#", (*s)[host]);
        const bool blank = std::any_of(s->begin(), s->end(), [](char c) {
          return std::isspace(static_cast<unsigned char>(c)) ||
                 std::iscntrl(static_cast<unsigned char>(c));
        });
        if (!has_scheme || (scheme != "http" && scheme != "https") || !has_host) {
          v.error(url, p + ".webhook",
                  "expected an http:// or https:// URL, not '" + mask_webhook_url(*s) + "'");
          ok = false;
        } else if (blank) {
          v.error(url, p + ".webhook",
                  "the URL holds a space or a control character (" + mask_webhook_url(*s) +
                      "); percent-encode it");
          ok = false;
        } else if (std::any_of(out.begin(), out.end(),
                               [&](const Webhook& w) { return w.url == *s; })) {
          v.error(url, p + ".webhook",
                  "webhook " + mask_webhook_url(*s) +
                      " is listed twice; give it one entry whose on: lists every event");
          ok = false;
        } else {
          hook.url = *s;
        }
      }
    } else {
      v.error(entry, p + ".webhook", "missing key: the URL to POST to");
      ok = false;
    }
    if (auto on = entry["on"]) {
      if (!on.IsSequence()) {
        v.error(on, p + ".on", "expected a list of events (" + events_text + ")");
        ok = false;
      } else if (on.size() == 0) {
        v.error(on, p + ".on",
                "an empty list would never call the webhook (omit on: for [failed, "
                "rolled_back])");
        ok = false;
      } else {
        for (size_t k = 0; k < on.size(); ++k) {
          const std::string op = p + ".on[" + std::to_string(k) + "]";
          auto e = v.string(on[k], op);
          if (!e) {
            ok = false;
          } else if (std::find(notify_events().begin(), notify_events().end(), *e) ==
                     notify_events().end()) {
            v.error(on[k], op, "unknown event '" + *e + "' (expected one of: " + events_text + ")");
            ok = false;
          } else if (std::find(hook.on.begin(), hook.on.end(), *e) != hook.on.end()) {
            v.error(on[k], op, "'" + *e + "' is listed twice");
            ok = false;
          } else {
            hook.on.push_back(*e);
          }
        }
        hook.on = in_event_order(hook.on);
      }
    } else {
      hook.on = default_notify_events();
    }
    if (ok) out.push_back(std::move(hook));
  }
  return out;
}

void parse_bench(Validator& v, const YAML::Node& node, const std::string& path, JobDef& job) {
  if (!v.check_map(node, path,
                   {"run", "setup", "prepare", "conclude", "cleanup", "warmup", "runs", "min_runs",
                    "max_runs", "max_time", "ignore_failure", "interleave", "collect", "alpha",
                    "noise_floor", "shell", "measure", "precision"}))
    return;
  BenchSpec b;
  for (auto [key, field] :
       {std::pair{"run", &b.run}, std::pair{"setup", &b.setup}, std::pair{"prepare", &b.prepare},
        std::pair{"conclude", &b.conclude}, std::pair{"cleanup", &b.cleanup}})
    if (node[key])
      if (auto s = v.string(node[key], path + "." + key)) *field = *s;
  const bool runs_auto = node["runs"] && node["runs"].IsScalar() && node["runs"].Scalar() == "auto";
  for (auto [key, field] : {std::pair{"warmup", &b.warmup}, std::pair{"runs", &b.runs},
                            std::pair{"min_runs", &b.min_runs}, std::pair{"max_runs", &b.max_runs}})
    if (node[key] && !(runs_auto && std::string(key) == "runs"))
      if (auto n = v.integer(node[key], path + "." + key, 0, 100000)) *field = *n;
  if (node["max_time"]) {
    if (auto d = v.duration(node["max_time"], path + ".max_time")) b.max_time_ms = *d;
  }
  if (node["ignore_failure"]) {
    if (auto f = v.boolean(node["ignore_failure"], path + ".ignore_failure")) b.ignore_failure = *f;
  }
  if (node["interleave"]) {
    if (auto f = v.boolean(node["interleave"], path + ".interleave")) b.interleave = *f;
  }
  if (node["shell"]) {
    if (auto s = v.string(node["shell"], path + ".shell")) {
      if (auto mode = parse_shell_mode(*s))
        b.shell = *mode;
      else
        v.error(node["shell"], path + ".shell", "expected auto, sh or none");
    }
  }
  if (node["collect"]) b.collect = parse_collect(v, node["collect"], path + ".collect");
  for (auto [key, field] : {std::pair{"alpha", &b.alpha}, std::pair{"noise_floor", &b.noise_floor}})
    if (auto n = node[key]) {
      double value = -1;
      if (!n.IsScalar() || !YAML::convert<double>::decode(n, value) || value < 0 || value >= 1)
        v.error(n, path + "." + key, "expected a number from 0 to 1");
      else
        *field = value;
    }
  if (auto n = node["measure"]) {
    if (auto s = v.string(n, path + ".measure")) {
      if (*s == "wall" || *s == "cpu" || *s == "instructions")
        b.measure = *s;
      else
        v.error(n, path + ".measure", "expected wall, cpu or instructions, not '" + *s + "'");
    }
  }
  if (auto n = node["precision"]) {
    // "1%" or 0.01: the half-width of the ratio's interval to reach.
    double value = -1;
    std::string s = n.IsScalar() ? n.Scalar() : "";
    const bool percent = !s.empty() && s.back() == '%';
    if (percent) s.pop_back();
    while (!s.empty() && s.back() == ' ') s.pop_back();
    char* end = nullptr;
    if (!s.empty()) value = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(value)) value = -1;
    if (percent) value /= 100;
    if (value <= 0 || value >= 0.5)
      v.error(n, path + ".precision", "expected a percentage above 0 and below 50 %, such as 1%");
    else if (!b.interleave)
      v.error(n, path + ".precision",
              "precision needs interleaved runs (interleave: true): it is the width of the "
              "paired interval of rounds");
    else if (node["runs"] && !runs_auto)
      v.error(n, path + ".precision",
              "precision sets the run count: write runs: auto, not a number");
    else if (!node["max_runs"] && !node["max_time"])
      v.error(n, path + ".precision",
              "precision needs a bound in case it is never reached: max_runs, max_time or both");
    else
      b.precision = value;
    // With a precision, max_time bounds the rounds only when given.
    if (b.precision > 0 && !node["max_time"]) b.max_time_ms = 0;
  }
  if (runs_auto && !node["precision"])
    v.error(node["runs"], path + ".runs", "runs: auto needs a precision, such as precision: 1%");
  if (b.max_runs && b.max_runs < b.min_runs && !b.runs)
    v.error(node["max_runs"], path + ".max_runs", "max_runs is below min_runs");
  if (node["runs"] && !runs_auto && b.runs == 0)
    v.error(node["runs"], path + ".runs", "runs must be at least 1");
  job.bench = b;
}

void parse_variants(Validator& v, const YAML::Node& node, const std::string& path, JobDef& job) {
  if (!node.IsSequence() || node.size() == 0) {
    v.error(node, path, "expected a list of variants, the first being the baseline");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (!v.check_map(node[i], p, {"name", "env", "run"})) continue;
    Variant var;
    if (node[i]["name"]) {
      if (auto s = v.string(node[i]["name"], p + ".name")) var.name = *s;
    } else {
      v.error(node[i], p + ".name", "missing key: every variant needs a name");
    }
    if (!var.name.empty() && !names.insert(var.name).second)
      v.error(node[i]["name"], p + ".name", "variant '" + var.name + "' appears twice");
    if (node[i]["env"]) var.env = v.env(node[i]["env"], p + ".env");
    if (node[i]["run"]) {
      if (auto s = v.string(node[i]["run"], p + ".run")) var.run = *s;
    }
    job.variants.push_back(std::move(var));
  }
}

void parse_step(Validator& v, const YAML::Node& node, const std::string& path, size_t index,
                JobDef& job) {
  StepSpec step;
  if (!v.check_map(node, path, {"name", "run", "env", "timed", "timeout", "collect", "budget"}))
    return;
  if (node["run"]) {
    if (auto s = v.string(node["run"], path + ".run")) step.run = *s;
    if (step.run.find_first_not_of(" \t\n") == std::string::npos)
      v.error(node["run"], path + ".run", "the command is empty");
  } else {
    v.error(node, path + ".run", "missing key: every step needs a command to run");
  }
  if (node["name"]) {
    if (auto s = v.string(node["name"], path + ".name")) step.name = *s;
  }
  if (step.name.empty()) {
    // Default name: the first line of the command, as CI systems show it.
    step.name = step.run.substr(0, step.run.find('\n'));
    if (step.name.size() > 60) step.name = step.name.substr(0, 60);
    if (step.name.empty()) step.name = "step " + std::to_string(index + 1);
  }
  if (node["env"]) step.env = v.env(node["env"], path + ".env");
  if (node["timed"]) {
    if (auto b = v.boolean(node["timed"], path + ".timed")) step.timed = *b;
  }
  if (node["timeout"]) {
    if (auto d = v.duration(node["timeout"], path + ".timeout")) step.timeout_ms = *d;
  }
  if (node["collect"]) step.collect = parse_collect(v, node["collect"], path + ".collect");
  if (node["budget"]) step.budget = parse_budget(v, node["budget"], path + ".budget");
  job.steps.push_back(std::move(step));
}

std::optional<std::string> parse_url(Validator& v, const YAML::Node& node,
                                     const std::string& path) {
  auto s = v.string(node, path);
  // "${SITE}/health": the agent fills it from the job's environment and
  // checks the result.
  if (s && !http_url(*s) && s->rfind("${", 0) != 0) {
    v.error(
        node, path,
        "expected an http:// or https:// URL (or one starting with ${NAME}), got \"" + *s + "\"");
    return std::nullopt;
  }
  return s;
}

std::optional<StatusRange> parse_expect(Validator& v, const YAML::Node& node,
                                        const std::string& path) {
  auto s = v.string(node, path);
  if (!s) return std::nullopt;
  std::string why;
  auto r = StatusRange::parse(*s, &why);
  if (!r) v.error(node, path, why);
  return r;
}

// A duration key of `node` into `field`, at least `min_ms`.
template <typename D>
void parse_duration_key(Validator& v, const YAML::Node& node, const std::string& path,
                        const char* key, D* field, uint64_t min_ms) {
  if (!node[key]) return;
  if (auto d = v.duration(node[key], path + "." + key)) {
    if (*d < min_ms)
      v.error(node[key], path + "." + key, "must be at least " + std::to_string(min_ms) + "ms");
    else
      *field = std::chrono::duration_cast<D>(std::chrono::milliseconds(*d));
  }
}

void parse_deploy(Validator& v, const YAML::Node& node, const std::string& path, JobDef& job) {
  if (!v.check_map(node, path, {"steps", "health", "probe", "version", "rollback"})) return;
  DeploySpec d;
  if (auto steps = node["steps"]; steps && steps.IsSequence() && steps.size() > 0) {
    JobDef holder;
    for (size_t i = 0; i < steps.size(); ++i)
      parse_step(v, steps[i], path + ".steps[" + std::to_string(i) + "]", i, holder);
    d.steps = std::move(holder.steps);
  } else {
    v.error(steps ? steps : node, path + ".steps",
            "a deploy needs a list of at least one step, such as [{name: release, run: ...}]");
  }
  if (auto h = node["health"]) {
    const std::string hp = path + ".health";
    if (v.check_map(h, hp,
                    {"url", "run", "expect", "interval", "timeout", "start_period",
                     "success_threshold", "failure_threshold", "deadline", "min_healthy"})) {
      HealthSpec hs;
      if (h["url"] && h["run"])
        v.error(h, hp, "either url (an HTTP check) or run (a command), not both");
      else if (!h["url"] && !h["run"])
        v.error(h, hp, "missing key: url (an HTTP check) or run (a command that exits 0)");
      if (h["url"])
        if (auto u = parse_url(v, h["url"], hp + ".url")) hs.url = *u;
      if (h["run"])
        if (auto r = v.string(h["run"], hp + ".run")) hs.run = *r;
      if (h["expect"])
        if (auto e = parse_expect(v, h["expect"], hp + ".expect")) hs.expect = *e;
      parse_duration_key(v, h, hp, "interval", &hs.interval, 10);
      parse_duration_key(v, h, hp, "timeout", &hs.timeout, 1);
      parse_duration_key(v, h, hp, "start_period", &hs.start_period, 0);
      parse_duration_key(v, h, hp, "deadline", &hs.deadline, 1);
      parse_duration_key(v, h, hp, "min_healthy", &hs.min_healthy, 0);
      for (auto [key, field] : {std::pair{"success_threshold", &hs.success_threshold},
                                std::pair{"failure_threshold", &hs.failure_threshold}})
        if (h[key])
          if (auto n = v.integer(h[key], hp + "." + key, 1, 1000)) *field = *n;
      d.health = hs;
    }
  }
  if (auto p = node["probe"]) {
    const std::string pp = path + ".probe";
    if (v.check_map(p, pp, {"url", "interval", "expect", "timeout", "host_lock"})) {
      ProbeSpec ps;
      if (p["url"]) {
        if (auto u = parse_url(v, p["url"], pp + ".url")) ps.url = *u;
      } else {
        v.error(p, pp + ".url", "missing key: the probe needs the URL it requests");
      }
      if (p["expect"])
        if (auto e = parse_expect(v, p["expect"], pp + ".expect")) ps.expect = *e;
      parse_duration_key(v, p, pp, "interval", &ps.interval, 1);
      parse_duration_key(v, p, pp, "timeout", &ps.timeout, 1);
      if (p["host_lock"])
        if (auto b = v.boolean(p["host_lock"], pp + ".host_lock")) ps.host_lock = *b;
      d.probe = ps;
    }
  }
  if (auto ver = node["version"]) {
    const std::string vp = path + ".version";
    if (v.check_map(ver, vp, {"url", "expect"})) {
      VersionSpec vs;
      if (ver["url"]) {
        if (auto u = parse_url(v, ver["url"], vp + ".url")) vs.url = *u;
      } else {
        v.error(ver, vp + ".url", "missing key: the URL that reports the version");
      }
      if (ver["expect"]) {
        if (auto e = v.string(ver["expect"], vp + ".expect")) vs.expect = *e;
      } else {
        vs.expect = "${YARDSTICK_REVISION}";
      }
      if (!d.health)
        v.error(ver, vp, "the version is checked with the health checks: add a health: key");
      d.version = vs;
    }
  }
  if (auto r = node["rollback"]) {
    const std::string rp = path + ".rollback";
    if (v.check_map(r, rp, {"run", "on", "max_failed_requests", "timeout"})) {
      RollbackSpec rs;
      if (r["run"]) {
        if (auto s = v.string(r["run"], rp + ".run")) rs.run = *s;
      } else {
        v.error(r, rp + ".run", "missing key: the command that rolls back");
      }
      if (auto on = r["on"]) {
        rs.on.clear();
        if (!on.IsSequence()) {
          v.error(on, rp + ".on",
                  "expected a list of: step_failed, health_deadline, probe_failures");
        } else {
          for (size_t i = 0; i < on.size(); ++i) {
            const std::string op = rp + ".on[" + std::to_string(i) + "]";
            auto s = v.string(on[i], op);
            if (!s) continue;
            if (*s != kStepFailed && *s != kHealthDeadline && *s != kProbeFailures)
              v.error(on[i], op,
                      "unknown reason '" + *s +
                          "' (expected step_failed, health_deadline or probe_failures)");
            else if (*s == kHealthDeadline && !d.health)
              v.error(on[i], op, "health_deadline needs a health: key");
            else if (*s == kProbeFailures && !d.probe)
              v.error(on[i], op, "probe_failures needs a probe: key");
            else
              rs.on.push_back(*s);
          }
        }
      } else {
        // The default: every reason the deploy can fail for.
        rs.on = {kStepFailed};
        if (d.health) rs.on.push_back(kHealthDeadline);
        if (d.probe) rs.on.push_back(kProbeFailures);
      }
      if (r["max_failed_requests"])
        if (auto n =
                v.integer(r["max_failed_requests"], rp + ".max_failed_requests", 0, 1'000'000'000))
          rs.max_failed_requests = *n;
      parse_duration_key(v, r, rp, "timeout", &rs.timeout, 1);
      d.rollback = rs;
    }
  }
  job.deploy = std::move(d);
}

void parse_on(Validator& v, const YAML::Node& node, const std::string& path, JobDef& job) {
  if (!v.check_map(node, path, {"labels", "machines"})) return;
  if (auto labels = node["labels"]) {
    const std::string lpath = path + ".labels";
    if (labels.IsSequence()) {
      for (size_t i = 0; i < labels.size(); ++i) {
        if (auto s = v.string(labels[i], lpath + "[" + std::to_string(i) + "]")) {
          if (s->empty()) {
            v.error(labels[i], lpath, "empty label");
            continue;
          }
          for (auto& l : parse_labels(*s)) {
            const size_t eq = l.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == l.size()) {
              // Agents' labels are key=value: this one could never match.
              const size_t sep = l.find_first_of(":, ");
              v.error(
                  labels[i], lpath + "[" + std::to_string(i) + "]",
                  "label '" + l + "' is not key=value, so no agent can have it" +
                      (eq == std::string::npos && sep != std::string::npos && sep > 0
                           ? " (did you mean '" + l.substr(0, sep) + "=" + l.substr(sep + 1) + "'?)"
                           : ""));
              continue;
            }
            job.on_labels.insert(l);
          }
        }
      }
    } else if (labels.IsMap()) {
      for (auto it = labels.begin(); it != labels.end(); ++it) {
        auto key = v.string(it->first, lpath);
        if (auto s = v.string(it->second, lpath + "." + it->first.Scalar()); s && key)
          job.on_labels.insert(*key + "=" + *s);
      }
    } else {
      v.error(labels, lpath, "expected a list of key=value labels or a mapping");
    }
  }
  if (auto machines = node["machines"]) {
    auto s = v.string(machines, path + ".machines");
    if (s && *s == "all")
      job.all_machines = true;
    else if (s && *s == "any")
      job.all_machines = false;
    else if (s)
      v.error(machines, path + ".machines", "expected 'all' (one job per machine) or 'any'");
  }
}

// `needs`: a job name, or a list of job names and {job: NAME, no_regression: true}.
void parse_needs(Validator& v, const YAML::Node& needs, const std::string& path, JobDef& job) {
  if (needs.IsScalar()) {
    if (auto s = v.string(needs, path)) job.needs.push_back(*s);
    return;
  }
  if (!needs.IsSequence()) {
    v.error(needs, path,
            "expected a job name or a list of job names and {job: NAME, no_regression: true}");
    return;
  }
  for (size_t i = 0; i < needs.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const YAML::Node& n = needs[i];
    std::optional<std::string> name;
    bool no_regression = false;
    if (n.IsMap()) {
      if (!v.check_map(n, p, {"job", "no_regression"})) continue;
      if (!n["job"]) {
        v.error(n, p + ".job", "missing key: the name of the job needed");
        continue;
      }
      name = v.string(n["job"], p + ".job");
      if (n["no_regression"]) {
        auto b = v.boolean(n["no_regression"], p + ".no_regression");
        if (!b) continue;
        no_regression = *b;
      }
    } else {
      name = v.string(n, p);
    }
    if (!name) continue;
    if (std::find(job.needs.begin(), job.needs.end(), *name) != job.needs.end()) {
      v.error(n, p, "'" + *name + "' is listed twice");
      continue;
    }
    job.needs.push_back(*name);
    if (no_regression) job.no_regression_needs.push_back(*name);
  }
}

std::string parse_concurrency(Validator& v, const YAML::Node& node, const std::string& path) {
  auto s = v.string(node, path);
  if (!s) return "";
  if (!valid_name(*s)) {
    v.error(node, path,
            "a concurrency group is a name of 1 to 100 letters, digits, '-', '_' and '.'");
    return "";
  }
  return *s;
}

void parse_job(Validator& v, const std::string& name, const YAML::Node& key_node,
               const YAML::Node& node, PipelineDef& pipeline) {
  const std::string path = "jobs." + name;
  JobDef job;
  job.name = name;
  job.line = key_node.Mark().line + 1;
  if (!valid_name(name))
    v.error(key_node, path, "job names use letters, digits, '-', '_' and '.' only");
  if (!v.check_map(node, path,
                   {"kind", "on", "needs", "steps", "timeout", "retries", "priority", "workdir",
                    "env", "secrets", "bench", "variants", "exclusive", "budget", "deploy",
                    "concurrency", "notify", "bisect"}))
    return;
  if (node["kind"]) {
    if (auto s = v.string(node["kind"], path + ".kind")) {
      const auto kind = parse_job_kind(*s);
      if (kind && *kind != JobKind::kCalibrate)
        job.kind = *kind;
      else
        v.error(node["kind"], path + ".kind",
                "unknown job kind '" + *s + "' (this version runs: build, bench, deploy)");
    }
  }
  if (node["on"]) parse_on(v, node["on"], path + ".on", job);
  if (auto needs = node["needs"]) parse_needs(v, needs, path + ".needs", job);
  const bool bench = job.kind == JobKind::kBench;
  const bool deploy = job.kind == JobKind::kDeploy;
  if (deploy) {
    if (node["deploy"])
      parse_deploy(v, node["deploy"], path + ".deploy", job);
    else
      v.error(key_node, path + ".deploy",
              "missing key: a deploy job needs deploy: {steps: [...], health: ..., probe: ...}");
    if (node["steps"])
      v.error(node["steps"], path + ".steps", "a deploy job's steps go under deploy.steps");
  } else if (node["deploy"]) {
    v.error(node["deploy"], path + ".deploy", "only a job of kind: deploy has deploy");
  }
  if (bench) {
    if (node["bench"])
      parse_bench(v, node["bench"], path + ".bench", job);
    else
      v.error(key_node, path + ".bench", "missing key: a bench job needs a bench: {run: ...}");
    if (node["variants"]) parse_variants(v, node["variants"], path + ".variants", job);
    if (job.variants.empty()) job.variants.push_back({"default", {}, ""});
    if (job.bench && job.bench->precision > 0 && job.variants.size() < 2)
      v.error(node["bench"]["precision"], path + ".bench.precision",
              "precision is the width of each variant's ratio to the baseline: it needs at least "
              "two variants");
    if (job.bench && job.bench->run.empty()) {
      // One error naming every variant without a command of its own.
      std::string without;
      size_t count = 0;
      for (const auto& variant : job.variants)
        if (variant.run.empty()) {
          without += (without.empty() ? "'" : ", '") + variant.name + "'";
          ++count;
        }
      if (count)
        v.error(node["bench"], path + ".bench.run",
                "missing key: " + std::string(count == 1 ? "variant " : "variants ") + without +
                    (count == 1 ? " has no run of its own" : " have no run of their own") +
                    ", so the bench needs one");
    }
    if (job.bench && job.bench->shell == ShellMode::kNone)
      for (size_t i = 0; i < job.variants.size(); ++i) {
        const bool own = !job.variants[i].run.empty();
        const std::string& cmd = own ? job.variants[i].run : job.bench->run;
        std::string why;
        if (!cmd.empty() && !split_plain_command(cmd, &why))
          v.error(own ? node["variants"][i]["run"] : node["bench"]["run"],
                  own ? path + ".variants[" + std::to_string(i) + "].run" : path + ".bench.run",
                  "shell: none runs the command without a shell, but it uses " + why +
                      "; use shell: sh");
      }
    job.exclusive = true;
  } else {
    for (const char* key : {"bench", "variants"})
      if (node[key])
        v.error(node[key], path + "." + key, "only a job of kind: bench has " + std::string(key));
  }
  if (node["exclusive"]) {
    if (auto b = v.boolean(node["exclusive"], path + ".exclusive")) job.exclusive = *b;
  }
  if (node["bisect"]) {
    if (auto s = v.string(node["bisect"], path + ".bisect")) {
      if (*s == "auto")
        job.bisect_auto = true;
      else if (*s != "off")
        v.error(node["bisect"], path + ".bisect",
                "expected 'auto' (bisect each new regression to its commit) or 'off'");
    }
  }
  if (node["budget"]) job.budget = parse_budget(v, node["budget"], path + ".budget");
  if (auto steps = node["steps"]) {
    if (!steps.IsSequence()) {
      v.error(steps, path + ".steps", "expected a list of steps");
    } else if (steps.size() == 0) {
      v.error(steps, path + ".steps", "a job needs at least one step");
    } else {
      for (size_t i = 0; i < steps.size(); ++i)
        parse_step(v, steps[i], path + ".steps[" + std::to_string(i) + "]", i, job);
    }
  } else if (!bench && !deploy) {
    v.error(key_node, path + ".steps", "missing key: a job needs at least one step");
  }
  if (node["timeout"]) {
    if (auto d = v.duration(node["timeout"], path + ".timeout")) job.timeout_ms = *d;
  }
  if (node["retries"]) {
    if (auto n = v.integer(node["retries"], path + ".retries", 0, 100)) job.retries = *n;
  }
  if (node["priority"]) {
    if (auto n = v.integer(node["priority"], path + ".priority", -1000, 1000)) job.priority = *n;
  }
  if (node["workdir"]) {
    if (auto s = v.string(node["workdir"], path + ".workdir")) {
      job.workdir = *s;
      // Absolute workdirs are for each agent to allow (--allow-absolute-workdir).
      if (auto problem = workdir_problem(*s, true); !problem.empty())
        v.error(node["workdir"], path + ".workdir", problem);
    }
  }
  if (node["env"]) job.env = v.env(node["env"], path + ".env");
  if (node["secrets"]) job.secrets = v.secrets(node["secrets"], path + ".secrets");
  if (node["concurrency"])
    job.concurrency = parse_concurrency(v, node["concurrency"], path + ".concurrency");
  if (node["notify"]) job.notify = parse_notify(v, node["notify"], path + ".notify");
  pipeline.jobs.push_back(std::move(job));
}

void check_graph(Validator& v, const YAML::Node& jobs_node, PipelineDef& pipeline) {
  std::map<std::string, const JobDef*> by_name;
  for (const auto& j : pipeline.jobs) by_name[j.name] = &j;
  for (const auto& j : pipeline.jobs) {
    for (size_t i = 0; i < j.needs.size(); ++i) {
      if (!by_name.count(j.needs[i]))
        v.error(jobs_node[j.name]["needs"], "jobs." + j.name + ".needs",
                "unknown job '" + j.needs[i] + "'");
      else if (j.needs[i] == j.name)
        v.error(jobs_node[j.name]["needs"], "jobs." + j.name + ".needs",
                "a job cannot need itself");
      else if (needs_no_regression(j, j.needs[i]) && by_name[j.needs[i]]->kind != JobKind::kBench)
        v.error(jobs_node[j.name]["needs"][i],
                "jobs." + j.name + ".needs[" + std::to_string(i) + "].no_regression",
                "no_regression needs a job of kind: bench, and '" + j.needs[i] + "' is of kind " +
                    std::string(to_string(by_name[j.needs[i]]->kind)));
    }
  }
  // Depth-first search for a cycle; report it once, naming its members.
  enum Mark { kNew, kActive, kDone };
  std::map<std::string, Mark> mark;
  std::vector<std::string> stack;
  bool reported = false;
  std::function<void(const JobDef&)> visit = [&](const JobDef& j) {
    mark[j.name] = kActive;
    stack.push_back(j.name);
    for (const auto& n : j.needs) {
      auto it = by_name.find(n);
      if (it == by_name.end() || n == j.name) continue;
      if (mark[n] == kActive && !reported) {
        std::string cycle;
        auto from = std::find(stack.begin(), stack.end(), n);
        for (auto s = from; s != stack.end(); ++s) cycle += *s + " -> ";
        cycle += n;
        v.error(jobs_node[j.name]["needs"], "jobs." + j.name + ".needs",
                "the needs form a cycle: " + cycle);
        reported = true;
      } else if (mark[n] == kNew) {
        visit(*it->second);
      }
    }
    stack.pop_back();
    mark[j.name] = kDone;
  };
  for (const auto& j : pipeline.jobs)
    if (mark[j.name] == kNew) visit(j);
}

// A bench whose fixed run count (or max_runs) no test can decide at its
// alpha, when its runs are compared: its variants with the baseline, or its
// revision with the previous one through a no_regression gate. Warned at
// submit, before the runs are paid for; the pipeline is still valid.
void check_decidable(Validator& v, const YAML::Node& jobs_node, const PipelineDef& pipeline) {
  for (const auto& job : pipeline.jobs) {
    if (job.kind != JobKind::kBench || !job.bench) continue;
    bool gated = false;
    for (const auto& other : pipeline.jobs) gated |= needs_no_regression(other, job.name);
    if (job.variants.size() < 2 && !gated) continue;
    const BenchSpec& b = *job.bench;
    const char* key = b.runs ? "runs" : "max_runs";
    const uint32_t runs = b.runs ? b.runs : b.max_runs;
    if (runs == 0 || can_decide(runs, runs, b.alpha)) continue;
    const size_t enough = runs_to_decide(b.alpha);
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "%s %u: no test can tell %s apart with %u run%s each at alpha %g (the smallest "
                  "possible p-value is %.3g), so the verdict will be \"no change\" whatever the "
                  "times; %s",
                  key, runs, job.variants.size() >= 2 ? "its variants" : "two revisions", runs,
                  runs == 1 ? "" : "s", b.alpha, smallest_p_value(runs, runs),
                  enough ? ("give it at least " + std::to_string(enough) + " runs").c_str()
                         : "no run count can at this alpha");
    v.warning(jobs_node[job.name]["bench"][key], "jobs." + job.name + ".bench." + key, buf);
  }
}

}  // namespace

PipelineParseResult parse_pipeline(std::string_view yaml_text, const std::string& file_name) {
  PipelineParseResult result;
  Validator v(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    result.errors.push_back(
        {file_name, e.mark.line + 1, e.mark.column + 1, "", "invalid YAML: " + e.msg});
    return result;
  }
  if (!root.IsDefined() || root.IsNull()) {
    result.errors.push_back({file_name, 0, 0, "", "the file is empty"});
    return result;
  }
  PipelineDef pipeline;
  // A shape the checks did not foresee makes yaml-cpp throw (a subscript of
  // a scalar, say): an error for the file, never an exception out of here.
  try {
    v.check_duplicate_keys(root, "");
    if (v.check_map(root, "",
                    {"pipeline", "env", "secrets", "checkout", "concurrency", "jobs", "notify",
                     "budget"})) {
      if (root["pipeline"]) {
        if (auto s = v.string(root["pipeline"], "pipeline")) {
          pipeline.name = *s;
          if (!valid_name(pipeline.name))
            v.error(root["pipeline"], "pipeline",
                    "pipeline names use letters, digits, '-', '_' and '.' only");
        }
      } else {
        v.error(root, "pipeline", "missing key: the pipeline needs a name");
      }
      if (root["env"]) pipeline.env = v.env(root["env"], "env");
      if (root["secrets"]) pipeline.secrets = v.secrets(root["secrets"], "secrets");
      if (root["concurrency"])
        pipeline.concurrency = parse_concurrency(v, root["concurrency"], "concurrency");
      if (root["notify"]) pipeline.notify = parse_notify(v, root["notify"], "notify");
      if (root["budget"]) pipeline.budget_wall_ms = parse_pipeline_budget(v, root["budget"]);
      if (auto checkout = root["checkout"]) {
        if (v.check_map(checkout, "checkout", {"repo"})) {
          if (checkout["repo"]) {
            if (auto s = v.string(checkout["repo"], "checkout.repo")) {
              // The URL is stored and shown: a password or token in it would be too.
              if (url_has_credentials(*s))
                v.error(checkout["repo"], "checkout.repo",
                        "the URL carries credentials (" + mask_url_credentials(*s) +
                            "); they would be stored and shown. Give the agents access instead: "
                            "a git credential helper, an SSH key, or `secrets:` read by "
                            "GIT_ASKPASS (see docs/pipelines.md)");
              else if (auto problem = repository_problem(*s); !problem.empty())
                v.error(checkout["repo"], "checkout.repo", problem);
              else if (is_relative_local_path(*s))
                v.error(checkout["repo"], "checkout.repo",
                        "'" + *s +
                            "' is a path relative to where you are, which no agent can "
                            "follow: give a URL the agents can fetch, or an absolute path of a "
                            "repository on their hosts (such as the output of `git rev-parse "
                            "--show-toplevel`)");
              else
                pipeline.checkout_repo = *s;
            }
          } else {
            v.error(checkout, "checkout.repo", "missing key");
          }
        }
      }
      auto jobs = root["jobs"];
      if (!jobs) {
        v.error(root, "jobs", "missing key: the pipeline needs at least one job");
      } else if (!jobs.IsMap() || jobs.size() == 0) {
        v.error(jobs, "jobs", "expected a mapping of job names to jobs");
      } else {
        // YAML lets a key appear twice; jobs["a"] would then find the first.
        std::set<std::string> seen;
        for (auto it = jobs.begin(); it != jobs.end(); ++it) {
          if (!seen.insert(it->first.Scalar()).second) {
            v.error(it->first, "jobs." + it->first.Scalar(),
                    "job '" + it->first.Scalar() + "' is defined twice");
            continue;
          }
          parse_job(v, it->first.Scalar(), it->first, it->second, pipeline);
        }
        check_graph(v, jobs, pipeline);
        if (v.errors.empty()) check_decidable(v, jobs, pipeline);
        for (auto& job : pipeline.jobs)
          if (job.concurrency.empty()) job.concurrency = pipeline.concurrency;
      }
    }
  } catch (const YAML::Exception& e) {
    v.error(root, "", "unexpected structure: " + e.msg);
  }
  result.errors = std::move(v.errors);
  result.warnings = std::move(v.warnings);
  if (result.errors.empty()) result.pipeline = std::move(pipeline);
  return result;
}

JobAssignment assignment_for(const PipelineDef& def, const JobDef& job, const std::string& revision,
                             const std::string& branch) {
  JobAssignment spec;
  spec.pipeline_name = def.name;
  spec.job_name = job.name;
  spec.kind = job.kind;
  spec.revision = revision;
  spec.branch = branch;
  spec.checkout_repo = def.checkout_repo;
  spec.workdir = job.workdir;
  spec.env = def.env;
  for (const auto& [k, v] : job.env) spec.env[k] = v;
  spec.steps = job.steps;
  spec.timeout_ms = job.timeout_ms;
  spec.slots = job.exclusive ? kExclusiveSlots : 1;
  spec.bench = job.bench;
  spec.deploy = job.deploy;
  spec.variants = job.variants;
  spec.budget = job.budget;
  spec.secrets = def.secrets;
  for (const auto& name : job.secrets)
    if (std::find(spec.secrets.begin(), spec.secrets.end(), name) == spec.secrets.end())
      spec.secrets.push_back(name);
  return spec;
}

}  // namespace yardstick
