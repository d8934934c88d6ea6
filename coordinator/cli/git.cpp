#include "coordinator/cli/git.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>

namespace yardstick {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool run_ok(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

bool here_is_clone_of(const std::string& repo) {
  if (repo.empty()) return true;
  const std::string top = run_capture("git rev-parse --show-toplevel 2>/dev/null");
  if (top.empty()) return false;
  std::error_code ec;
  const std::string path = repo.rfind("file://", 0) == 0 ? repo.substr(7) : repo;
  if (std::filesystem::equivalent(top, path, ec)) return true;
  std::istringstream remotes(run_capture("git remote -v 2>/dev/null"));
  std::string name, url, kind;
  while (remotes >> name >> url >> kind)
    if (url == repo) return true;
  return false;
}

std::string history_of(const std::string& repo, std::string* problem) {
  if (here_is_clone_of(repo)) {
    const std::string dir = run_capture("git rev-parse --absolute-git-dir 2>/dev/null");
    if (!dir.empty()) return dir;
  }
  std::string base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    base = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    base = std::string(h) + "/.cache";
  else
    base = std::filesystem::temp_directory_path().string();
  char name[32];
  std::snprintf(name, sizeof name, "%016zx.git", std::hash<std::string>{}(repo));
  const std::string dir = base + "/yardstick/repos/" + name;
  std::error_code ec;
  if (std::filesystem::exists(dir + "/HEAD", ec)) {
    if (run_ok("git -C " + shell_quote(dir) + " fetch --quiet --prune -- " + shell_quote(repo) +
               " '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'"))
      return dir;
    std::filesystem::remove_all(dir, ec);  // a clone that cannot fetch: start again
  }
  std::filesystem::create_directories(base + "/yardstick/repos", ec);
  if (run_ok("git clone --quiet --bare --filter=blob:none -- " + shell_quote(repo) + " " +
             shell_quote(dir)))
    return dir;
  *problem = "cannot clone " + repo + " into " + dir + " to list its commits";
  return "";
}

std::string resolve_commit(const std::string& git_dir, const std::string& rev) {
  if (rev.empty() || rev[0] == '-') return "";
  return run_capture("git -C " + shell_quote(git_dir) + " rev-parse --verify --quiet " +
                     shell_quote(rev + "^{commit}") + " 2>/dev/null");
}

std::vector<std::string> commits_between(const std::string& git_dir, const std::string& good,
                                         const std::string& bad) {
  std::istringstream in(run_capture("git -C " + shell_quote(git_dir) +
                                    " rev-list --first-parent --reverse " + shell_quote(good) +
                                    ".." + shell_quote(bad) + " 2>/dev/null"));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string commit_subject(const std::string& git_dir, const std::string& commit) {
  return run_capture("git -C " + shell_quote(git_dir) + " log -1 --format=%s " +
                     shell_quote(commit) + " 2>/dev/null");
}

}  // namespace yardstick
