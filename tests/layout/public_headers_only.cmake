# tools/ and milter/ include only public headers (include/dkimkit/...), never the library's private
# ones under src/. Fails (listing file, line and include) when a file under ROOT/tools or
# ROOT/milter has
#   - an #include "..." that is not a file of its own directory (a path, or a header from
#     elsewhere: src/, another program's directory), or
#   - an #include <...> that names a file under ROOT/src, or
#   - in tools/: an #include <...> that names a file under ROOT/milter, or a milter/ path, except
#     the one allowance below.
# The allowance: tools/cli (check-key --config) reads dkimkit-milter's configuration with its
# readers, and may include exactly <milter/config.hpp> and <milter/opendkim_map.hpp> (the
# include folder dkimkit_milter_config_headers, milter/CMakeLists.txt, holds only these two).
# Run: cmake -DROOT=<source tree> -P public_headers_only.cmake
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source tree> -P public_headers_only.cmake")
endif()
cmake_policy(SET CMP0057 NEW)  # if(... IN_LIST ...)
file(GLOB_RECURSE files LIST_DIRECTORIES false ${ROOT}/tools/* ${ROOT}/milter/*)
list(FILTER files INCLUDE REGEX "\\.(c|cc|cpp|cxx|h|hh|hpp|hxx|ipp|inc)$")
if(NOT files)
  message(FATAL_ERROR "no source files under ${ROOT}/tools or ${ROOT}/milter")
endif()
set(milter_allowed "milter/config.hpp" "milter/opendkim_map.hpp")
set(bad "")
foreach(f IN LISTS files)
  get_filename_component(dir ${f} DIRECTORY)
  file(RELATIVE_PATH rel ${ROOT} ${f})
  file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS lines)
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]*)\"")
      set(inc "${CMAKE_MATCH_1}")
      if(inc MATCHES "/" OR inc MATCHES "^\\.\\.?$" OR NOT EXISTS "${dir}/${inc}")
        string(APPEND bad "  ${rel}: ${line}: not a header of its own directory\n")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<([^>]*)>")
      set(inc "${CMAKE_MATCH_1}")
      if(EXISTS "${ROOT}/src/${inc}")
        string(APPEND bad "  ${rel}: ${line}: a private header of the library (src/)\n")
      elseif(rel MATCHES "^tools/" AND (inc MATCHES "^milter/" OR EXISTS "${ROOT}/milter/${inc}"))
        if(NOT rel MATCHES "^tools/cli/" OR NOT inc IN_LIST milter_allowed)
          string(APPEND bad "  ${rel}: ${line}: a header of dkimkit-milter (milter/) that tools/ "
                            "may not include\n")
        endif()
      endif()
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "tools/ and milter/ must include only public headers (include/dkimkit/...):\n${bad}")
endif()
list(LENGTH files n)
message(STATUS "${n} files under tools/ and milter/ include only public headers")
