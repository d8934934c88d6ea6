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
    if (numeric && !is_number(it->second)) {
      *error = "variable '" + name + "' must be a number, not '" + it->second + "'";
      return "";
    }
    std::string key = name + (numeric ? "#n" : "#t");
    auto n = numbered.find(key);
    if (n == numbered.end()) {
      out->params.push_back(it->second);
      n = numbered.emplace(key, static_cast<int>(out->params.size())).first;
    }
    return "$" + std::to_string(n->second) + (numeric ? "::numeric" : "::text");
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

}  // namespace yardstick
