#include "coordinator/web/pages.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/job_spec.hpp"
#include "common/numbers.hpp"
#include "common/stats.hpp"
#include "coordinator/comparisons.hpp"
#include "coordinator/reports.hpp"
#include "coordinator/store/pg_dashboard.hpp"
#include "coordinator/web/html.hpp"

namespace yardstick::web {

namespace sql = dashboard_sql;

namespace {

// A report's rows as an HTML table (id `id`, each row of class `row_class`),
// numbers as the CLI prints them for people: 4 significant digits, a
// column named *_s or *_ms in s, ms or µs (float4 700, float8 701,
// numeric 1700). CSV keeps every digit.
std::string report_table(const pqxx::result& r, const std::string& id,
                         const std::string& row_class) {
  std::string out = "<table id=\"" + id + "\"><tr>";
  std::vector<std::string> units;
  for (pqxx::row::size_type c = 0; c < r.columns(); ++c) {
    const std::string name = r.column_name(c);
    const auto oid = r.column_type(c);
    const bool number = oid == 700 || oid == 701 || oid == 1700;
    std::string unit = !number                                                    ? "-"
                       : name.size() > 2 && name.substr(name.size() - 2) == "_s"  ? "s"
                       : name.size() > 3 && name.substr(name.size() - 3) == "_ms" ? "ms"
                                                                                  : "";
    units.push_back(unit);
    out += "<th>" + esc(name) + "</th>";
  }
  out += "</tr>";
  for (const auto& row : r) {
    out += "<tr class=\"" + row_class + "\">";
    for (pqxx::row::size_type c = 0; c < row.size(); ++c) {
      const std::string v = row[c].is_null() ? "" : row[c].c_str();
      out += "<td>" + esc(units[c] == "-" ? v : human_cell(v, units[c])) + "</td>";
    }
    out += "</tr>";
  }
  return out + "</table>";
}

std::string param(const Params& p, const std::string& name, const std::string& fallback = "") {
  auto it = p.find(name);
  return it == p.end() ? fallback : it->second;
}

// A bounded integer parameter; HttpError 400 when it is not one.
int int_param(const Params& p, const std::string& name, int fallback, int lo, int hi) {
  const std::string v = param(p, name);
  if (v.empty()) return fallback;
  int out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < lo || out > hi)
    throw HttpError(400, name + " must be a whole number from " + std::to_string(lo) + " to " +
                             std::to_string(hi) + ", not '" + v.substr(0, 40) + "'");
  return out;
}

// A text parameter of at most `max` bytes.
std::string text_param(const Params& p, const std::string& name, size_t max = 200) {
  std::string v = param(p, name);
  if (v.size() > max)
    throw HttpError(400, name + " is longer than " + std::to_string(max) + " bytes");
  return v;
}

std::optional<double> od(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<double>();
}
std::string s(const pqxx::field& f) {
  return f.is_null() ? "" : f.c_str();
}

std::string td(const std::string& text, const std::string& cls = "") {
  return (cls.empty() ? "<td>" : "<td class=\"" + cls + "\">") + text + "</td>";
}
std::string th_row(std::initializer_list<const char*> names) {
  std::string out = "<tr>";
  for (const char* n : names) out += std::string("<th>") + n + "</th>";
  return out + "</tr>";
}
std::string link(const std::string& href, const std::string& text) {
  return "<a href=\"" + esc(href) + "\">" + esc(text) + "</a>";
}

std::string pipeline_state(const pqxx::row& r) {
  if (r["active"].as<int64_t>() > 0) return "running";
  if (r["failed"].as<int64_t>() > 0) return "failed";
  if (r["jobs"].as<int64_t>() == 0) return "empty";
  return "succeeded";
}

// Text of stored log bytes: valid UTF-8 kept, anything else replaced.
std::string log_text(const pqxx::field& f) {
  pqxx::binarystring b(f);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// The budget a job's spec sets on `step` (empty: the job's), in seconds.
std::optional<double> wall_budget_s(const JobAssignment& spec, const std::string& step) {
  if (step.empty()) {
    if (spec.budget && spec.budget->wall_ms) return spec.budget->wall_ms / 1000.0;
    return std::nullopt;
  }
  for (const auto& st : spec.steps)
    if (st.name == step && st.budget && st.budget->wall_ms) return st.budget->wall_ms / 1000.0;
  return std::nullopt;
}

std::string verdict_css(const std::string& v) {
  if (v == "faster") return "mark-ok";
  if (v == "slower") return "mark-bad";
  return "";
}

// The variants table and bars of one pipeline, grouped by job and machine.
std::string variants_section(const pqxx::result& rows, bool charts) {
  if (rows.empty()) return "<p>No benchmark in this pipeline.</p>";
  std::string out;
  std::string group;
  std::vector<Bar> bars;
  std::string table;
  double base = 0;
  bool has_base = false;
  auto flush = [&] {
    if (group.empty()) return;
    out += "<h2 class=\"compare-group\">" + esc(group) + "</h2>";
    if (charts) out += bar_chart(bars, "median seconds; whiskers: 95 % interval");
    out += "<table class=\"variants\">" +
           std::string(th_row({"variant", "runs", "median", "change", "95 % interval", "verdict",
                               "smallest change it could see", "contended runs", "warnings"})) +
           table + "</table>";
    bars.clear();
    table.clear();
  };
  for (const auto& r : rows) {
    const std::string g = s(r["job"]) + " on " + s(r["machine"]);
    if (g != group) {
      flush();
      group = g;
      has_base = false;
    }
    const bool is_base = r["variant_idx"].as<int>() == 0;
    const auto median = od(r["median_s"]);
    if (is_base && median) {
      base = *median;
      has_base = true;
    }
    const auto ratio = od(r["ratio"]), lo = od(r["ci_low"]), hi = od(r["ci_high"]);
    const std::string verdict = is_base ? "baseline" : s(r["verdict"]);
    Bar b;
    b.label = s(r["variant"]);
    b.value = median.value_or(0);
    if (!is_base && has_base && lo && hi) {
      b.low = base * *lo;
      b.high = base * *hi;
    }
    b.css = is_base               ? "base"
            : verdict == "faster" ? "faster"
            : verdict == "slower" ? "slower"
                                  : "same";
    b.title = s(r["variant"]) + ": " + duration(median) + " (" + verdict + ")";
    bars.push_back(b);
    const auto mde = od(r["mde"]);
    table +=
        "<tr class=\"variant-row\">" + td(esc(s(r["variant"]))) + td(esc(s(r["n"])), "n") +
        td(duration(median), "n") + td(is_base || !ratio ? "—" : change_pct(*ratio), "n") +
        td(is_base || !lo || !hi ? "—" : change_pct(*lo) + " … " + change_pct(*hi), "n") +
        td("<span class=\"verdict " + verdict_css(verdict) + "\">" + esc(verdict) + "</span>") +
        td(is_base ? "—"
           : mde   ? "±" + num(*mde * 100, 3) + " %"
                   : "none could be significant",
           "n") +
        td(esc(s(r["contended"])), "n") + td(esc(s(r["warnings"]))) + "</tr>";
  }
  flush();
  return out;
}

}  // namespace

int64_t parse_id(const std::string& text, const char* what) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0)
    throw HttpError(400, std::string(what) + " must be a positive whole number, not '" +
                             text.substr(0, 40) + "'");
  return v;
}

