// Shell completion for `yardstick`, written from the CLI11 command tree
// itself (subcommands, options, positionals), so that it cannot drift from
// the command line: `yardstick completion bash|zsh` prints it, and the
// build installs its output.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace yardstick {

// What a value of an option or positional is completed with, from the
// option's type name: "FILE" → file names, "REPORT" → `report_names`, a
// CLI::IsMember validator → its members; anything else → nothing.
//
// The script for `shell` ("bash" or "zsh") completing program `program`
// from `app`: every visible subcommand with its options and positionals,
// and the app's own options before or after the subcommand (the CLI takes
// them both ways). Hidden subcommands (empty group) are left out. Returns
// "" for an unknown shell.
std::string completion_script(const CLI::App& app, const std::string& program,
                              const std::string& shell,
                              const std::vector<std::string>& report_names);

}  // namespace yardstick
