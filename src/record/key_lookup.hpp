// key_record_from_answer() with the record shared rather than copied (the verifier's path: a
// key-cache hit hands out the cached record itself).
#pragma once

#include <memory>
#include <string_view>
#include <utility>

#include <dkimkit/key_record.hpp>

namespace dkimkit::detail {

using shared_key_record = result<std::shared_ptr<const key_record>>;

// The outcome of a parse, shared.
[[nodiscard]] inline shared_key_record share(result<key_record> rec) {
  if (!rec) return tl::unexpected(std::move(rec.error()));
  return std::make_shared<const key_record>(std::move(*rec));
}

// key_record_from_answer(answer, name, limits, cache), the same outcome, shared: with a cache the
// record it holds (no copy), else the record parsed.
[[nodiscard]] shared_key_record shared_key_record_from_answer(const txt_answer& answer,
                                                              std::string_view name,
                                                              const key_limits& limits,
                                                              key_cache* cache);

}  // namespace dkimkit::detail
