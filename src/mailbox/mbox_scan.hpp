// The scan behind mbox_reader (dkimkit/mailbox.hpp): where the next line that may need a look at
// its start begins. Both versions are compiled on x86 so that the tests can compare them.
#pragma once

#include <cstddef>

namespace dkimkit::detail {

// The first LF in d[i, n) that ends the input or is followed by 'F', '>', CR or LF (a byte that
// may start a separator, a quoted "From ", an empty line or a CR), or n.
std::size_t mbox_line_break_scalar(const char* d, std::size_t i, std::size_t n) noexcept;
#if defined(__SSE2__)
// The same, 16 bytes a step.
std::size_t mbox_line_break_sse2(const char* d, std::size_t i, std::size_t n) noexcept;
#endif

// Test hook: while true, every mbox_reader uses mbox_line_break_scalar() (SSE2 otherwise, where
// it is compiled). Set it only while no mbox_reader is in use on another thread.
void use_scalar_mbox_scan(bool scalar) noexcept;

}  // namespace dkimkit::detail
