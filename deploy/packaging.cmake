# Installing and packaging yardstick (docs/install.md).
#
# `cmake --install` lays out, per component:
#   coordinator  bin/yardstick-coordinator, share/yardstick/migrations,
#                SYSCONFDIR/yardstick/coordinator.env, its systemd unit
#   agent        bin/yardstick-agent, SYSCONFDIR/yardstick/agent.env, its
#                systemd unit and the user unit (systemctl --user)
#   cli          bin/yardstick, share/yardstick/reports and examples, the
#                bash and zsh completions
# The binaries carry the migrations and reports built in; the installed
# copies are for psql and for reading, so no binary looks for a file of the
# build or source tree.
#
# `cpack -G DEB` makes one package per component: yardstick-coordinator,
# yardstick-agent and yardstick. Packages want -DCMAKE_INSTALL_PREFIX=/usr
# (SYSCONFDIR is then /etc, as the units and maintainer scripts expect).
include(GNUInstallDirs)

set(YARDSTICK_DEPLOY_DIR ${PROJECT_SOURCE_DIR}/deploy)

# Where the env files and the systemd units go. Under prefix /usr (the
# packages) they are /etc/yardstick and /lib/systemd/system, where Debian 12
# keeps them; under any other prefix, folders of the prefix (relative, so
# that `cmake --install --prefix` moves them too).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(YARDSTICK_SYSCONF_DEST "${CMAKE_INSTALL_FULL_SYSCONFDIR}/yardstick")
  set(_systemd_system_default "/lib/systemd/system")
else()
  set(YARDSTICK_SYSCONF_DEST "${CMAKE_INSTALL_SYSCONFDIR}/yardstick")
  set(_systemd_system_default "lib/systemd/system")
endif()
# -DYARDSTICK_SYSTEMD_SYSTEM_DIR= and -DYARDSTICK_SYSTEMD_USER_DIR= choose others.
if(NOT DEFINED YARDSTICK_SYSTEMD_SYSTEM_DIR)
  set(YARDSTICK_SYSTEMD_SYSTEM_DIR "${_systemd_system_default}")
endif()
if(NOT DEFINED YARDSTICK_SYSTEMD_USER_DIR)
  set(YARDSTICK_SYSTEMD_USER_DIR "lib/systemd/user")
endif()
# What the units name: the configured prefix's own folders.
set(YARDSTICK_SYSCONF_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/yardstick")

# The units as written in deploy/systemd name /usr/bin and /etc/yardstick
# (the packages' layout); another prefix gets copies that name its own.
set(YARDSTICK_UNITS_DIR ${PROJECT_BINARY_DIR}/deploy/systemd)
foreach(unit yardstick-coordinator.service yardstick-agent.service user/yardstick-agent.service)
  file(READ ${YARDSTICK_DEPLOY_DIR}/systemd/${unit} _text)
  string(REPLACE "/usr/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" _text "${_text}")
  string(REPLACE "/etc/yardstick/" "${YARDSTICK_SYSCONF_DIR}/" _text "${_text}")
  file(GENERATE OUTPUT ${YARDSTICK_UNITS_DIR}/${unit} CONTENT "${_text}")
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${YARDSTICK_DEPLOY_DIR}/systemd/yardstick-coordinator.service
  ${YARDSTICK_DEPLOY_DIR}/systemd/yardstick-agent.service
  ${YARDSTICK_DEPLOY_DIR}/systemd/user/yardstick-agent.service)

# Shell completion, written by the CLI from its own command tree.
set(YARDSTICK_COMPLETION_DIR ${PROJECT_BINARY_DIR}/deploy/completion)
add_custom_command(
  OUTPUT ${YARDSTICK_COMPLETION_DIR}/yardstick ${YARDSTICK_COMPLETION_DIR}/_yardstick
  COMMAND ${CMAKE_COMMAND} -E make_directory ${YARDSTICK_COMPLETION_DIR}
  COMMAND sh -c "\"$1\" completion bash >\"$2\" && \"$1\" completion zsh >\"$3\"" completion
    $<TARGET_FILE:yardstick> ${YARDSTICK_COMPLETION_DIR}/yardstick
    ${YARDSTICK_COMPLETION_DIR}/_yardstick
  DEPENDS yardstick
  COMMENT "Writing the bash and zsh completions of yardstick"
  VERBATIM)
