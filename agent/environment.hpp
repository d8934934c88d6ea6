// What a step gets of the agent's environment: not all of it (the agent's
// may hold credentials), only the variables of an allow-list: the default
// one below and the agent's --pass-env names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/types.hpp"

namespace yardstick {

// The variables every step gets from the agent's environment when set
// there: where programs, the home and temporary files are, the locale, the
// terminal and the time zone, and the caches of the tools whose collectors
// yardstick runs. Entries may end in '*' (LC_*).
const std::vector<std::string>& default_pass_env();

// NAME=value strings (as `environ` holds them) as a map; entries without '=' are skipped.
EnvVars environment_of(char** envp);

// "NAME,OTHER,CCACHE_*" -> names and patterns (shell globs: * and ?). On an
// entry that is neither, returns nothing and sets `error` naming it; else
// clears `error`.
std::vector<std::string> parse_pass_env(std::string_view text, std::string* error);

// The variables of `all` whose names match one of `patterns`.
EnvVars allowed_environment(const EnvVars& all, const std::vector<std::string>& patterns);

}  // namespace yardstick
