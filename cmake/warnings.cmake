# Strict warnings for our own targets, through an INTERFACE target.
add_library(dkimkit_warnings INTERFACE)
target_compile_options(dkimkit_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${DKIMKIT_WERROR}>:-Werror>)
