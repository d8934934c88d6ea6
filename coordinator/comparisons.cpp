#include "coordinator/comparisons.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/numbers.hpp"
#include "common/stats.hpp"
#include "coordinator/evaluate.hpp"

namespace yardstick {

namespace {

// One output row, column by column, with each cell's kind and nullness.
class RowWriter {
 public:
  explicit RowWriter(ReportTable* t) : t_(t) {}
  void text(const std::string& column, const std::string& value, bool null = false) {
    put(column, "text", null ? "" : value, null);
  }
  // At full precision, as PostgreSQL writes a float8 (an interval no test
  // could bound is "Infinity"): the CLI rounds for people.
  void number(const std::string& column, double value, bool null = false) {
    put(column, "number", null ? "" : exact_number(value), null);
  }
  void list(const std::string& column, const std::vector<std::string>& items) {
    put(column, "json", nlohmann::json(items).dump(), false);
  }
  void integer(const std::string& column, long long value, bool null = false) {
    put(column, "integer", null ? "" : std::to_string(value), null);
  }
  void end_row() {
    t_->rows.push_back(std::move(row_));
    t_->nulls.push_back(std::move(nulls_));
    row_.clear();
    nulls_.clear();
    first_done_ = true;
  }

 private:
  void put(const std::string& column, const char* kind, const std::string& value, bool null) {
    if (!first_done_) {
      t_->columns.push_back(column);
      t_->kinds.push_back(kind);
    }
    row_.push_back(value);
    nulls_.push_back(null);
  }
  ReportTable* t_;
  std::vector<std::string> row_;
  std::vector<bool> nulls_;
  bool first_done_ = false;
};

size_t column(const ReportTable& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i] == name) return i;
  throw std::logic_error("report without column " + name);
}

bool truthy(const std::string& v) {
  return !v.empty() && v != "0" && v != "false" && v != "f";
}

std::string number_var(const std::map<std::string, std::string>& vars, const std::string& name,
                       double fallback, double* out) {
  auto it = vars.find(name);
  if (it == vars.end()) {
    *out = fallback;
    return "";
  }
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || !(v >= 0 && v < 1))
    return "variable '" + name + "' must be a number from 0 to 1, not '" + it->second + "'";
  *out = v;
  return "";
}

std::string check_vars(const std::map<std::string, std::string>& vars,
                       const std::vector<std::string>& known,
                       const std::vector<std::string>& required) {
  for (const auto& r : required)
    if (!vars.count(r)) return "the report needs the variable '" + r + "' (-v " + r + "=...)";
  for (const auto& [k, v] : vars) {
    bool ok = false;
    for (const auto& n : known) ok |= n == k;
    if (!ok) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      return "the report has no variable '" + k + "' (its variables: " + list + ")";
    }
  }
  if (auto it = vars.find("measure"); it != vars.end() && !it->second.empty() &&
                                      it->second != "wall" && it->second != "cpu" &&
                                      it->second != "instructions")
    return "variable 'measure' must be wall, cpu or instructions, not '" + it->second + "'";
  return "";
}

RunValues run_of(const ReportTable& t, const std::vector<std::string>& row,
                 const std::vector<bool>& nulls) {
  RunValues r;
  r.wall_s = std::strtod(row[column(t, "wall_s")].c_str(), nullptr);
  r.cpu_s = std::strtod(row[column(t, "cpu_s")].c_str(), nullptr);
  const size_t ins = column(t, "instructions");
  if (!nulls[ins]) r.instructions = std::strtod(row[ins].c_str(), nullptr);
  r.contended = truthy(row[column(t, "contended")]);
  return r;
}

void comparison_cells(RowWriter& w, const std::optional<Comparison>& c) {
  const bool has = c.has_value();
  w.number("ratio", has ? c->ratio : 0, !has);
  w.number("ci_low", has ? c->ci_low : 0, !has);
  w.number("ci_high", has ? c->ci_high : 0, !has);
  w.number("p_value", has ? c->p : 0, !has);
}

void detectable_cells(RowWriter& w, const std::optional<Comparison>& c) {
  const bool mde = c && c->detectable.mde, runs = c && c->detectable.runs_for_2pct;
  w.number("mde_pct", mde ? 100 * *c->detectable.mde : 0, !mde);
  w.integer("runs_for_2pct", runs ? *c->detectable.runs_for_2pct : 0, !runs);
}

