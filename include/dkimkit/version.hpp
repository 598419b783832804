// dkimkit/version.hpp: the version of the dkimkit library in use.
//
//   std::cout << "built with dkimkit " << dkimkit::version() << "\n";   // "0.1.0"
//
// The one version comes from `project(dkimkit VERSION ...)` in the top CMakeLists.txt; the
// programs (`dkimkit --version`, `dkimkit-milter --version`) print this same string.
#pragma once

#include <string_view>

namespace dkimkit {

// "MAJOR.MINOR.PATCH" of the library the program runs with.
[[nodiscard]] std::string_view version() noexcept;

}  // namespace dkimkit
