#include "coordinator/cli/app.hpp"

int main(int argc, char** argv) {
  return yardstick::run_cli(argc, argv);
}
