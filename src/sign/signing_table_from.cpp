// select_keys_for_from (dkimkit/signing_table.hpp): the sender is the From field's mailbox, as
// the RFC 5322 parser of dkimkit/policy.hpp reads it; in the dkimkit::policy library.
#include <dkimkit/policy.hpp>
#include <dkimkit/signing_table.hpp>

namespace dkimkit {

result<std::vector<selected_key>> select_keys_for_from(const signing_table& signing,
                                                       const key_table& keys,
                                                       std::string_view from_value, bool multiple) {
  auto list = parse_mailbox_list(from_value);
  if (!list) return tl::unexpected(std::move(list.error()));
  if (list->size() != 1)
    return fail(errc::invalid_argument,
                "the From field holds " + std::to_string(list->size()) + " mailboxes, not one");
  const mailbox& m = list->front();
  return select_keys(signing, keys, m.local_part, m.domain, multiple);
}

}  // namespace dkimkit