std::string error_page(int status, const std::string& message) {
  return page("Error " + std::to_string(status),
              "<div class=\"error\" id=\"error\">" + esc(message) + "</div>");
}

std::string home_page(pqxx::transaction_base& tx, const Params& params) {
  const std::string name = text_param(params, "name");
  const int limit = int_param(params, "limit", 50, 1, 500);
  auto rows = sql::recent_pipelines(tx, name, limit);
  std::string body =
      "<form method=\"get\" action=\"/\"><label>Pipeline name contains <input name=\"name\" "
      "value=\"" +
      esc(name) + "\"></label> <input type=\"submit\" value=\"Filter\"></form>";
  body += "<table id=\"pipelines\">" +
          std::string(th_row({"id", "pipeline", "revision", "submitter", "submitted (UTC)", "state",
                              "jobs", "duration", "machines", "budgets"}));
  for (const auto& r : rows) {
    const std::string id = s(r["id"]);
    const std::string state = pipeline_state(r);
    body += "<tr class=\"pipeline-row\">" + td(link("/pipelines/" + id, id)) +
            td(link("/?name=" + url_encode(s(r["name"])), s(r["name"]))) +
            td(esc(s(r["revision"]).substr(0, 12))) + td(esc(s(r["submitter"]))) +
            td(esc(s(r["submitted"]))) +
            td("<span class=\"state " + state_class(state == "running" ? "running" : state) +
               "\">" + state + "</span>") +
            td(esc(s(r["jobs"])), "n") +
            td(state == "running" ? "—" : duration(od(r["duration_s"])), "n") +
            td(esc(s(r["machines"]))) +
            td(r["over_budget"].as<bool>() ? "<span class=\"mark-bad over-budget\">✗ over "
                                             "budget</span>"
                                           : "") +
            "</tr>";
  }
  body += "</table>";
  if (rows.empty())
    body += std::string("<p>No pipeline") + (name.empty() ? "" : " named like that") + ".</p>";
  return page("Pipelines", body);
}

