// What a job may hand to git and where it may run, checked by the pipeline
// validator, the coordinator and, on its own, the agent (which cannot trust
// the coordinator to have checked). Each returns why the value is refused,
// or "" when it is fine.
#pragma once

#include <string>
#include <string_view>

namespace yardstick {

// A checkout repository: no leading '-' (git would read an option), no
// control character, and none of git's command-running transports (ext::,
// fd::).
std::string repository_problem(std::string_view repo);

// Whether git would read `repo` as a local path that is not absolute
// (".", "../app", "~/src/app": git expands no '~'), which means nothing on
// an agent. URLs ("https://", "file:///"), scp-like "host:path" and
// absolute paths are not.
bool is_relative_local_path(std::string_view repo);

// A revision (branch, tag, commit, HEAD~1, ...; empty: the default branch):
// no leading '-', no space or control character.
std::string revision_problem(std::string_view revision);

// A job's workdir: relative ones must stay inside the workspace once
// normalised ("a/../b" is fine, "../x" is not); absolute ones only when
// `allow_absolute`.
std::string workdir_problem(std::string_view workdir, bool allow_absolute);

// Whether `path` is `root` or inside it once both are resolved on disk
// (symbolic links followed as far as the path exists).
bool resolves_inside(const std::string& root, const std::string& path);

}  // namespace yardstick
