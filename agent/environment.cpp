#include "agent/environment.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

namespace yardstick {

const std::vector<std::string>& default_pass_env() {
  static const std::vector<std::string> names = {
      "PATH",       "HOME",        "USER",       "LOGNAME",    "SHELL",  "LANG",
      "LANGUAGE",   "LC_*",        "TERM",       "TZ",         "TMPDIR", "XDG_CACHE_HOME",
      "CCACHE_DIR", "SCCACHE_DIR", "CARGO_HOME", "RUSTUP_HOME"};
  return names;
}

EnvVars environment_of(char** envp) {
  EnvVars out;
  for (char** e = envp; e && *e; ++e) {
    std::string_view kv = *e;
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

std::vector<std::string> parse_pass_env(std::string_view text, std::string* error) {
  std::vector<std::string> out;
  error->clear();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.remove_suffix(1);
    if (item.empty()) continue;
    const bool ok =
        !std::isdigit(static_cast<unsigned char>(item[0])) &&
        std::all_of(item.begin(), item.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '*' || c == '?';
        });
    if (!ok) {
      *error = "'" + std::string(item) +
               "' is neither a variable name nor a pattern of one (letters, digits, '_', '*', '?')";
      return {};
    }
    out.emplace_back(item);
  }
  return out;
}

EnvVars allowed_environment(const EnvVars& all, const std::vector<std::string>& patterns) {
  EnvVars out;
  for (const auto& [name, value] : all)
    for (const auto& p : patterns)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0) {
        out.emplace(name, value);
        break;
      }
  return out;
}

}  // namespace yardstick