std::string revisions(const std::map<std::string, std::string>& vars, const ReportQuery& query,
                      ReportTable* out) {
  if (auto e = check_vars(vars,
                          {"job", "rev_a", "rev_b", "pipeline_name", "alpha", "noise_floor",
                           "measure", "drop_contended"},
                          {"job", "rev_a", "rev_b"});
      !e.empty())
    return e;
  double alpha = 0.05, noise_floor = 0.01;
  if (auto e = number_var(vars, "alpha", 0.05, &alpha); !e.empty()) return e;
  if (auto e = number_var(vars, "noise_floor", 0.01, &noise_floor); !e.empty()) return e;
  const std::string measure =
      vars.count("measure") && !vars.at("measure").empty() ? vars.at("measure") : "wall";
  const bool drop = vars.count("drop_contended") && truthy(vars.at("drop_contended"));
  std::map<std::string, std::string> scope = {
      {"job", vars.at("job")}, {"rev_a", vars.at("rev_a")}, {"rev_b", vars.at("rev_b")}};
  if (vars.count("pipeline_name")) scope["pipeline_name"] = vars.at("pipeline_name");
  const ReportTable t = query("revision_samples", scope);
  compare_revision_samples(t, measure, alpha, noise_floor, drop, out);
  return "";
}

}  // namespace

void compare_revision_samples(const ReportTable& t, const std::string& measure, double alpha,
                              double noise_floor, bool drop, ReportTable* out) {
  // (machine, benchmark) in the query's order, each with its two sides.
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::vector<VariantRuns>> groups;
  const size_t mc = column(t, "machine"), bc = column(t, "benchmark"), sc = column(t, "side");
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    auto key = std::make_pair(row[mc], row[bc]);
    auto [it, fresh] = groups.try_emplace(key, std::vector<VariantRuns>(2));
    if (fresh) order.push_back(key);
    it->second[row[sc] == "a" ? 0 : 1].runs.push_back(run_of(t, row, t.nulls[i]));
  }
  RowWriter w(out);
  for (const auto& key : order) {
    const auto& sides = groups[key];
    if (sides[0].runs.empty() || sides[1].runs.empty()) continue;
    size_t contended = 0;
    for (const auto& s : sides)
      for (const auto& r : s.runs) contended += r.contended;
    std::string why_not;
    auto values = measure_values(sides, measure, false, drop, &why_not);
    std::optional<Comparison> c;
    if (values && !(*values)[0].empty() && !(*values)[1].empty())
      c = compare((*values)[0], (*values)[1], alpha, noise_floor);
    else if (values)
      why_not = "every run of one side was contended: nothing left to compare";
    w.text("machine", key.first);
    w.text("benchmark", key.second);
    w.text("measure", measure);
    w.integer("n_a", values ? (*values)[0].size() : sides[0].runs.size());
    w.integer("n_b", values ? (*values)[1].size() : sides[1].runs.size());
    const bool med = values && c;
    w.number("median_a_s", med ? summarize((*values)[0]).median : 0, !med);
    w.number("median_b_s", med ? summarize((*values)[1]).median : 0, !med);
    comparison_cells(w, c);
    w.text("verdict", c ? to_string(c->verdict) : "", !c);
    detectable_cells(w, c);
    w.integer("contended", static_cast<long long>(contended));
    w.text("method", c ? c->method : "", !c);
    std::string detail = c ? verdict_phrase(c->verdict, c->detectable) : why_not;
    if (c && drop && contended)
      detail += "; without " + std::to_string(contended) + " contended sample(s)";
    w.text("detail", detail);
    w.end_row();
  }
}

