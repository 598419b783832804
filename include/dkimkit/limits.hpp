// dkimkit/limits.hpp: the verifier's limits and local-policy settings, listed once.
//
//   for (const dkimkit::verify_limit& l : dkimkit::verify_limits())
//     std::cout << l.flag << " / [" << l.table << "] " << l.key << ": " << l.default_value() <<
//     "\n";
//
// The command line makes its flags from this table (`dkimkit verify --max-fields`) and
// dkimkit-milter its configuration settings (`[limits] max_fields`). Each entry reads and writes
// one member of verify_options; its default is that member's default. The table is static: its
// entries live as long as the program.
#pragma once

#include <cstdint>
#include <dkimkit/verifier.hpp>
#include <span>
#include <string_view>

namespace dkimkit {

struct verify_limit {
  // How a command line groups it: local policy (RFC 8301) or a bound on what a message may cost.
  enum class kind { policy, limit };

  std::string_view key = {};          // the milter's setting ("max_fields"); "" when it has none
  std::string_view table = {};        // the milter's table holding the setting ("limits", "dns")
  std::string_view flag = {};         // the command line's flag ("--max-fields")
  std::string_view description = {};  // the flag's help text
  std::string_view unit = {};         // "bytes", "bits", "milliseconds", ...; "" for a switch
  kind group = kind::limit;
  // The values a configuration file may set (a switch: 0 and 1). The command line takes any value
  // from 0 to `largest`, so that a limit can be tried out at its extremes.
  std::uint64_t min = 0, max = 0;
  std::uint64_t largest = 0;
  // A switch (true or false): the member it sets, so that a flag can be bound to it. Null for a
  // number.
  bool verify_options::*toggle = nullptr;
  std::uint64_t (*get)(const verify_options&) noexcept = nullptr;
  void (*set)(verify_options&, std::uint64_t value) noexcept = nullptr;  // value <= largest

  [[nodiscard]] bool is_switch() const noexcept { return toggle != nullptr; }
  // The library's default: the member's value in a default verify_options.
  [[nodiscard]] std::uint64_t default_value() const { return get(verify_options{}); }
};

// Every setting, local policy first, in the order `dkimkit verify --help` lists them.
[[nodiscard]] std::span<const verify_limit> verify_limits() noexcept;

// The entry whose milter setting is `key` in `table`; null when there is none.
[[nodiscard]] const verify_limit* find_verify_limit(std::string_view table,
                                                    std::string_view key) noexcept;

}  // namespace dkimkit
