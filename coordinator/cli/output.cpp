#include "coordinator/cli/output.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "common/deploy_json.hpp"
#include "common/numbers.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;

// "SIGTERM" for 15; "signal 99" for what has no name.
std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string format_duration(int64_t start_us, int64_t end_us) {
  if (start_us == 0) return "-";
  if (end_us == 0) {
    end_us = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  }
  double s = (end_us - start_us) / 1e6;
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.2fs", s);
  else
    std::snprintf(buf, sizeof buf, "%dm%04.1fs", static_cast<int>(s / 60), s - 60 * int(s / 60));
  return buf;
}

std::string state_name(wire::JobState s) {
  return std::string(to_string(wire_io::from_wire(s)));
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One cell as JSON, by its column's kind: integers and numbers as JSON
// numbers of that kind, booleans as booleans, NULL as null.
json cell_json(const std::string& value, const std::string& kind, bool null) {
  if (null) return nullptr;
  try {
    if (kind == "integer") return std::stoll(value);
    if (kind == "number") {
      if (value == "NaN" || value == "Infinity" || value == "-Infinity") return value;
      return std::stod(value);
    }
    if (kind == "boolean") return value == "t" || value == "true";
    if (kind == "json") return json::parse(value);
  } catch (const std::exception&) {
  }
  return value;
}

// A column's unit by its name's suffix: "median_s" holds seconds,
// "p99_ms" milliseconds; "" for the rest.
std::string_view column_unit(std::string_view column) {
  if (column.size() > 2 && column.substr(column.size() - 2) == "_s") return "s";
  if (column.size() > 3 && column.substr(column.size() - 3) == "_ms") return "ms";
  return "";
}

// A column's heading for people: its unit is in each cell.
std::string heading(std::string_view column) {
  const std::string_view unit = column_unit(column);
  return std::string(unit.empty() ? column : column.substr(0, column.size() - unit.size() - 1));
}

// One cell for people: numbers with 4 significant digits (durations scaled
// to s, ms, µs), a JSON list as its items joined by "; ".
std::string human(const std::string& value, std::string_view column, const std::string& kind) {
  if (kind == "number") return human_cell(value, column_unit(column));
  if (kind == "json") {
    try {
      const json j = json::parse(value);
      if (j.is_array()) {
        std::string out;
        for (const auto& item : j)
          out += (out.empty() ? "" : "; ") +
                 (item.is_string() ? item.get<std::string>() : item.dump());
        return out;
      }
    } catch (const std::exception&) {
    }
  }
  return value;
}

// The rows as people read them (table, Markdown): numbers by human().
std::vector<std::vector<std::string>> human_rows(const std::vector<std::string>& columns,
                                                 const std::vector<std::vector<std::string>>& rows,
                                                 const std::vector<std::string>& kinds) {
  std::vector<std::vector<std::string>> out = rows;
  for (auto& r : out)
    for (size_t i = 0; i < r.size() && i < columns.size() && i < kinds.size(); ++i)
      r[i] = human(r[i], columns[i], kinds[i]);
  return out;
}

}  // namespace

void print_table(const std::vector<std::vector<std::string>>& rows) {
  // Columns as wide as their widest cell in characters, not bytes ("µs").
  auto chars = [](const std::string& cell) {
    size_t n = 0;
    for (unsigned char c : cell) n += (c & 0xC0) != 0x80;
    return n;
  };
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], chars(r[i]));
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - chars(r[i]) + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

