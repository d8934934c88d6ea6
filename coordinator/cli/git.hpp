// The few git questions the CLI asks of the repository a pipeline checks
// out: what the current directory is, and (for `yardstick bisect`) the
// commits between two revisions, from a clone the CLI keeps.
#pragma once

#include <string>
#include <vector>

namespace yardstick {

// `text` in single quotes for sh, its own quotes escaped.
std::string shell_quote(const std::string& text);
// The command's standard output without its trailing newline; empty when
// it fails.
std::string run_capture(const std::string& cmd);
// Whether the command exits with 0 (its output discarded).
bool run_ok(const std::string& cmd);
// Whether the current directory is a clone of `repo` (a path, a file://
// URL or a remote URL one of its remotes names); true when `repo` is empty.
bool here_is_clone_of(const std::string& repo);

// A git directory holding `repo`'s history, fetched now: this directory's
// own when it is a clone, else a bare, blob-less clone kept in
// $XDG_CACHE_HOME/yardstick/repos (~/.cache when unset). Empty, with
// `*problem` set, when neither can be had.
std::string history_of(const std::string& repo, std::string* problem);

// The commit `rev` names in `git_dir` (40 hex digits); empty when none.
std::string resolve_commit(const std::string& git_dir, const std::string& rev);
// The first-parent commits after `good` up to `bad` included, oldest
// first (`git rev-list --first-parent --reverse good..bad`).
std::vector<std::string> commits_between(const std::string& git_dir, const std::string& good,
                                         const std::string& bad);
// A commit's subject line.
std::string commit_subject(const std::string& git_dir, const std::string& commit);

}  // namespace yardstick
