#include "common/checkout.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace yardstick {

namespace fs = std::filesystem;

namespace {
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// The transport of "<transport>::<address>", lower-cased; "" when none.
std::string helper_transport(std::string_view repo) {
  const size_t colons = repo.find("::");
  if (colons == std::string_view::npos) return "";
  std::string name(repo.substr(0, colons));
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '+' && c != '.') return "";
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}
}  // namespace

std::string repository_problem(std::string_view repo) {
  if (repo.empty()) return "the repository is empty";
  if (repo.front() == '-')
    return "the repository '" + std::string(repo) +
           "' starts with '-', which git would read as an option";
  if (has_control(repo)) return "the repository holds a control character";
  const std::string transport = helper_transport(repo);
  if (transport == "ext" || transport == "fd")
    return "the repository '" + std::string(repo) + "' uses git's " + transport +
           ":: transport, which runs commands or opens descriptors of the agent; use a file, "
           "ssh, git or http(s) URL";
  return "";
}

bool is_relative_local_path(std::string_view repo) {
  if (repo.empty() || repo.front() == '/') return false;
  if (repo.find("://") != std::string_view::npos || !helper_transport(repo).empty()) return false;
  // git: "host:path" is ssh unless a '/' comes before the first ':'.
  const size_t colon = repo.find(':');
  const size_t slash = repo.find('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash))
    return false;
  return true;
}

std::string revision_problem(std::string_view revision) {
  if (revision.empty()) return "";
  if (revision.front() == '-')
    return "the revision '" + std::string(revision) +
           "' starts with '-', which git would read as an option";
  if (has_control(revision) || revision.find(' ') != std::string_view::npos)
    return "the revision holds a space or a control character";
  return "";
}

std::string workdir_problem(std::string_view workdir, bool allow_absolute) {
  if (workdir.empty()) return "";
  if (has_control(workdir)) return "the workdir holds a control character";
  const fs::path path(workdir);
  if (path.is_absolute())
    return allow_absolute
               ? ""
               : "the workdir '" + std::string(workdir) +
                     "' is an absolute path; this agent runs jobs only inside their workspace "
                     "(start it with --allow-absolute-workdir to allow absolute workdirs)";
  const fs::path normal = path.lexically_normal();
  if (!normal.empty() && *normal.begin() == "..")
    return "the workdir '" + std::string(workdir) + "' leads out of the workspace";
  return "";
}

bool resolves_inside(const std::string& root, const std::string& path) {
  std::error_code ec;
  const fs::path r = fs::weakly_canonical(root, ec);
  if (ec) return false;
  const fs::path p = fs::weakly_canonical(path, ec);
  if (ec) return false;
  const fs::path rel = p.lexically_relative(r);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace yardstick
