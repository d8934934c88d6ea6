#include "common/command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <string_view>

namespace yardstick {

const char* to_string(ShellMode mode) {
  switch (mode) {
    case ShellMode::kAuto:
      return "auto";
    case ShellMode::kSh:
      return "sh";
    case ShellMode::kNone:
      return "none";
  }
  return "auto";
}

std::optional<ShellMode> parse_shell_mode(const std::string& text) {
  if (text.empty() || text == "auto") return ShellMode::kAuto;
  if (text == "sh") return ShellMode::kSh;
  if (text == "none") return ShellMode::kNone;
  return std::nullopt;
}

namespace {

// An executable regular file that execve runs itself: a binary (ELF) or a
// script with a #! line. execvp would hand anything else to /bin/sh;
// leaving those to the shell does the same.
bool directly_executable(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || access(file.c_str(), X_OK) != 0)
    return false;
  char head[4] = {};
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  return (n >= 2 && head[0] == '#' && head[1] == '!') ||
         (n == 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F');
}

std::optional<std::vector<std::string>> fail(std::string* why, std::string message) {
  if (why) *why = std::move(message);
  return std::nullopt;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::optional<std::vector<std::string>> split_plain_command(const std::string& command,
                                                            std::string* why) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (is_blank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    const bool word_start = !in_word;
    in_word = true;
    switch (c) {
      case '\'': {
        size_t end = command.find('\'', i + 1);
        if (end == std::string::npos) return fail(why, "an unclosed single quote");
        word.append(command, i + 1, end - i - 1);
        i = end;
        break;
      }
      case '"': {
        size_t j = i + 1;
        for (; j < command.size() && command[j] != '"'; ++j) {
          char d = command[j];
          if (d == '$' || d == '`') return fail(why, std::string("expansion (") + d + ")");
          if (d == '\\' && j + 1 < command.size() &&
              std::string_view("\"\\$`").find(command[j + 1]) != std::string_view::npos)
            d = command[++j];
          word += d;
        }
        if (j >= command.size()) return fail(why, "an unclosed double quote");
        i = j;
        break;
      }
      case '\\':
        if (i + 1 >= command.size() || command[i + 1] == '\n')
          return fail(why, "a line continuation");
        word += command[++i];
        break;
      case '#':
      case '~':
        if (word_start) return fail(why, std::string("a word starting with ") + c);
        word += c;
        break;
      case '=':
        if (words.empty() && word.find('/') == std::string::npos)
          return fail(why, "a variable assignment (=) before the command");
        word += c;
        break;
      case '\n':
      case '\r':
        return fail(why, "more than one line");
      case '|':
      case '&':
      case ';':
      case '<':
      case '>':
      case '(':
      case ')':
      case '$':
      case '`':
      case '*':
      case '?':
      case '[':
        return fail(why, std::string("shell syntax (") + c + ")");
      default:
        word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return fail(why, "no command");
  return words;
}

std::string resolve_program(const std::string& word, const std::string& path,
                            const std::string& cwd) {
  // Keywords and builtins that have no program of their own, or whose
  // program would not do what the shell does (cd in a child is a no-op).
  static constexpr std::array<std::string_view, 28> kShellOnly = {
      "!",     "{",     "}",     "if",     "then",   "else",  "elif", "fi",   "case",   "esac",
      "for",   "while", "until", "do",     "done",   "cd",    "exit", "exec", "export", "set",
      "unset", "eval",  ".",     "source", "ulimit", "umask", "trap", "wait"};
  for (auto k : kShellOnly)
    if (word == k) return "";
  if (word.empty()) return "";
  if (word.find('/') != std::string::npos) {
    std::string file = word[0] == '/' || cwd.empty() ? word : cwd + "/" + word;
    return directly_executable(file) ? file : "";
  }
  size_t start = 0;
  for (;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    if (dir.empty() || dir[0] != '/')
      dir = (cwd.empty() ? "." : cwd) + (dir.empty() ? "" : "/" + dir);
    std::string candidate = dir + "/" + word;
    if (directly_executable(candidate)) return candidate;
    if (end == std::string::npos) return "";
    start = end + 1;
  }
}

std::optional<DirectCommand> direct_command(const std::string& command, ShellMode mode,
                                            const std::string& path, const std::string& cwd,
                                            std::string* error) {
  if (mode == ShellMode::kSh) return std::nullopt;
  std::string why;
  auto words = split_plain_command(command, &why);
  if (!words) {
    if (mode == ShellMode::kNone && error)
      *error = "shell: none cannot run `" + command + "`: it uses " + why;
    return std::nullopt;
  }
  std::string program = resolve_program(words->front(), path, cwd);
  if (program.empty()) {
    if (mode == ShellMode::kNone && error)
      *error =
          "shell: none cannot run `" + command + "`: no program '" + words->front() + "' on PATH";
    return std::nullopt;
  }
  return DirectCommand{std::move(program), std::move(*words)};
}

std::string expand_vars(const std::string& value, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 2, "${") == 0) {
      size_t end = value.find('}', i + 2);
      if (end != std::string::npos) {
        auto it = vars.find(value.substr(i + 2, end - i - 2));
        if (it != vars.end()) out += it->second;
        i = end;
        continue;
      }
    }
    out += value[i];
  }
  return out;
}

std::string search_path(const std::vector<std::string>& env) {
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  return path;
}

}  // namespace yardstick