std::string pipeline_page(pqxx::transaction_base& tx, int64_t id) {
  auto p = sql::pipeline(tx, id);
  if (p.empty()) throw HttpError(404, "no pipeline " + std::to_string(id));
  const auto& pr = p[0];
  auto jobs = sql::pipeline_jobs(tx, id);
  auto steps = sql::pipeline_steps(tx, id);
  auto breaches = sql::pipeline_breaches(tx, id);
  auto variants = sql::pipeline_variants(tx, id);
  const std::string name = s(pr["name"]);
  std::string body = "<p>Revision <code>" + esc(s(pr["revision"])) + "</code>" +
                     (s(pr["branch"]).empty() ? "" : " on " + esc(s(pr["branch"]))) + ", by " +
                     esc(s(pr["submitter"])) + ", submitted " + esc(s(pr["submitted"])) + " UTC. " +
                     link("/compare/" + std::to_string(id), "Compare variants") + " · " +
                     link("/trends?pipeline=" + url_encode(name), "Trends of " + name) + "</p>";
  // Jobs and their steps.
  std::map<int64_t, std::string> step_cells;
  for (const auto& st : steps) {
    std::string& c = step_cells[st["job_id"].as<int64_t>()];
    const bool ok = !st["exit_code"].is_null() && st["exit_code"].as<int>() == 0;
    c += "<li><span class=\"" + std::string(ok ? "ok" : "bad") + "\">" + esc(s(st["name"])) +
         "</span> " + duration(od(st["wall_s"])) + "</li>";
  }
  // Rows by value: a row in a loop over a result is the iterator itself.
  std::multimap<int64_t, pqxx::row> breach_of;
  for (const auto& b : breaches) breach_of.emplace(b["job_id"].as<int64_t>(), pqxx::row(b));
  body += "<h2>Jobs</h2><table id=\"jobs\">" +
          std::string(th_row({"job", "kind", "state", "attempt", "machine", "agent", "duration",
                              "steps", "message"}));
  std::vector<Span> spans;
  const double origin = pr["submitted_s"].as<double>();
  for (const auto& j : jobs) {
    const std::string jid = s(j["id"]);
    const auto started = od(j["started_s"]), ended = od(j["ended_s"]);
    const std::string state = s(j["state"]);
    std::optional<double> dur;
    if (started && ended) dur = *ended - *started;
    body += "<tr class=\"job-row\">" + td(link("/jobs/" + jid, s(j["name"]) + " #" + jid)) +
            td(esc(s(j["kind"]))) +
            td("<span class=\"state " + state_class(state) + "\">" + esc(state) + "</span>") +
            td(esc(s(j["attempt"])), "n") + td(esc(s(j["machine"]))) + td(esc(s(j["agent"]))) +
            td(duration(dur), "n") + td("<ul>" + step_cells[j["id"].as<int64_t>()] + "</ul>") +
            td(esc(s(j["message"]))) + "</tr>";
    if (started) {
      Span sp;
      sp.row = s(j["machine"]).empty() ? "(no machine)" : s(j["machine"]);
      sp.start_s = *started;
      sp.end_s = ended.value_or(*started);
      sp.css = state_class(state);
      sp.title = s(j["name"]) + " #" + jid + ": " + state + ", " + duration(dur);
      sp.href = "/jobs/" + jid;
      spans.push_back(sp);
    }
  }
  body += "</table>";
  body += "<h2>Timeline of jobs per machine</h2>";
  body += spans.empty() ? "<p>No job has started.</p>" : timeline(spans, origin);

  // The before/after summary: the per-variant verdicts and every job
  // budget as ✓ or ✗ (breaches as stored).
  body +=
      "<section id=\"summary\" class=\"summary\"><h2>Before/after summary</h2>"
      "<p>Each variant against its baseline, per machine, with its verdict:</p>";
  body += variants_section(variants, false);
  body += "<h3>Budgets</h3><table id=\"budgets\">" +
          std::string(th_row({"job", "budget", "value", "met"}));
  bool any_budget = false;
  for (const auto& j : jobs) {
    const std::string state = s(j["state"]);
    const int64_t jid = j["id"].as<int64_t>();
    auto [lo, hi] = breach_of.equal_range(jid);
    for (auto it = lo; it != hi; ++it) {
      const pqxx::row& b = it->second;
      any_budget = true;
      body += "<tr class=\"budget-row\">" + td(esc(s(j["name"])) + " on " + esc(s(j["machine"]))) +
              td(esc(s(b["budget"]))) +
              td(b["actual"].is_null() ? "never reported" : esc(num(b["actual"].as<double>()))) +
              td("<span class=\"mark-bad\">✗</span>") + "</tr>";
    }
    if (lo == hi && state == "succeeded" && !j["over_budget"].as<bool>()) {
      // Met: only jobs with a budget in their spec are listed.
      auto spec_rows = sql::job_spec_text(tx, jid);
      if (spec_rows.empty()) continue;
      JobAssignment spec;
      try {
        spec = job_spec::from_json(spec_rows[0][0].as<std::string>());
      } catch (const std::exception&) {
        continue;
      }
      std::vector<std::string> budgets;
      if (spec.budget && spec.budget->wall_ms)
        budgets.push_back("wall <= " + num(spec.budget->wall_ms / 1000.0) + "s");
      for (const auto& st : spec.steps)
        if (st.budget && st.budget->wall_ms)
          budgets.push_back(st.name + " wall <= " + num(st.budget->wall_ms / 1000.0) + "s");
      for (const auto& b : budgets) {
        any_budget = true;
        body += "<tr class=\"budget-row\">" +
                td(esc(s(j["name"])) + " on " + esc(s(j["machine"]))) + td(esc(b)) + td("") +
                td("<span class=\"mark-ok\">✓</span>") + "</tr>";
      }
    }
  }
  body += "</table>";
  if (!any_budget) body += "<p>No job of this pipeline has a budget.</p>";
  // The whole table `yardstick summary ID` prints: timed steps, variants
  // and every budget (steps', variants', the pipeline's) with its value.
  {
    TranslatedReport t;
    std::string error;
    if (translate_report(reports().at("summary"), {{"pipeline", std::to_string(id)}}, &t, &error))
      body += "<h3>As <code>yardstick summary " + std::to_string(id) + "</code> prints it</h3>" +
              report_table(sql::run_report(tx, t.sql, t.params), "summary-table", "summary-row");
  }
  body += "</section>";
  return page("Pipeline " + name + " #" + std::to_string(id), body);
}