json job_json(wire::JobSummary::Reader j) {
  json breaches = json::array();
  for (auto b : j.getBudgetBreaches()) breaches.push_back(b.cStr());
  json steps = json::array();
  for (auto s : j.getSteps())
    steps.push_back({{"index", s.getIndex()},
                     {"name", s.getName().cStr()},
                     {"wall_s", s.getWallS()},
                     {"exit_code", s.getExitCode()},
                     {"signal", s.getSignal() ? json(signal_name(s.getSignal())) : json(nullptr)},
                     {"finished", s.getFinished()}});
  json deploy = nullptr;
  if (j.getDeployPhases().size() || j.getHasDeploy()) {
    json phases = json::array();
    for (auto p : j.getDeployPhases())
      phases.push_back({{"name", p.getName().cStr()},
                        {"started_at_us", p.getStartUs()},
                        {"ended_at_us", p.getEndUs()},
                        {"duration_s", (p.getEndUs() - p.getStartUs()) / 1e6},
                        {"ok", p.getOk()},
                        {"detail", p.getDetail().cStr()}});
    deploy = {{"phases", phases}, {"outcome", nullptr}, {"reason", nullptr}, {"probe", nullptr}};
    if (j.getHasDeploy()) {
      auto d = j.getDeploy();
      const auto outcome = wire_io::read_outcome(d);
      deploy["outcome"] = outcome ? json(std::string(to_string(*outcome))) : json(nullptr);
      deploy["reason"] = d.getReason().cStr();
      if (d.getHasProbe()) {
        deploy["probe"] = probe_json(wire_io::read(d.getProbe()));
      }
    }
  }
  json earlier = json::array();
  for (auto a : j.getEarlierAttempts())
    earlier.push_back({{"attempt", a.getAttempt()},
                       {"agent", a.getAgent().size() ? json(a.getAgent().cStr()) : json(nullptr)},
                       {"state", state_name(a.getState())},
                       {"message", a.getMessage().cStr()}});
  // Why it waits or was skipped, as a word a program can test.
  const std::string_view note = to_string(wire_io::from_wire(j.getNote()));
  return {{"id", j.getId()},
          {"name", j.getName().cStr()},
          {"state", state_name(j.getState())},
          {"agent", j.getAgent().cStr()},
          {"machine", j.getMachine().cStr()},
          {"attempt", j.getAttempt()},
          {"started_at_us", j.getStartedAtUs()},
          {"ended_at_us", j.getEndedAtUs()},
          {"message", j.getMessage().cStr()},
          {"note", note.empty() ? json(nullptr) : json(std::string(note))},
          {"over_budget", j.getOverBudget()},
          {"runs_measured", j.getRunsMeasured()},
          {"runs_planned", j.getRunsPlanned()},
          {"budget_breaches", breaches},
          {"steps", steps},
          {"earlier_attempts", earlier},
          {"deploy", deploy}};
}

void print_status(wire::StatusReply::Reader r, bool as_json) {
  if (as_json) {
    json jobs = json::array();
    for (auto j : r.getJobs()) jobs.push_back(job_json(j));
    std::cout << json{{"pipeline_id", r.getPipelineId()},
                      {"pipeline", r.getPipelineName().cStr()},
                      {"revision", r.getRevision().cStr()},
                      {"branch", r.getBranch().cStr()},
                      {"submitter", r.getSubmitter().cStr()},
                      {"submitted_at_us", r.getSubmittedAtUs()},
                      {"jobs", jobs},
                      {"budget", pipeline_budget_json(r)}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "pipeline " << r.getPipelineId() << " " << r.getPipelineName().cStr();
  if (r.getRevision().size()) std::cout << " @ " << std::string(r.getRevision()).substr(0, 12);
  if (r.getBranch().size()) std::cout << " (" << r.getBranch().cStr() << ")";
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"JOB", "NAME", "STATE", "MACHINE", "AGENT", "ATTEMPT", "DURATION"}};
  for (auto j : r.getJobs()) {
    rows.push_back({std::to_string(j.getId()), j.getName(),
                    state_name(j.getState()) + (j.getOverBudget() ? " (over budget)" : ""),
                    j.getMachine().size() ? j.getMachine().cStr() : "-",
                    j.getAgent().size() ? j.getAgent().cStr() : "-", std::to_string(j.getAttempt()),
                    format_duration(j.getStartedAtUs(), j.getEndedAtUs())});
    for (auto s : j.getSteps()) {
      const std::string wall = human_seconds(s.getWallS());
      rows.push_back({"", "  " + std::string(s.getName().cStr()),
                      !s.getFinished() ? std::string("running")
                      : s.getSignal()  ? "killed by " + signal_name(s.getSignal())
                                       : "exit " + std::to_string(s.getExitCode()),
                      "", "", "", s.getFinished() ? wall : std::string("-")});
    }
    for (auto p : j.getDeployPhases()) {
      const std::string wall = human_seconds((p.getEndUs() - p.getStartUs()) / 1e6);
      rows.push_back({"", "  phase " + std::string(p.getName().cStr()), p.getOk() ? "ok" : "failed",
                      "", "", "", wall});
    }
  }
  print_table(rows);
  print_pipeline_budget(r);
  for (auto j : r.getJobs()) {
    for (auto a : j.getEarlierAttempts())
      std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": attempt "
                << a.getAttempt() << (a.getAgent().size() ? " on " + std::string(a.getAgent()) : "")
                << " " << state_name(a.getState())
                << (a.getMessage().size() ? ": " + std::string(a.getMessage()) : "") << "\n";
    // A job ended over budget says so in its message; the breaches below
    // say it once, with their values.
    std::string over;
    for (auto b : j.getBudgetBreaches()) over += (over.empty() ? "" : "; ") + std::string(b.cStr());
    over = "over budget: " + over;
    if (j.getMessage().size() && !(j.getBudgetBreaches().size() && j.getMessage() == over))
      std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": " << j.getMessage().cStr()
                << "\n";
    for (auto b : j.getBudgetBreaches())
      std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": over budget: " << b.cStr()
                << "\n";
    for (auto p : j.getDeployPhases())
      if (p.getDetail().size())
        std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": " << p.getName().cStr()
                  << ": " << p.getDetail().cStr() << "\n";
    if (j.getHasDeploy()) {
      auto d = j.getDeploy();
      const auto outcome = wire_io::read_outcome(d);
      std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": deploy "
                << (outcome ? to_string(*outcome) : std::string_view("(unknown outcome)"));
      if (d.getReason().size()) std::cout << " (" << d.getReason().cStr() << ")";
      std::cout << "\n";
      if (d.getHasProbe()) {
        const ProbeCounts c = wire_io::read(d.getProbe());
        char lat[96];
        std::snprintf(lat, sizeof lat, "; latency p50 %.1f ms, p99 %.1f ms", c.p50_ms, c.p99_ms);
        std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": probe: " << c.text()
                  << (c.sent > c.failed ? lat : "")
                  << (c.late ? "; " + with_thousands(c.late) + " ticks late" : "") << "\n";
      }
    }
  }
}

