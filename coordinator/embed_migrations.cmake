# Writes a C++ file holding every sql/migrations/NNNN_name.sql, in order.
# Inputs: MIGRATIONS_DIR, OUTPUT.
file(GLOB files "${MIGRATIONS_DIR}/[0-9][0-9][0-9][0-9]_*.sql")
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(base "${f}" NAME_WE)
  string(SUBSTRING "${base}" 0 4 version)
  string(SUBSTRING "${base}" 5 -1 name)
  math(EXPR version "${version}")
  file(READ "${f}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"ysql(${sql})ysql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from sql/migrations by embed_migrations.cmake. Do not edit.
#include \"coordinator/migrations.hpp\"

namespace yardstick {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
${body}  };
  return all;
}

}  // namespace yardstick
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
