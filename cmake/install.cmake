# Install rules (GNUInstallDirs): the programs, the shared libraries, the public headers, a CMake
# package (find_package(dkimkit CONFIG) -> dkimkit::dkimkit, dkimkit::zone, dkimkit::unbound,
# dkimkit::redis, dkimkit::policy) and one pkg-config file per library. `make install` and
# debian/rules use them.
#
# Components: Runtime (lib*.so.N), Development (headers, lib*.so, CMake package, .pc files),
# Programs (dkimkit, dkimkit-milter).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DKIMKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dkimkit)

# Programs installed away from the system library directories (e.g. PREFIX=/opt/dkimkit) find the
# libraries next to them: bin/ and sbin/ -> ../lib. Nothing is added for /usr (the Debian build).
list(FIND CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES
     "${CMAKE_INSTALL_FULL_LIBDIR}" dkimkit_libdir_is_system)
if(dkimkit_libdir_is_system EQUAL -1 AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(dkimkit_program_rpath "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  set(dkimkit_library_rpath "$ORIGIN")
endif()

if(TARGET dkimkit-cli)
  set_target_properties(dkimkit-cli PROPERTIES INSTALL_RPATH "${dkimkit_program_rpath}")
  install(TARGETS dkimkit-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Programs)
endif()
if(TARGET dkimkit-milter)
  set_target_properties(dkimkit-milter PROPERTIES INSTALL_RPATH "${dkimkit_program_rpath}")
  install(TARGETS dkimkit-milter RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT Programs)
endif()

if(NOT BUILD_SHARED_LIBS)
  # Static libraries would need their private dependencies (OpenSSL, ldns, libpsl, libunbound,
  # hiredis) in the package and the .pc files; only the shared build is installable.
  message(STATUS "dkimkit: BUILD_SHARED_LIBS is off: the programs are installed, the static "
                 "libraries, headers, CMake package and pkg-config files are not")
  return()
endif()

set(dkimkit_libraries dkimkit dkimkit_zone dkimkit_unbound dkimkit_redis dkimkit_policy)
set_target_properties(dkimkit PROPERTIES EXPORT_NAME dkimkit)
set_target_properties(dkimkit_zone PROPERTIES EXPORT_NAME zone)
set_target_properties(dkimkit_unbound PROPERTIES EXPORT_NAME unbound)
set_target_properties(dkimkit_redis PROPERTIES EXPORT_NAME redis)
set_target_properties(dkimkit_policy PROPERTIES EXPORT_NAME policy)
set_target_properties(${dkimkit_libraries} PROPERTIES INSTALL_RPATH "${dkimkit_library_rpath}")

install(TARGETS ${dkimkit_libraries} EXPORT dkimkitTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Runtime
                NAMELINK_COMPONENT Development)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dkimkit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development)

install(EXPORT dkimkitTargets NAMESPACE dkimkit:: DESTINATION ${DKIMKIT_CMAKE_DIR}
        COMPONENT Development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/dkimkitConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/dkimkitConfig.cmake
                              INSTALL_DESTINATION ${DKIMKIT_CMAKE_DIR})
# 0.x: a new minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/dkimkitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/dkimkitConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/dkimkitConfigVersion.cmake
        DESTINATION ${DKIMKIT_CMAKE_DIR} COMPONENT Development)

# pkg-config: dkimkit, dkimkit-zone, dkimkit-unbound, dkimkit-redis, dkimkit-policy. The prefix is written when
# installing, so `cmake --install BUILD --prefix DIR` gives files that point at DIR.
set(pc_description_dkimkit "DKIM (RFC 6376) signing and verification (C++20)")
set(pc_description_dkimkit_zone "dkimkit: DKIM keys from RFC 1035 zone files")
set(pc_description_dkimkit_unbound "dkimkit: DKIM keys from DNS through libunbound")
set(pc_description_dkimkit_redis "dkimkit: DKIM replay counts shared through Redis (hiredis)")
set(pc_description_dkimkit_policy "dkimkit: author domain, alignment and SMTP replies")
set(DKIMKIT_PC_PREFIX "@DKIMKIT_PC_PREFIX@")  # kept for the install-time substitution
foreach(lib IN LISTS dkimkit_libraries)
  get_target_property(pc_name ${lib} OUTPUT_NAME)
  set(pc_description "${pc_description_${lib}}")
  if(lib STREQUAL "dkimkit")
    set(pc_requires "")
  else()
    set(pc_requires "dkimkit = ${PROJECT_VERSION}")
  endif()
  set(pc_template ${PROJECT_BINARY_DIR}/pkgconfig/${pc_name}.pc.in)
  set(pc_file ${PROJECT_BINARY_DIR}/pkgconfig/${pc_name}.pc)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/dkimkit.pc.in ${pc_template} @ONLY)
  install(CODE "
    file(READ \"${pc_template}\" pc)
    string(REPLACE \"@DKIMKIT_PC_PREFIX@\" \"\${CMAKE_INSTALL_PREFIX}\" pc \"\${pc}\")
    file(WRITE \"${pc_file}\" \"\${pc}\")" COMPONENT Development)
  install(FILES ${pc_file} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT Development)
endforeach()