void print_rows(const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& rows, Format format,
                const std::vector<std::string>& kinds,
                const std::vector<std::vector<bool>>& nulls) {
  switch (format) {
    case Format::kJson: {
      json out = json::array();
      for (size_t k = 0; k < rows.size(); ++k) {
        const auto& r = rows[k];
        json o = json::object();
        for (size_t i = 0; i < columns.size() && i < r.size(); ++i)
          o[columns[i]] =
              cell_json(r[i], i < kinds.size() ? kinds[i] : "text",
                        k < nulls.size() && i < nulls[k].size() ? bool(nulls[k][i]) : false);
        out.push_back(o);
      }
      std::cout << out.dump(2) << "\n";
      break;
    }
    case Format::kCsv: {
      for (size_t i = 0; i < columns.size(); ++i)
        std::cout << (i ? "," : "") << csv_field(columns[i]);
      std::cout << "\n";
      for (const auto& r : rows) {
        for (size_t i = 0; i < r.size(); ++i) std::cout << (i ? "," : "") << csv_field(r[i]);
        std::cout << "\n";
      }
      break;
    }
    case Format::kMarkdown: {
      std::string head = "|", rule = "|";
      for (const auto& c : columns) head += " " + heading(c) + " |", rule += "---|";
      std::cout << head << "\n" << rule << "\n";
      for (const auto& r : human_rows(columns, rows, kinds)) {
        std::string line = "|";
        for (auto cell : r) {
          for (size_t p = 0; (p = cell.find('|', p)) != std::string::npos; p += 2)
            cell.replace(p, 1, "\\|");
          // A multi-line value (a pipeline file) stays in its cell.
          for (size_t p = 0; (p = cell.find('\n', p)) != std::string::npos; p += 4)
            cell.replace(p, 1, "<br>");
          line += " " + cell + " |";
        }
        std::cout << line << "\n";
      }
      break;
    }
    case Format::kTable: {
      std::vector<std::vector<std::string>> all = {{}};
      for (const auto& c : columns) {
        std::string h = heading(c);
        for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        all[0].push_back(h);
      }
      auto shown = human_rows(columns, rows, kinds);
      // One line a row: a multi-line value (a pipeline file) shows its
      // line breaks as \n, as in JSON (--json and --csv keep them).
      for (auto& row : shown)
        for (auto& cell : row)
          for (size_t p = 0; (p = cell.find('\n', p)) != std::string::npos; p += 2)
            cell.replace(p, 1, "\\n");
      all.insert(all.end(), shown.begin(), shown.end());
      print_table(all);
      if (rows.empty()) std::cout << "(no rows)\n";
      break;
    }
  }
}

}  // namespace yardstick
