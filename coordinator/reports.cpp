#include "coordinator/reports.hpp"

#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

namespace yardstick {

namespace {
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return *end == '\0';
}
}  // namespace

bool translate_report(const std::string& text, const std::map<std::string, std::string>& given,
                      TranslatedReport* out, std::string* error) {
  std::map<std::string, std::string> vars;
  std::string body;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] == '\\') {
      std::istringstream words(line.substr(first));
      std::string cmd, name, value;
      words >> cmd >> name;
      std::getline(words, value);
      if (cmd == "\\set" && !name.empty()) {
        size_t v = value.find_first_not_of(" \t");
        std::string val = v == std::string::npos ? "" : value.substr(v);
        while (!val.empty() && (val.back() == ' ' || val.back() == '\t')) val.pop_back();
        if (val.size() >= 2 && val.front() == '\'' && val.back() == '\'')
          val = val.substr(1, val.size() - 2);
        vars[name] = val;
      }
      continue;
    }
    body += line + "\n";
  }
  std::set<std::string> known;  // every variable the report reads or sets
  for (const auto& [k, v] : vars) known.insert(k);
  for (const auto& [k, v] : given) vars[k] = v;  // given values win over \set defaults
  std::map<std::string, int> numbered;
  auto param = [&](const std::string& name, bool numeric) -> std::string {
    known.insert(name);
    auto it = vars.find(name);
    if (it == vars.end()) {
      *error = "the report needs the variable '" + name + "' (-v " + name + "=...)";
      return "";
    }
    // Every number a report takes (a count, a limit, an id, alpha) is at
    // least 0: a negative one would reach PostgreSQL as its own error.
    if (numeric && (!is_number(it->second) || std::strtod(it->second.c_str(), nullptr) < 0)) {
      *error = "variable '" + name + "' must be a number of at least 0, not '" + it->second + "'";
      return "";
    }
    std::string key = name + (numeric ? "#n" : "#t");
    auto n = numbered.find(key);
    if (n == numbered.end()) {
      out->params.push_back(it->second);
      n = numbered.emplace(key, static_cast<int>(out->params.size())).first;
    }
    // A whole number is a bigint, as psql's literal 42 is an integer: a
    // numeric compared with an id column hides the column's index from
    // the planner (`pipeline_id = 42::numeric` reads the whole table).
    const std::string& v = it->second;
    const bool whole = v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos;
    return "$" + std::to_string(n->second) +
           (!numeric ? "::text"
            : whole  ? "::bigint"
                     : "::numeric");
  };

  std::string sql;
  for (size_t i = 0; i < body.size();) {
    char c = body[i];
    if (c == '\'') {  // a string literal: copied as it is
      size_t j = i + 1;
      while (j < body.size() && !(body[j] == '\'' && (j + 1 >= body.size() || body[j + 1] != '\'')))
        j += body[j] == '\'' ? 2 : 1;
      sql += body.substr(i, j + 1 - i);
      i = j + 1;
      continue;
    }
    if (c == '-' && i + 1 < body.size() && body[i + 1] == '-') {  // a comment
      size_t j = body.find('\n', i);
      if (j == std::string::npos) j = body.size();
      sql += body.substr(i, j - i);
      i = j;
      continue;
    }
    if (c == ':' && i + 1 < body.size()) {
      char d = body[i + 1];
      if (d == ':') {  // a cast
        sql += "::";
        i += 2;
        continue;
      }
      if (d == '\'') {
        size_t end = body.find('\'', i + 2);
        if (end != std::string::npos) {
          std::string p = param(body.substr(i + 2, end - i - 2), false);
          if (!error->empty()) return false;
          sql += p;
          i = end + 1;
          continue;
        }
      }
      if (d == '{' && i + 2 < body.size() && body[i + 2] == '?') {
        size_t end = body.find('}', i);
        std::string name = body.substr(i + 3, end - i - 3);
        known.insert(name);
        sql += vars.count(name) ? "true" : "false";
        i = end + 1;
        continue;
      }
      if (std::isalpha(static_cast<unsigned char>(d)) || d == '_') {
        size_t j = i + 1;
        while (j < body.size() && ident_char(body[j])) ++j;
        std::string p = param(body.substr(i + 1, j - i - 1), true);
        if (!error->empty()) return false;
        sql += p;
        i = j;
        continue;
      }
    }
    sql += c;
    ++i;
  }
  for (const auto& [k, v] : given)
    if (!known.count(k)) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      *error = "the report has no variable '" + k + "' (its variables: " + list + ")";
      return false;
    }
  // One statement: drop the trailing semicolon and whitespace.
  while (!sql.empty() &&
         (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';'))
    sql.pop_back();
  out->sql = sql;
  return true;
}

std::vector<ReportVariable> report_variables(const std::string& text) {
  std::map<std::string, ReportVariable> found;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    if (line.compare(first, 2, "--") == 0) continue;  // a comment
    if (line[first] == '\\') {
      std::istringstream words(line.substr(first));
      std::string cmd, name, value;
      words >> cmd >> name;
      std::getline(words, value);
      if (cmd == "\\set" && !name.empty() && !found[name].has_default) {
        const size_t v = value.find_first_not_of(" \t");
        std::string val = v == std::string::npos ? "" : value.substr(v);
        if (val.size() >= 2 && val.front() == '\'' && val.back() == '\'')
          val = val.substr(1, val.size() - 2);
        auto& var = found[name];
        var.name = name;
        var.default_value = val;
        var.has_default = true;
      }
      for (size_t p = line.find(":{?"); p != std::string::npos; p = line.find(":{?", p + 3)) {
        const size_t end = line.find('}', p);
        if (end == std::string::npos) break;
        auto& var = found[line.substr(p + 3, end - p - 3)];
        var.name = line.substr(p + 3, end - p - 3);
        var.optional = true;
      }
      continue;
    }
    // String literals ('HH24:MI') and comments hold no variables.
    std::string code;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line.compare(i, 2, "--") == 0) break;
      if (line[i] == ':' && i + 1 < line.size() && line[i + 1] == '\'') {  // :'NAME', whole
        const size_t close = line.find('\'', i + 2);
        const size_t end = close == std::string::npos ? line.size() : close + 1;
        code += line.substr(i, end - i);
        i = end - 1;
        continue;
      }
      if (line[i] == '\'') {
        const size_t close = line.find('\'', i + 1);
        i = close == std::string::npos ? line.size() : close;
        code += "''";
        continue;
      }
      code += line[i];
    }
    line = code;
    for (size_t p = line.find(':'); p != std::string::npos; p = line.find(':', p + 1)) {
      if (p + 1 >= line.size() || line[p + 1] == ':' || (p > 0 && line[p - 1] == ':')) continue;
      size_t start = p + 1, end;
      if (line[start] == '\'') {
        end = line.find('\'', start + 1);
        if (end == std::string::npos) break;
        ++start;
      } else {
        end = start;
        while (end < line.size() && ident_char(line[end])) ++end;
        if (end == start || std::isdigit(static_cast<unsigned char>(line[start]))) continue;
      }
      const std::string name = line.substr(start, end - start);
      if (!found.count(name)) found[name] = {name, "", false, false};
    }
  }
  std::vector<ReportVariable> out;
  for (auto& [name, var] : found) out.push_back(var);
  return out;
}

std::string report_description(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line) && line.rfind("--", 0) == 0)
    out += (line.size() > 3 ? line.substr(3) : "") + "\n";
  return out;
}

}  // namespace yardstick
