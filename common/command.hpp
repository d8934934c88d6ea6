// How a benchmark's timed command is started: through /bin/sh -c, or
// directly with execve when it is a plain list of words, as hyperfine's
// --shell=none (-N). A shell costs about a millisecond per run; hyperfine
// estimates that cost and subtracts it, yardstick avoids paying it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace yardstick {

enum class ShellMode {
  kAuto,  // directly when the command is plain words naming a program on PATH
  kSh,    // always /bin/sh -c
  kNone,  // always directly; shell syntax is a validation error
};

const char* to_string(ShellMode mode);
std::optional<ShellMode> parse_shell_mode(const std::string& text);

// Splits a command into words as /bin/sh would when it uses only quoting
// ('...', "...", backslash) and no expansion, redirection, pipeline,
// list, glob or assignment. Anything else is nullopt, with the reason.
std::optional<std::vector<std::string>> split_plain_command(const std::string& command,
                                                            std::string* why = nullptr);

// The file execve would run for `word` given PATH (execvp's search; a
// word with a slash is taken relative to `cwd`), or "" when there is none,
// when it is not a binary or a #! script (execvp would give it to a shell),
// or when the word is a shell keyword or builtin that only a shell can run
// (cd, exit, export, ...).
std::string resolve_program(const std::string& word, const std::string& path,
                            const std::string& cwd = "");

// PATH of an environment of NAME=VALUE entries; a default without one.
std::string search_path(const std::vector<std::string>& env);

struct DirectCommand {
  std::string program;            // the file to execve
  std::vector<std::string> argv;  // argv[0] as written
};

// What to execve for the command under `mode`; nullopt when it runs
// through /bin/sh -c. `error` is set when mode is kNone and the command
// cannot run directly.
std::optional<DirectCommand> direct_command(const std::string& command, ShellMode mode,
                                            const std::string& path, const std::string& cwd,
                                            std::string* error);

// `${NAME}` in an env value of a pipeline replaced by NAME's value in
// `vars` (empty when unset), as Buildkite and GitHub Actions interpolate;
// any other `$` is kept as written.
std::string expand_vars(const std::string& value, const std::map<std::string, std::string>& vars);

}  // namespace yardstick
