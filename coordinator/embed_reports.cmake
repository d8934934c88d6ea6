# Writes a C++ file holding every sql/reports/NAME.sql. Inputs: REPORTS_DIR, OUTPUT.
file(GLOB files "${REPORTS_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(name "${f}" NAME_WE)
  file(READ "${f}" sql)
  string(APPEND body "    {\"${name}\", R\"ysql(${sql})ysql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from sql/reports by embed_reports.cmake. Do not edit.
#include \"coordinator/reports.hpp\"

namespace yardstick {

const std::map<std::string, std::string>& reports() {
  static const std::map<std::string, std::string> all = {
${body}  };
  return all;
}

}  // namespace yardstick
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
