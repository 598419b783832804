#include <dkimkit/version.hpp>

#ifndef DKIMKIT_VERSION_STRING
#error "DKIMKIT_VERSION_STRING comes from project(VERSION) in CMakeLists.txt"
#endif

namespace dkimkit {

std::string_view version() noexcept { return DKIMKIT_VERSION_STRING; }

}  // namespace dkimkit
