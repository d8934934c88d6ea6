# Writes a C++ file holding every sql/migrations/NNNN_name.sql, in order,
# then those of EXTRA_MIGRATIONS_DIR (when set), which must be numbered above.
# Inputs: MIGRATIONS_DIR, EXTRA_MIGRATIONS_DIR (may be empty), OUTPUT.
file(GLOB files "${MIGRATIONS_DIR}/[0-9][0-9][0-9][0-9]_*.sql")
list(SORT files)
if(EXTRA_MIGRATIONS_DIR)
  file(GLOB extra "${EXTRA_MIGRATIONS_DIR}/[0-9][0-9][0-9][0-9]_*.sql")
  list(SORT extra)
  list(APPEND files ${extra})
endif()
set(body "")
set(previous 0)
foreach(f ${files})
  get_filename_component(base "${f}" NAME_WE)
  string(SUBSTRING "${base}" 0 4 version)
  string(SUBSTRING "${base}" 5 -1 name)
  math(EXPR version "${version}")
  if(NOT version GREATER previous)
    message(FATAL_ERROR "${f}: migration ${version} is not numbered above the one before (${previous})")
  endif()
  set(previous ${version})
  file(READ "${f}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"ysql(${sql})ysql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from sql/migrations by embed_migrations.cmake. Do not edit.
#include \"coordinator/store/migrations.hpp\"

namespace yardstick {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
${body}  };
  return all;
}

}  // namespace yardstick
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
