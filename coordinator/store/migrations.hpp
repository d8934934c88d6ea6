// The SQL migrations in sql/migrations/, built into the coordinator so that
// one binary carries the schema it needs.
#pragma once

#include <string>
#include <vector>

namespace yardstick {

struct Migration {
  int version;  // NNNN of NNNN_name.sql
  std::string name;
  std::string sql;
};

// In ascending version order.
const std::vector<Migration>& migrations();

}  // namespace yardstick
