# The Debian package (CPack DEB): `cmake --build --preset release --target package` writes
# build/release/rtgw_<project version>_amd64.deb and its debug symbols,
# rtgw-dbgsym_<version>_amd64.ddeb. Contents (docs/operations.md "Packages"):
#   /usr/bin/rtgw                                   stripped; symbols in the .ddeb
#   /usr/share/man/man1/rtgw*.1.gz                  generated from the --help texts
#   /etc/rtgw/{serve,relay,agent}.env               conffiles, root:rtgw 0640: every setting of
#                                                   the command, generated from its --help text
#   /usr/lib/systemd/system/rtgw-{serve,relay,agent}.service   deploy/systemd/, hardened
#   /usr/lib/sysusers.d/rtgw.conf                   the system user rtgw (postinst creates it)
#   /usr/share/doc/rtgw/                            README.md, docs/*.md, contracts/, openapi.json,
#                                                   copyright, changelog.gz
# Depends: the Debian packages of the shared libraries rtgw links (dpkg-shlibdeps, from
# dpkg-dev), and adduser. Maintainer scripts, templates, lintian overrides: deploy/debian/.
# Tested by tests/package/test_deb.py (install, units, a start, purge).
# Included for builds without sanitizers or fuzzing only: those binaries are not for shipping.

find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(RTGW_PACKAGE_MAINTAINER "rtgw maintainers <rtgw-maintainers@example.org>"
    CACHE STRING "Maintainer field of the Debian package")

# Man pages, env files and changelog, made from the installed binary's --help texts at install
# time (so during `--target package`, never in `all`: a packaging problem cannot break a build);
# deploy/debian/gen_package_files.py says how. It stops the install on a template variable that
# the command no longer has. A few milliseconds.
set(_rtgw_pkg_gen ${CMAKE_BINARY_DIR}/package-files)
set(_rtgw_pkg_templates ${PROJECT_SOURCE_DIR}/deploy/debian)
install(CODE "
  execute_process(
    COMMAND ${Python3_EXECUTABLE} ${_rtgw_pkg_templates}/gen_package_files.py
            --rtgw $<TARGET_FILE:rtgw> --version ${PROJECT_VERSION}
            --maintainer \"${RTGW_PACKAGE_MAINTAINER}\" --templates ${_rtgw_pkg_templates}
            --out ${_rtgw_pkg_gen}
    RESULT_VARIABLE _rtgw_gen_result)
  if(NOT _rtgw_gen_result EQUAL 0)
    message(FATAL_ERROR \"gen_package_files.py failed (\${_rtgw_gen_result})\")
  endif()")

# Install rules: relative destinations land under CPACK_PACKAGING_INSTALL_PREFIX (/usr).
install(TARGETS rtgw RUNTIME DESTINATION bin)
install(DIRECTORY ${_rtgw_pkg_gen}/man/ DESTINATION share/man)
install(FILES ${_rtgw_pkg_gen}/env/serve.env ${_rtgw_pkg_gen}/env/relay.env
              ${_rtgw_pkg_gen}/env/agent.env
        DESTINATION /etc/rtgw PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/rtgw-serve.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/rtgw-relay.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/rtgw-agent.service
        DESTINATION lib/systemd/system)
install(FILES ${_rtgw_pkg_templates}/rtgw.sysusers DESTINATION lib/sysusers.d RENAME rtgw.conf)
install(FILES ${_rtgw_pkg_templates}/lintian-overrides DESTINATION share/lintian/overrides
        RENAME rtgw)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/openapi.json
              ${_rtgw_pkg_templates}/copyright ${_rtgw_pkg_gen}/changelog.gz
        DESTINATION share/doc/rtgw)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/rtgw
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rtgw)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${RTGW_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "runtime gateway for bring-your-own HPC compute")
# Lines under 80 columns: CPack keeps them as given (lintian: extended-description-line-too-long).
set(CPACK_PACKAGE_DESCRIPTION
    "rtgw sits between a research product and the clusters its users bring. The
product submits jobs; a management node (Slurm) runs them and reports lifecycle
events; rtgw keeps the durable, tenant-scoped, ordered record of every job and
relays status changes to the product.
This package holds the rtgw binary and systemd units for the gateway (rtgw
serve), the projection relay (rtgw relay run) and the management-node agent
(rtgw agent), each configured in /etc/rtgw and run as the system user rtgw.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the postinst's fallback where systemd-sysusers is absent (Priority important, so
# nearly always there; lintian wants it named).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, slurm-client, munge")
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_rtgw_pkg_templates}/conffiles ${_rtgw_pkg_templates}/postinst
    ${_rtgw_pkg_templates}/prerm ${_rtgw_pkg_templates}/postrm)
include(CPack)
