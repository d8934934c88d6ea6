#include "common/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace yardstick {

bool valid_env_name(std::string_view name) {
  if (name.empty()) return false;
  auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  if (!letter(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) {
    return letter(c) || std::isdigit(static_cast<unsigned char>(c));
  });
}

SecretMasker::SecretMasker(const std::vector<std::string>& values) {
  for (const auto& v : values) add(v);
}

void SecretMasker::add(const std::string& value) {
  if (value.empty()) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  values_.push_back(value);
  first_[static_cast<unsigned char>(value[0])] = true;
  std::stable_sort(values_.begin(), values_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string SecretMasker::mask(std::string_view text) const {
  SecretMasker fresh;
  fresh.values_ = values_;
  fresh.first_ = first_;
  return fresh.process(text, true);
}

std::string SecretMasker::feed(std::string_view bytes) {
  if (values_.empty()) return std::string(bytes);
  return process(bytes, false);
}

std::string SecretMasker::finish() {
  return process({}, true);
}

std::string SecretMasker::process(std::string_view bytes, bool final) {
  std::string buf = std::move(carry_);
  buf.append(bytes);
  const size_t n = buf.size();
  // The stretches covered by occurrences, in order, touching ones merged.
  std::vector<std::pair<size_t, size_t>> stretches;
  if (carry_covered_ > 0) stretches.emplace_back(0, std::min(carry_covered_, n));
  size_t hold = n;  // from here on, bytes could still start a value
  for (size_t j = 0; j < n; ++j) {
    if (!first_[static_cast<unsigned char>(buf[j])]) continue;
    size_t end = 0;
    bool wait = false;
    for (const auto& v : values_) {
      if (buf[j] != v[0]) continue;
      const size_t m = std::min(v.size(), n - j);
      if (buf.compare(j, m, v, 0, m) != 0) continue;
      if (m == v.size())
        end = std::max(end, j + m);
      else if (!final)
        wait = true;  // a longer value may still match here: wait for more bytes
    }
    if (wait) {
      hold = j;
      break;
    }
    if (end == 0) continue;
    if (!stretches.empty() && j <= stretches.back().second)
      stretches.back().second = std::max(stretches.back().second, end);
    else
      stretches.emplace_back(j, end);
  }
  std::string out;
  out.reserve(hold + kSecretMask.size());
  size_t pos = 0;
  for (const auto& [from, to] : stretches) {
    if (from >= hold) break;
    if (from > pos) {
      out.append(buf, pos, from - pos);
      masking_ = false;
    }
    if (!masking_) out += kSecretMask;
    masking_ = true;
    pos = std::min(to, hold);
  }
  if (pos < hold) {
    out.append(buf, pos, hold - pos);
    masking_ = false;
  }
  const size_t reach = stretches.empty() ? 0 : stretches.back().second;
  if (final) {
    carry_.clear();
    carry_covered_ = 0;
    masking_ = false;
  } else {
    carry_ = buf.substr(hold);
    carry_covered_ = reach > hold ? reach - hold : 0;
  }
  return out;
}

namespace {

struct UserInfo {
  size_t begin = 0;  // in the text
  size_t end = 0;    // the '@'
};

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

// Every user information part in `text` that holds a credential.
std::vector<UserInfo> credentials_in(std::string_view text) {
  std::vector<UserInfo> out;
  size_t pos = 0;
  while ((pos = text.find("://", pos)) != std::string_view::npos) {
    size_t s = pos;
    while (s > 0 && is_scheme_char(text[s - 1])) --s;
    std::string scheme(text.substr(s, pos - s));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t begin = pos + 3;
    // The authority ends at the path, query or fragment, or at anything
    // that cannot be in a URL written in a log line.
    size_t end = begin;
    while (end < text.size() && !std::strchr("/?#'\" \t\r\n<>`", text[end])) ++end;
    const std::string_view authority = text.substr(begin, end - begin);
    const size_t at = authority.rfind('@');
    pos = begin;
    if (at == std::string_view::npos || at == 0) continue;
    const std::string_view info = authority.substr(0, at);
    const bool http = scheme == "http" || scheme == "https" || scheme.ends_with("+http") ||
                      scheme.ends_with("+https");
    if (http || info.find(':') != std::string_view::npos) out.push_back({begin, begin + at});
    pos = begin + at;
  }
  return out;
}

}  // namespace

std::string mask_url_credentials(std::string_view url) {
  std::string out;
  size_t from = 0;
  for (const auto& u : credentials_in(url)) {
    out.append(url.substr(from, u.begin - from));
    out += kSecretMask;
    from = u.end;
  }
  out.append(url.substr(from));
  return out;
}

bool url_has_credentials(std::string_view url) {
  return !credentials_in(url).empty();
}

std::string mask_webhook_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::string(kSecretMask);
  for (size_t i = 0; i < scheme_end; ++i)
    if (!is_scheme_char(url[i])) return std::string(kSecretMask);
  const size_t begin = scheme_end + 3;
  size_t end = begin;
  while (end < url.size() && !std::strchr("/?#", url[end])) ++end;
  std::string_view authority = url.substr(begin, end - begin);
  std::string out(url.substr(0, begin));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out += kSecretMask;
    out += '@';
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) return std::string(kSecretMask);
  out += authority;
  const std::string_view rest = url.substr(end);
  if (!rest.empty() && rest != "/") {
    out += '/';
    out += kSecretMask;
  } else {
    out += rest;
  }
  return out;
}

std::optional<std::string> url_secret(std::string_view url) {
  auto found = credentials_in(url);
  if (found.empty()) return std::nullopt;
  std::string_view info = url.substr(found[0].begin, found[0].end - found[0].begin);
  const size_t colon = info.find(':');
  if (colon != std::string_view::npos) info = info.substr(colon + 1);
  if (info.empty()) return std::nullopt;
  return std::string(info);
}

std::optional<std::map<std::string, std::string>> parse_secrets(std::string_view text,
                                                                std::string* error) {
  std::map<std::string, std::string> out;
  std::map<std::string, int> first_line;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    const size_t eq = line.find('=');
    const auto where = "line " + std::to_string(line_no) + ": ";
    if (eq == std::string_view::npos) {
      *error = where + "expected NAME=VALUE";
      return std::nullopt;
    }
    const std::string name(line.substr(0, eq));
    if (!valid_env_name(name)) {
      *error = where + "'" + name +
               "' is not a valid name (letters, digits and '_', not starting with a digit)";
      return std::nullopt;
    }
    if (auto it = first_line.find(name); it != first_line.end()) {
      *error = where + name + " is set again (first on line " + std::to_string(it->second) + ")";
      return std::nullopt;
    }
    first_line[name] = line_no;
    out[name] = std::string(line.substr(eq + 1));
  }
  return out;
}

std::optional<std::map<std::string, std::string>> load_secrets_file(const std::string& path,
                                                                    std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot read the secrets file " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = "the secrets file " + path + " is not a regular file";
    return std::nullopt;
  }
  if (st.st_mode & 077) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *error = "the secrets file " + path + " has mode " + mode +
             ": its group or others may access it; it must be readable by its owner alone "
             "(chmod 600 " +
             path + ")";
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read the secrets file " + path + ": " + std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    break;
  }
  ::close(fd);
  std::string why;
  auto parsed = parse_secrets(text, &why);
  if (!parsed) *error = "the secrets file " + path + ", " + why;
  return parsed;
}

}  // namespace yardstick
