// The `yardstick` command line. Exit codes: 0 success; 1 a job did not
// succeed (submit --wait); 2 usage or validation error; 3 the coordinator
// cannot be reached; 4 the coordinator refused the request (unknown id...).
#pragma once

namespace yardstick {

// Reads the command line, runs the one command it names (commands.hpp) and
// returns its exit code; turns what a command throws into a message on
// standard error and its code.
int run_cli(int argc, char** argv);

}  // namespace yardstick
