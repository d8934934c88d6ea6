// A job's checkout on the agent: the shell script of its checkout step (a
// shared, locked repository cache under the agent's home, and a workspace
// that borrows its objects), and where the job's steps run.
//
// The values checked before (common/checkout.hpp) still reach git only
// after "--" or "--end-of-options", shell-quoted; git's ext:: and fd::
// transports are off.
#pragma once

#include <string>

namespace yardstick {

// Quotes `s` for /bin/sh.
std::string shell_quote(const std::string& s);

// The checkout step's script: clones or updates the cache of `repo` under
// `home`/repos, makes `workspace` a clone at the commit `revision` names
// ("": HEAD), and writes that commit's hash to `workspace`.revision. A
// cache found broken is removed and cloned again, once.
std::string checkout_script(const std::string& home, const std::string& repo,
                            const std::string& revision, const std::string& workspace);

// Where a job's steps run: `workdir` (relative to `workspace`, or absolute)
// normalised lexically, without a trailing '/'; the workspace when empty.
// Symbolic links are not followed (resolves_inside() checks them once the
// checkout made them).
std::string job_cwd(const std::string& workspace, const std::string& workdir);

}  // namespace yardstick
