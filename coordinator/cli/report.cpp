#include <chrono>
#include <iostream>

#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/requests.hpp"
#include "coordinator/reports.hpp"

namespace yardstick {

ReportRows fetch_report(const Options& o, const std::string& name,
                        const std::vector<std::string>& vars) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  auto r = client.request(fresh(b)).getBody().initReport();
  r.setName(name);
  auto params = r.initParams(vars.size());
  for (unsigned i = 0; i < vars.size(); ++i) {
    const size_t eq = vars[i].find('=');
    params[i].setKey(vars[i].substr(0, eq));
    params[i].setValue(eq == std::string::npos ? "" : vars[i].substr(eq + 1));
  }
  auto frame = client.call(*b);
  auto reply = frame->envelope().getBody().getReportReply();
  ReportRows out;
  for (auto c : reply.getColumns()) out.columns.push_back(c);
  for (auto row : reply.getRows()) {
    std::vector<std::string> cells;
    for (auto cell : row) cells.push_back(cell);
    out.rows.push_back(std::move(cells));
  }
  for (auto k : reply.getKinds()) out.kinds.push_back(k);
  for (auto row : reply.getNulls()) {
    std::vector<bool> cells;
    for (bool n : row) cells.push_back(n);
    out.nulls.push_back(std::move(cells));
  }
  return out;
}

int cmd_report(const Options& o, const std::string& name, const std::vector<std::string>& vars,
               Format format, const RowsCheck& check, const RowsPrinter& table) {
  for (const auto& v : vars)
    if (v.find('=') == std::string::npos) {
      std::cerr << "yardstick: -v takes NAME=VALUE, not '" << v << "'\n";
      return kUsage;
    }
  const ReportRows r = fetch_report(o, name, vars);
  if (check)
    if (auto problem = check(r.columns, r.rows); !problem.empty()) {
      std::cerr << "yardstick: " << problem << "\n";
      return kRefused;
    }
  if (table && format == Format::kTable)
    table(r.columns, r.rows);
  else
    print_rows(r.columns, r.rows, format, r.kinds, r.nulls);
  return kOk;
}

namespace {
// The first sentence of a report's description, on one line.
std::string first_sentence(const std::string& description) {
  std::string text;
  for (char c : description) {
    if (c == '\n' && !text.empty() && text.back() == ' ')
      break;  // a blank line: the paragraph ended
    text += c == '\n' ? ' ' : c;
  }
  // Up to its first ". " (kept) or ": " (what follows is detail), at most
  // kMaxChars at a word's end.
  constexpr size_t kMaxChars = 120;
  for (size_t i = 0; i + 1 < text.size(); ++i)
    if ((text[i] == '.' || text[i] == ':') && text[i + 1] == ' ') {
      text.resize(text[i] == '.' ? i + 1 : i);
      break;
    }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.size() > kMaxChars) {
    const size_t space = text.rfind(' ', kMaxChars);
    text = text.substr(0, space == std::string::npos ? kMaxChars : space) + " ...";
  }
  return text;
}
}  // namespace

int cmd_report_list(const Options& o) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, text] : reports()) {
    std::string vars;
    for (const auto& v : report_variables(text))
      vars += (vars.empty() ? "" : ", ") + v.name +
              (v.has_default && !v.default_value.empty() ? "=" + v.default_value
               : v.has_default || v.optional             ? " (optional)"
                                                         : " (required)");
    rows.push_back({name, first_sentence(report_description(text)), vars});
  }
  const Format format = o.json ? Format::kJson : Format::kTable;
  print_rows({"report", "description", "variables"}, rows, format);
  return kOk;
}

}  // namespace yardstick
