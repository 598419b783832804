# tools/ and milter/ include only public headers (include/dkimkit/...), never the library's private
# ones under src/. Fails (listing file, line and include) when a file under ROOT/tools or
# ROOT/milter has
#   - an #include "..." that is not a file of its own directory (a path, or a header from
#     elsewhere: src/, another program's directory), or
#   - an #include <...> that names a file under ROOT/src.
# Run: cmake -DROOT=<source tree> -P public_headers_only.cmake
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source tree> -P public_headers_only.cmake")
endif()
file(GLOB_RECURSE files LIST_DIRECTORIES false ${ROOT}/tools/* ${ROOT}/milter/*)
list(FILTER files INCLUDE REGEX "\\.(c|cc|cpp|cxx|h|hh|hpp|hxx|ipp|inc)$")
if(NOT files)
  message(FATAL_ERROR "no source files under ${ROOT}/tools or ${ROOT}/milter")
endif()
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
      if(EXISTS "${ROOT}/src/${CMAKE_MATCH_1}")
        string(APPEND bad "  ${rel}: ${line}: a private header of the library (src/)\n")
      endif()
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "tools/ and milter/ must include only public headers (include/dkimkit/...):\n${bad}")
endif()
list(LENGTH files n)
message(STATUS "${n} files under tools/ and milter/ include only public headers")
