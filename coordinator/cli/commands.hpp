// The `yardstick` command line. Exit codes: 0 success; 1 a job did not
// succeed (submit --wait); 2 usage or validation error; 3 the coordinator
// cannot be reached; 4 the coordinator refused the request (unknown id...).
#pragma once

namespace yardstick {

int run_cli(int argc, char** argv);

}  // namespace yardstick