add_custom_target(yardstick_completion ALL
  DEPENDS ${YARDSTICK_COMPLETION_DIR}/yardstick ${YARDSTICK_COMPLETION_DIR}/_yardstick)

# Each package's /usr/share/doc: copyright and a changelog naming the version.
set(YARDSTICK_PACKAGE_MAINTAINER "yardstick maintainers <yardstick@example.org>" CACHE STRING
  "the Maintainer of the Debian packages (name <address>)")
set(CPACK_PACKAGE_CONTACT "${YARDSTICK_PACKAGE_MAINTAINER}")
# The copyright's years: from the first commit's to the last one's.
execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log --reverse --date=format:%Y --format=%ad
  OUTPUT_VARIABLE _years OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
string(REPLACE "\n" ";" _years "${_years}")
if(_years)
  list(GET _years 0 _first_year)
  list(GET _years -1 _last_year)
else()
  string(TIMESTAMP _first_year "%Y" UTC)
  set(_last_year ${_first_year})
endif()
if(_first_year STREQUAL _last_year)
  set(YARDSTICK_COPYRIGHT_YEARS ${_first_year})
else()
  set(YARDSTICK_COPYRIGHT_YEARS "${_first_year}-${_last_year}")
endif()
execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log -1 "--date=format:%a, %d %b %Y %H:%M:%S %z"
  --format=%ad OUTPUT_VARIABLE YARDSTICK_DEB_DATE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT YARDSTICK_DEB_DATE)
  string(TIMESTAMP YARDSTICK_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
set(YARDSTICK_DEB_PACKAGES yardstick-coordinator yardstick-agent yardstick)
set(YARDSTICK_DEB_COMPONENTS coordinator agent cli)
foreach(package component IN ZIP_LISTS YARDSTICK_DEB_PACKAGES YARDSTICK_DEB_COMPONENTS)
  set(YARDSTICK_DEB_PACKAGE ${package})
  set(_doc ${PROJECT_BINARY_DIR}/deploy/doc/${package})
  configure_file(${YARDSTICK_DEPLOY_DIR}/debian/changelog.in ${_doc}/changelog @ONLY)
  configure_file(${YARDSTICK_DEPLOY_DIR}/debian/copyright.in ${_doc}/copyright @ONLY)
  # lintian's overrides, each with its reason.
  install(FILES ${YARDSTICK_DEPLOY_DIR}/debian/${component}/lintian-overrides
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ${package}
    COMPONENT ${component})
  add_custom_command(OUTPUT ${_doc}/changelog.gz
    COMMAND gzip -n -9 -c ${_doc}/changelog > ${_doc}/changelog.gz
    DEPENDS ${_doc}/changelog)
  list(APPEND _changelogs ${_doc}/changelog.gz)
  install(FILES ${_doc}/copyright ${_doc}/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
endforeach()
add_custom_target(yardstick_changelogs ALL DEPENDS ${_changelogs})

# coordinator
install(TARGETS yardstick-coordinator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT coordinator)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sql/migrations
  DESTINATION ${CMAKE_INSTALL_DATADIR}/yardstick COMPONENT coordinator
  FILES_MATCHING PATTERN "*.sql")
if(YARDSTICK_EXTRA_MIGRATIONS_DIR) # tests only (coordinator/CMakeLists.txt)
  install(DIRECTORY ${YARDSTICK_EXTRA_MIGRATIONS_DIR}/
    DESTINATION ${CMAKE_INSTALL_DATADIR}/yardstick/migrations COMPONENT coordinator
    FILES_MATCHING PATTERN "*.sql")
endif()
install(FILES ${YARDSTICK_DEPLOY_DIR}/etc/coordinator.env DESTINATION ${YARDSTICK_SYSCONF_DEST}
  COMPONENT coordinator)
install(FILES ${YARDSTICK_UNITS_DIR}/yardstick-coordinator.service
  DESTINATION ${YARDSTICK_SYSTEMD_SYSTEM_DIR} COMPONENT coordinator)

# agent
install(TARGETS yardstick-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(FILES ${YARDSTICK_DEPLOY_DIR}/etc/agent.env DESTINATION ${YARDSTICK_SYSCONF_DEST}
  COMPONENT agent)
install(FILES ${YARDSTICK_UNITS_DIR}/yardstick-agent.service
  DESTINATION ${YARDSTICK_SYSTEMD_SYSTEM_DIR} COMPONENT agent)
install(FILES ${YARDSTICK_UNITS_DIR}/user/yardstick-agent.service
  DESTINATION ${YARDSTICK_SYSTEMD_USER_DIR} COMPONENT agent)

# cli
install(TARGETS yardstick RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sql/reports
  DESTINATION ${CMAKE_INSTALL_DATADIR}/yardstick COMPONENT cli FILES_MATCHING PATTERN "*.sql")
install(DIRECTORY ${YARDSTICK_DEPLOY_DIR}/examples
  DESTINATION ${CMAKE_INSTALL_DATADIR}/yardstick COMPONENT cli USE_SOURCE_PERMISSIONS)
install(FILES ${YARDSTICK_COMPLETION_DIR}/yardstick
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT cli)
install(FILES ${YARDSTICK_COMPLETION_DIR}/_yardstick
  DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions COMPONENT cli)

# Debian packages.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME yardstick)
set(CPACK_PACKAGE_VENDOR "the yardstick authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "build, benchmark and deploy jobs timed in PostgreSQL")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL coordinator agent cli)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(_deb_version "${PROJECT_VERSION}")
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_NAME yardstick-coordinator)
# libcurl4: loaded at run time for webhooks and HTTP checks (common/curl_library.cpp),
# so shlibdeps does not see it.
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_DEPENDS "adduser, libcurl4, yardstick (= ${_deb_version})")
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_RECOMMENDS "postgresql")
set(CPACK_DEBIAN_COORDINATOR_DESCRIPTION
  "yardstick coordinator: schedules jobs and keeps their timings\n\
 yardstick runs build, benchmark and deploy jobs on a fleet of machines and\n\
 keeps every timing in PostgreSQL. The coordinator schedules jobs on agents,\n\
 takes the CLI's requests and owns the database; it runs as a systemd service\n\
 configured from /etc/yardstick/coordinator.env.")
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_CONTROL_EXTRA
  "${YARDSTICK_DEPLOY_DIR}/debian/coordinator/postinst;${YARDSTICK_DEPLOY_DIR}/debian/coordinator/prerm;${YARDSTICK_DEPLOY_DIR}/debian/coordinator/postrm;${YARDSTICK_DEPLOY_DIR}/debian/coordinator/conffiles")

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME yardstick-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser, libcurl4, yardstick (= ${_deb_version})")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "git")
set(CPACK_DEBIAN_AGENT_DESCRIPTION
  "yardstick agent: runs build, benchmark and deploy jobs\n\
 yardstick runs build, benchmark and deploy jobs on a fleet of machines and\n\
 keeps every timing in PostgreSQL. The agent runs jobs on a build host for a\n\
 coordinator; it runs as a systemd service configured from\n\
 /etc/yardstick/agent.env, or as a user service on a developer's machine.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
  "${YARDSTICK_DEPLOY_DIR}/debian/agent/postinst;${YARDSTICK_DEPLOY_DIR}/debian/agent/prerm;${YARDSTICK_DEPLOY_DIR}/debian/agent/postrm;${YARDSTICK_DEPLOY_DIR}/debian/agent/conffiles")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME yardstick)
set(CPACK_DEBIAN_CLI_PACKAGE_SUGGESTS "postgresql-client")
set(CPACK_DEBIAN_CLI_DESCRIPTION
  "yardstick command line: submit pipelines and read their results\n\
 yardstick runs build, benchmark and deploy jobs on a fleet of machines and\n\
 keeps every timing in PostgreSQL. This is its command line: submit, status,\n\
 logs, agents, report, compare, keygen, with the SQL reports and examples.")

include(CPack)