std::string job_page(pqxx::transaction_base& tx, int64_t id, const Params& params) {
  auto jr = sql::job(tx, id);
  if (jr.empty()) throw HttpError(404, "no job " + std::to_string(id));
  const auto& j = jr[0];
  const int last = j["attempt"].as<int>();
  const int attempt = int_param(params, "attempt", last, 1, last);
  const std::string pid = s(j["pipeline_id"]);
  std::string body = "<p>" +
                     link("/pipelines/" + pid, "Pipeline " + s(j["pipeline"]) + " #" + pid) +
                     ", revision <code>" + esc(s(j["revision"])) + "</code>; " + esc(s(j["kind"])) +
                     " job on " + esc(s(j["machine"])) + " (agent " + esc(s(j["agent"])) +
                     "). State: <span id=\"state\" class=\"state " + state_class(s(j["state"])) +
                     "\">" + esc(s(j["state"])) + "</span>. " + esc(s(j["message"])) + "</p>";
  if (last > 1) {
    body += "<p>Attempts:";
    for (int a = 1; a <= last; ++a)
      body += " " + (a == attempt
                         ? "<b>" + std::to_string(a) + "</b>"
                         : link("/jobs/" + std::to_string(id) + "?attempt=" + std::to_string(a),
                                std::to_string(a)));
    body += "</p>";
  }
  auto steps = sql::job_steps(tx, id);
  body += "<h2>Steps</h2><table id=\"steps\">" +
          std::string(th_row({"step", "command", "wall", "user", "sys", "max RSS", "exit"}));
  for (const auto& st : steps) {
    if (st["attempt"].as<int>() != attempt) continue;
    body += "<tr class=\"step-row\">" + td(esc(s(st["name"]))) +
            td("<code>" + esc(s(st["command"]).substr(0, 300)) + "</code>") +
            td(duration(od(st["wall_s"])), "n") + td(duration(od(st["user_s"])), "n") +
            td(duration(od(st["sys_s"])), "n") +
            td(st["max_rss_kb"].is_null() ? "—" : esc(s(st["max_rss_kb"])) + " KiB", "n") +
            td(esc(s(st["exit_code"])) + (st["timed_out"].as<bool>() ? " (timed out)" : ""), "n") +
            "</tr>";
  }
  body += "</table>";
  auto breaches = sql::job_breaches(tx, id, attempt);
  if (!breaches.empty()) {
    body += "<h2>Budgets breached</h2><table>" +
            std::string(th_row({"budget", "value", "fails the job"}));
    for (const auto& b : breaches)
      body += "<tr>" + td(esc(s(b["budget"]))) +
              td(b["actual"].is_null() ? "never reported" : esc(num(b["actual"].as<double>()))) +
              td(b["fails_job"].as<bool>() ? "yes" : "no") + "</tr>";
    body += "</table>";
  }
  // Collectors: cache hit rates, the slowest units, then every other metric.
  auto metrics = sql::job_metrics(tx, id, attempt);
  std::string caches, units, others;
  std::vector<std::pair<double, std::string>> slow;
  for (const auto& m : metrics) {
    const std::string name = s(m["name"]);
    const std::string row = "<tr>" + td(esc(name)) + td(esc(num(m["mean"].as<double>())), "n") +
                            td(esc(s(m["unit"]))) + td(esc(s(m["n"])), "n") + "</tr>";
    if (name.find("ccache") != std::string::npos || name.find("sccache") != std::string::npos)
      caches += row;
    else if (name.rfind("ninja.target.", 0) == 0 || name.rfind("cargo.crate.", 0) == 0)
      slow.emplace_back(m["max"].as<double>(), name);
    else
      others += row;
  }
  std::sort(slow.rbegin(), slow.rend());
  for (size_t i = 0; i < slow.size() && i < 15; ++i)
    units += "<tr>" + td(esc(slow[i].second)) + td(duration(slow[i].first), "n") + "</tr>";
  const std::string head = th_row({"metric", "value (mean)", "unit", "reports"});
  if (!caches.empty())
    body += "<h2>Cache hit rates</h2><table id=\"caches\">" + head + caches + "</table>";
  if (!units.empty())
    body += "<h2>Slowest targets and crates</h2><table id=\"slowest\">" +
            std::string(th_row({"unit", "time (longest run)"})) + units + "</table>";
  if (!others.empty())
    body += "<h2>Metrics</h2><table id=\"metrics\">" + head + others + "</table>";
  body += "<h2>Log</h2><pre class=\"log\" id=\"log\" data-job=\"" + std::to_string(id) +
          "\" data-attempt=\"" + std::to_string(attempt) + "\"></pre>";
  // Follows the log while the job runs: polls the JSON of what came after
  // the last sequence number shown; text is added as text, never as HTML.
  body += R"(<script>
(function () {
  var el = document.getElementById('log'), after = 0;
  var url = '/jobs/' + el.dataset.job + '/log.json?attempt=' + el.dataset.attempt + '&after=';
  function poll() {
    fetch(url + after, {credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (d) {
      d.chunks.forEach(function (c) {
        var span = document.createElement('span');
        span.className = c.stream;
        span.textContent = c.text;
        el.appendChild(span);
        after = c.seq;
      });
      var st = document.getElementById('state');
      st.textContent = d.state;
      if (d.more) poll();
      else if (!d.done) setTimeout(poll, 1000);
      else el.dataset.complete = 'true';
    }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
</script>)";
  return page("Job " + s(j["name"]) + " #" + std::to_string(id), body);
}

std::string job_log_json(pqxx::transaction_base& tx, int64_t id, const Params& params) {
  auto jr = sql::job(tx, id);
  if (jr.empty()) throw HttpError(404, "no job " + std::to_string(id));
  const int last = jr[0]["attempt"].as<int>();
  const int attempt = int_param(params, "attempt", last, 1, last);
  int64_t after = 0;
  if (const std::string a = param(params, "after"); !a.empty() && a != "0")
    after = parse_id(a, "after");
  const int kLimit = 2000;
  auto rows = sql::job_log(tx, id, attempt, after, kLimit, 1 << 20);
  nlohmann::json out;
  const std::string state = s(jr[0]["state"]);
  out["state"] = state;
  out["chunks"] = nlohmann::json::array();
  for (const auto& r : rows)
    out["chunks"].push_back({{"seq", r["seq"].as<int64_t>()},
                             {"stream", s(r["stream"])},
                             {"text", log_text(r["data"])}});
  // More may follow at once when this page was cut short.
  out["more"] = !rows.empty() &&
                (rows.size() >= static_cast<size_t>(kLimit) ||
                 sql::job_log(tx, id, attempt, rows.back()["seq"].as<int64_t>(), 1, 1).size() > 0);
  const bool terminal = state_class(state) != "run" || attempt < last;
  out["done"] = terminal && !out["more"].get<bool>();
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string compare_page(pqxx::transaction_base& tx, int64_t pipeline_id) {
  auto p = sql::pipeline(tx, pipeline_id);
  if (p.empty()) throw HttpError(404, "no pipeline " + std::to_string(pipeline_id));
  auto variants = sql::pipeline_variants(tx, pipeline_id);
  const std::string name = s(p[0]["name"]);
  std::string body = "<p>" +
                     link("/pipelines/" + std::to_string(pipeline_id),
                          "Pipeline " + name + " #" + std::to_string(pipeline_id)) +
                     ", revision <code>" + esc(s(p[0]["revision"])) +
                     "</code>. Bars: each variant's median; whiskers: the 95 % interval of its "
                     "ratio to the baseline, in seconds of the baseline.</p>";
  body += variants_section(variants, true);
  return page("Compare " + name + " #" + std::to_string(pipeline_id), body);
}

std::string trends_page(pqxx::transaction_base& tx, const Params& params) {
  const std::string name = text_param(params, "pipeline");
  const std::string job = text_param(params, "job");
  const std::string step = text_param(params, "step");
  const std::string metric = text_param(params, "metric");
  const int last = int_param(params, "last", 30, 2, 500);
  if (!step.empty() && !metric.empty()) throw HttpError(400, "give step or metric, not both");
  std::string body =
      "<form method=\"get\" action=\"/trends\"><label>Pipeline <select "
      "name=\"pipeline\">";
  for (const auto& r : sql::pipeline_names(tx))
    body += "<option" + std::string(s(r[0]) == name ? " selected" : "") + ">" + esc(s(r[0])) +
            "</option>";
  body += "</select></label> <label>Job <input name=\"job\" value=\"" + esc(job) +
          "\"></label> <label>Step <input name=\"step\" value=\"" + esc(step) +
          "\"></label> <label>Metric <input name=\"metric\" value=\"" + esc(metric) +
          "\"></label> <label>Last <input name=\"last\" size=\"4\" value=\"" +
          std::to_string(last) + "\"></label> <input type=\"submit\" value=\"Show\"></form>";
  if (name.empty()) return page("Trends", body + "<p>Choose a pipeline.</p>");
  if (job.empty()) {
    body += "<p>Jobs and timed steps of the latest " + esc(name) + ":</p><ul id=\"choices\">";
    for (const auto& r : sql::job_names(tx, name)) {
      const std::string base =
          "/trends?pipeline=" + url_encode(name) + "&job=" + url_encode(s(r[0]));
      body += "<li>" + link(base, s(r[0]) + " (the job's wall time)");
      if (!r[1].is_null())
        body += " · " + link(base + "&step=" + url_encode(s(r[1])), "step " + s(r[1]));
      body += "</li>";
    }
    return page("Trends of " + name, body + "</ul>");
  }
  auto pipes = sql::trend_pipelines(tx, name, last);
  if (pipes.empty()) throw HttpError(404, "no pipeline named '" + name + "'");
  std::string ids = "{";
  std::map<int64_t, size_t> index;
  std::vector<std::string> labels;
  for (const auto& r : pipes) {
    ids += (index.empty() ? "" : ",") + s(r["id"]);
    index[r["id"].as<int64_t>()] = labels.size();
    labels.push_back(s(r["revision"]).substr(0, 8) + " #" + s(r["id"]));
  }
  ids += "}";
  const auto kind = sql::trend_job_kind(tx, name, job);
  if (kind.empty()) throw HttpError(404, "no job '" + job + "' in the latest " + name);
  std::string what, unit = "seconds";
  pqxx::result values;
  if (!step.empty()) {
    values = sql::trend_step(tx, ids, job, step);
    what = "step " + step + ": wall time";
  } else if (!metric.empty()) {
    values = sql::trend_metric(tx, ids, job, metric);
    what = "metric " + metric;
    unit = "value";
  } else if (s(kind[0][0]) == "bench") {
    values = sql::trend_bench(tx, ids, job);
    what = "the baseline variant's median";
  } else {
    values = sql::trend_job(tx, ids, job);
    what = "the job's wall time";
  }
  std::optional<double> budget;
  if (metric.empty()) {
    auto spec = sql::trend_spec(tx, name, job);
    if (!spec.empty()) try {
        budget = wall_budget_s(job_spec::from_json(s(spec[0][0])), step);
      } catch (const std::exception&) {
      }
  }
  // Per machine and pipeline: every value (a bench's runs, a step's one).
  std::map<std::string, std::map<size_t, std::vector<double>>> by_machine;
  for (const auto& r : values)
    by_machine[s(r["machine"])][index.at(r["pipeline_id"].as<int64_t>())].push_back(
        r["value"].as<double>());
  // Verdicts against the previous revision, with the code of
  // `compare --revisions`: sides a (before) and b (this one).
  ReportTable samples;
  samples.columns = {"machine", "benchmark",    "side",     "wall_s",
                     "cpu_s",   "instructions", "contended"};
  for (const auto& [machine, points] : by_machine) {
    const std::vector<double>* prev = nullptr;
    for (const auto& [x, vals] : points) {
      if (prev)
        for (const auto* side : {prev, &vals})
          for (double v : *side) {
            samples.rows.push_back({machine, std::to_string(x), side == prev ? "a" : "b",
                                    std::to_string(v), std::to_string(v), "", "false"});
            samples.nulls.push_back({false, false, false, false, false, true, false});
          }
      prev = &vals;
    }
  }
  ReportTable judged;
  if (unit == "seconds" && !samples.rows.empty())
    compare_revision_samples(samples, "wall", 0.05, 0.01, false, &judged);
  std::map<std::pair<std::string, size_t>, std::string> verdicts;
  if (!judged.rows.empty()) {
    size_t mc = 0, bc = 0, vc = 0;
    for (size_t c = 0; c < judged.columns.size(); ++c) {
      if (judged.columns[c] == "machine") mc = c;
      if (judged.columns[c] == "benchmark") bc = c;
      if (judged.columns[c] == "verdict") vc = c;
    }
    for (const auto& r : judged.rows)
      verdicts[{r[mc], static_cast<size_t>(std::stoul(r[bc]))}] = r[vc];
  }
  std::vector<ChartSeries> series;
  std::string table;
  for (const auto& [machine, points] : by_machine) {
    ChartSeries cs;
    cs.name = machine;
    for (const auto& [x, vals] : points) {
      ChartPoint p;
      p.x = x;
      p.y = summarize(vals).median;
      auto v = verdicts.find({machine, x});
      if (v != verdicts.end() && (v->second == "faster" || v->second == "slower"))
        p.mark = v->second;
      p.title =
          machine + " " + labels[x] + ": " + num(p.y) + (p.mark.empty() ? "" : " — " + p.mark);
      cs.points.push_back(p);
      table += "<tr class=\"trend-row\">" + td(esc(labels[x])) + td(esc(machine)) +
               td(esc(num(p.y)), "n") + td(esc(std::to_string(vals.size())), "n") +
               td(v == verdicts.end() ? "—"
                                      : "<span class=\"" + verdict_css(v->second) + "\">" +
                                            esc(v->second) + "</span>") +
               "</tr>";
    }
    series.push_back(std::move(cs));
  }
  body += "<p>" + esc(job) + ", " + esc(what) + ", over the last " + std::to_string(pipes.size()) +
          " pipelines; one line per machine" + (budget ? ", the budget dashed" : "") +
          "; rings: judged slower (red) or faster (green) than the revision before.</p>";
  body += line_chart(labels, series, budget, unit);
  body +=
      "<table id=\"trend\">" +
      std::string(th_row({"revision", "machine", "median", "values", "against the one before"})) +
      table + "</table>";
  return page("Trends of " + name + " · " + job, body);
}

std::string machines_page(pqxx::transaction_base& tx, const Params& params) {
  const std::string job = text_param(params, "job");
  const std::string reference = text_param(params, "reference");
  auto machines = sql::machines(tx);
  auto history = sql::calibration_history(tx);
  std::string body = "<table id=\"machines\">" +
                     std::string(th_row({"machine", "agents", "CPU", "cores", "memory", "OS",
                                         "kernel", "governor", "calibrated noise", "tools"}));
  for (const auto& m : machines) {
    const auto noise = od(m["noise"]);
    body += "<tr class=\"machine-row\">" + td(esc(s(m["name"]))) + td(esc(s(m["agents"]))) +
            td(esc(s(m["cpu_model"]))) + td(esc(s(m["logical_cores"])), "n") +
            td(esc(num(m["memory_bytes"].as<double>() / (1 << 30), 3)) + " GiB", "n") +
            td(esc(s(m["os_release"]))) + td(esc(s(m["kernel"]))) + td(esc(s(m["governor"]))) +
            td(noise ? num(*noise * 100, 3) + " %" : "not calibrated", "n") +
            td("<code>" + esc(s(m["tools"]).substr(0, 400)) + "</code>") + "</tr>";
  }
  body += "</table>";
  // Calibration history: each micro-benchmark's median per calibration.
  std::map<std::string, std::string> names;
  for (const auto& m : machines) names[s(m["id"])] = s(m["name"]);
  if (!history.empty()) {
    body +=
        "<h2>Calibrations (speed and noise, the last 20 of each)</h2><table id=\"calibrations\">" +
        std::string(th_row({"machine", "benchmark", "when (UTC)", "median", "noise"}));
    for (const auto& h : history)
      body += "<tr>" + td(esc(names[s(h["machine_id"])])) + td(esc(s(h["benchmark"]))) +
              td(esc(s(h["at"]))) + td(duration(od(h["median_s"])), "n") +
              td(esc(num(h["noise"].as<double>() * 100, 3)) + " %", "n") + "</tr>";
    body += "</table>";
  }
  body +=
      "<h2>Speed index</h2><form method=\"get\" action=\"/machines\"><label>Job <select "
      "name=\"job\"><option></option>";
  for (const auto& r : sql::compared_job_names(tx))
    body += "<option" + std::string(s(r[0]) == job ? " selected" : "") + ">" + esc(s(r[0])) +
            "</option>";
  body += "</select></label> <label>Reference machine <select name=\"reference\"><option></option>";
  for (const auto& m : machines)
    body += "<option" + std::string(s(m["name"]) == reference ? " selected" : "") + ">" +
            esc(s(m["name"])) + "</option>";
  body += "</select></label> <input type=\"submit\" value=\"Compare\"></form>";
  if (!job.empty()) {
    TranslatedReport t;
    std::string error;
    std::map<std::string, std::string> vars = {{"job", job}};
    if (!reference.empty()) vars["reference"] = reference;
    if (!translate_report(reports().at("compare_machines"), vars, &t, &error))
      throw HttpError(400, error);
    body += report_table(sql::run_report(tx, t.sql, t.params), "speed", "speed-row");
  }
  return page("Machines", body);
}

std::string deploys_page(pqxx::transaction_base& tx, const Params& params) {
  const int limit = int_param(params, "limit", 30, 1, 200);
  auto deploys = sql::deploys(tx, limit);
  std::string ids = "{";
  for (size_t i = 0; i < deploys.size(); ++i) ids += (i ? "," : "") + s(deploys[i]["job_id"]);
  auto phases = sql::deploy_phases(tx, ids + "}");
  std::string body;
  if (deploys.empty()) body += "<p>No deploy yet.</p>";
  for (const auto& d : deploys) {
    const int64_t jid = d["job_id"].as<int64_t>();
    const int attempt = d["attempt"].as<int>();
    std::vector<Span> spans;
    double origin = 0, healthy_at = -1;
    bool first = true;
    for (const auto& p : phases) {
      if (p["job_id"].as<int64_t>() != jid || p["attempt"].as<int>() != attempt) continue;
      const double st = p["started_s"].as<double>(), en = p["ended_s"].as<double>();
      if (first || st < origin) origin = st;
      first = false;
      if (s(p["name"]) == "healthy" && p["ok"].as<bool>()) healthy_at = en;
      Span sp;
      sp.row = s(p["name"]);
      sp.start_s = st;
      sp.end_s = en;
      sp.css = p["ok"].as<bool>() ? "ok" : "bad";
      sp.title = s(p["name"]) + ": " + duration(en - st) + (p["ok"].as<bool>() ? "" : " (failed)") +
                 (s(p["detail"]).empty() ? "" : " — " + s(p["detail"]));
      spans.push_back(sp);
    }
    const std::string outcome = s(d["outcome"]);
    const bool good = outcome == "succeeded";
    body += "<section class=\"deploy\"><h2>" +
            link("/jobs/" + std::to_string(jid), s(d["pipeline"]) + " #" + s(d["pipeline_id"])) +
            " · <span class=\"outcome " + std::string(good ? "ok" : "bad") + "\">" + esc(outcome) +
            "</span></h2><p>" + esc(s(d["at"])) + " UTC, " + esc(s(d["old_version"])) + " → " +
            esc(s(d["new_version"])) +
            ". Time to healthy: " + (healthy_at >= 0 ? duration(healthy_at - origin) : "never") +
            ". ";
    if (!d["probe_sent"].is_null())
      body += "<span class=\"probe\">probe: " + esc(s(d["probe_failed"])) + " failed requests of " +
              esc(s(d["probe_sent"])) + "</span>, longest outage " +
              duration(od(d["probe_longest_outage_ms"]).value_or(0) / 1000) + ". ";
    if (outcome == "rolled back") body += "<b class=\"rollback mark-bad\">Rolled back</b>. ";
    if (!s(d["reason"]).empty()) body += "Reason: " + esc(s(d["reason"])) + ". ";
    body += esc(s(d["message"])) + "</p>";
    body += spans.empty() ? "<p>No phase recorded.</p>" : timeline(spans, origin);
    body += "</section>";
  }
  return page("Deploys", body);
}

std::string reports_index() {
  std::string body = "<table id=\"reports\">" + std::string(th_row({"report", "what it answers"}));
  for (const auto& [name, text] : reports()) {
    std::string d = report_description(text);
    const auto cut = d.find("\n\n");
    body += "<tr>" + td(link("/reports/" + name, name)) +
            td(esc(cut == std::string::npos ? d : d.substr(0, cut))) + "</tr>";
  }
  return page("Reports", body + "</table>");
}

std::string report_page(pqxx::transaction_base& tx, const std::string& name, const Params& params,
                        bool csv) {
  auto it = reports().find(name);
  if (it == reports().end()) throw HttpError(404, "no report named '" + name.substr(0, 80) + "'");
  const auto vars_def = report_variables(it->second);
  std::map<std::string, std::string> vars;
  bool missing = false;
  for (const auto& v : vars_def) {
    const std::string given = text_param(params, v.name, 1000);
    if (!given.empty())
      vars[v.name] = given;
    else if (!v.has_default && !v.optional)
      missing = true;
  }
  std::string body = "<pre>" + esc(report_description(it->second)) + "</pre>";
  body += "<form method=\"get\" action=\"/reports/" + esc(name) + "\" id=\"report-form\">";
  for (const auto& v : vars_def)
    body += "<label>" + esc(v.name) + " <input name=\"" + esc(v.name) + "\" value=\"" +
            esc(vars.count(v.name) ? vars[v.name] : "") + "\" placeholder=\"" +
            esc(v.has_default ? v.default_value
                : v.optional  ? "(optional)"
                              : "(required)") +
            "\"></label> ";
  body += "<input type=\"submit\" value=\"Run\"></form>";
  if (missing && !csv) return page("Report " + name, body + "<p>Fill in the required values.</p>");
  TranslatedReport t;
  std::string error;
  if (!translate_report(it->second, vars, &t, &error)) throw HttpError(400, error);
  auto r = sql::run_report(tx, t.sql, t.params);
  if (csv) {
    auto cell = [](const std::string& v) {
      if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
      std::string q = "\"";
      for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    std::string out;
    for (pqxx::row::size_type c = 0; c < r.columns(); ++c)
      out += (c ? "," : "") + cell(r.column_name(c));
    out += "\n";
    for (const auto& row : r) {
      bool firstc = true;
      for (const auto& f : row) {
        out += (firstc ? "" : ",") + cell(s(f));
        firstc = false;
      }
      out += "\n";
    }
    return out;
  }
  std::string q;
  for (const auto& [k, v] : vars) q += "&" + url_encode(k) + "=" + url_encode(v);
  body += "<p>" + std::to_string(r.size()) + " rows · " +
          link("/reports/" + name + "?format=csv" + q, "CSV") + "</p>";
  return page("Report " + name, body + report_table(r, "report", "report-row"));
}

}  // namespace yardstick::web