namespace {

std::string variants(const std::map<std::string, std::string>& vars, const ReportQuery& query,
                     ReportTable* out) {
  if (auto e = check_vars(vars, {"pipeline", "measure", "drop_contended"}, {"pipeline"});
      !e.empty())
    return e;
  const std::string asked = vars.count("measure") ? vars.at("measure") : "";
  const ReportTable t = query("variant_samples", {{"pipeline", vars.at("pipeline")}});
  struct Job {
    std::string name, machine, measure;
    BenchSpec spec;
    std::vector<VariantRuns> runs;
  };
  std::vector<std::string> order;
  std::map<std::string, Job> jobs;
  const size_t jc = column(t, "job_id"), ac = column(t, "attempt"), vc = column(t, "variant_idx");
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    const std::string key = row[jc] + "." + row[ac];
    auto [it, fresh] = jobs.try_emplace(key);
    Job& job = it->second;
    if (fresh) {
      order.push_back(key);
      job.name = row[column(t, "job")];
      job.machine = row[column(t, "machine")];
      job.spec.alpha = std::strtod(row[column(t, "alpha")].c_str(), nullptr);
      job.spec.noise_floor = std::strtod(row[column(t, "noise_floor")].c_str(), nullptr);
      job.spec.interleave = truthy(row[column(t, "interleave")]);
      job.spec.measure = row[column(t, "measure")];
    }
    const size_t v = std::strtoul(row[vc].c_str(), nullptr, 10);
    if (job.runs.size() <= v) job.runs.resize(v + 1);
    job.runs[v].name = row[column(t, "variant")];
    job.runs[v].runs.push_back(run_of(t, row, t.nulls[i]));
  }
  RowWriter w(out);
  for (const auto& key : order) {
    const Job& job = jobs[key];
    std::string why_not;
    std::string measure = asked.empty() ? job.spec.measure : asked;
    auto values = measure_values(job.runs, measure, job.spec.interleave, true, &why_not);
    if (!values && asked.empty()) {  // its own measure cannot be judged: wall, as stored
      measure = "wall";
      values = measure_values(job.runs, measure, job.spec.interleave, true, &why_not);
    }
    if (!values) return why_not;
    std::vector<std::string> names;
    size_t contended = 0;
    for (const auto& v : job.runs) {
      names.push_back(v.name);
      for (const auto& r : v.runs) contended += r.contended;
    }
    auto results =
        evaluate_bench(names, *values, job.spec.alpha, job.spec.noise_floor, job.spec.interleave);
    const std::string recomputed =
        "recomputed from the samples without the " + std::to_string(contended) +
        " contended one(s)" + (job.spec.interleave && contended ? " (their whole rounds)" : "") +
        ": not the stored verdict";
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      const auto& s = r.summary;
      size_t mine = 0;
      for (const auto& run : job.runs[i].runs) mine += run.contended;
      w.text("job", job.name);
      w.text("machine", job.machine);
      w.text("variant", r.variant);
      w.integer("n", static_cast<long long>(s.n));
      const bool any = s.n > 0;
      w.number("median_s", s.median, !any);
      w.number("mean_s", s.mean, !any);
      w.number("stddev_s", s.stddev, !any);
      w.number("mad_s", s.mad, !any);
      w.number("min_s", s.min, !any);
      w.number("q1_s", s.q1, !any);
      w.number("q3_s", s.q3, !any);
      w.number("max_s", s.max, !any);
      comparison_cells(w, r.vs_baseline);
      w.text("verdict", r.vs_baseline ? to_string(r.vs_baseline->verdict) : "baseline");
      detectable_cells(w, r.vs_baseline);
      w.text("detail", r.vs_baseline
                           ? verdict_phrase(r.vs_baseline->verdict, r.vs_baseline->detectable)
                           : "baseline");
      w.integer("contended", static_cast<long long>(mine));
      w.text("method", r.vs_baseline ? r.vs_baseline->method : "", !r.vs_baseline);
      w.text("measure", measure);
      w.text("stop_reason", "", true);
      std::vector<std::string> warnings = {recomputed};
      warnings.insert(warnings.end(), r.warnings.begin(), r.warnings.end());
      w.list("warnings", warnings);
      w.end_row();
    }
  }
  return "";
}

}  // namespace

bool is_computed_report(const std::string& name, const std::map<std::string, std::string>& vars) {
  if (name == "compare_revisions") return true;
  if (name == "compare_variants") {
    auto it = vars.find("drop_contended");
    return it != vars.end() && truthy(it->second);
  }
  return false;
}

std::string run_computed_report(const std::string& name,
                                const std::map<std::string, std::string>& vars,
                                const ReportQuery& query, ReportTable* out) {
  if (name == "compare_revisions") return revisions(vars, query, out);
  if (name == "compare_variants") return variants(vars, query, out);
  return "no computed report named '" + name + "'";
}

}  // namespace yardstick
