// dkimkit/sender.hpp: the sender a message is signed for, as OpenDKIM's SenderHeaders chooses it:
// which header field names the sender (the first of a list present, From by default), the one
// domain that signs and the mailbox a signing table looks up (dkimkit/signing_table.hpp).
//
//   dkimkit::sender_fields fields({"Sender", "From"});
//   for (const auto& [name, value] : header) fields.add(name, value);
//   auto s = dkimkit::choose_sender(fields, {});  // s->domain signs; else s.error() says why not
//
// The rules:
//   - From is always collected: mail without a From field is never signed (every signature must
//     cover From), whichever field names the sender;
//   - the sender field is the first name of sender_headers (ASCII case ignored) of which the
//     message has a field; every field of that name counts;
//   - at most sender_fields::max_fields fields of one name are kept; a message with more of the
//     sender field has no sender (author_domains() of one with more From fields is an error);
//   - by default every mailbox of the sender field(s) must be in one domain, which signs; the
//     signing table looks up the mailbox only when there is one field holding one mailbox;
//   - with sender_options::first_mailbox (OpenDKIM's rule) the first mailbox of the first field
//     decides alone, for the domain and the table.
// The fields are parsed as address lists by parse_mailbox_list (dkimkit/policy.hpp), and each
// domain must be a DNS name: a domain is never guessed. Defined in the dkimkit::policy library.
// A sender_fields owns copies of what it keeps; results own their strings.
#pragma once

#include <cstddef>
#include <dkimkit/error.hpp>
#include <dkimkit/policy.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {

// A message's header fields that may name its sender: From, and those of sender_headers.
class sender_fields {
 public:
  // The fields of one name that are kept: a message with more has no sender of that name.
  static constexpr std::size_t max_fields = 8;

  // `sender_headers`: field names, in order of preference (OpenDKIM's SenderHeaders).
  explicit sender_fields(std::vector<std::string> sender_headers = {"From"});

  // A header field, in the order of the header: its name and its value (what follows the colon,
  // folded as received). Fields of other names are ignored.
  void add(std::string_view name, std::string_view value);

  [[nodiscard]] const std::vector<std::string>& sender_headers() const noexcept {
    return sender_headers_;
  }
  // The values kept of the fields named `name` (ASCII case ignored), in order; empty for a name
  // that is neither From nor in sender_headers.
  [[nodiscard]] std::span<const std::string> values(std::string_view name) const noexcept;
  // Whether more than max_fields fields named `name` were added.
  [[nodiscard]] bool overflow(std::string_view name) const noexcept;

 private:
  struct named {
    std::string name;
    std::vector<std::string> values;
    bool overflow = false;
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  [[nodiscard]] std::size_t find(std::string_view name) const noexcept;  // in fields_, or npos

  std::vector<std::string> sender_headers_;
  std::vector<named> fields_;  // From first, then each other name of sender_headers once
};

// The author domains (author_domains(), dkimkit/policy.hpp) of the From fields kept: an error
// (errc::multiple_from) when there were more than max_fields of them.
[[nodiscard]] result<std::vector<std::string>> author_domains(const sender_fields& fields);

struct sender_options {
  // false (dkimkit-milter's sender_mailbox "only"): all mailboxes of the sender field(s) must be in
  // one domain; true ("first", OpenDKIM's rule): the first mailbox of the first field decides.
  bool first_mailbox = false;
};

struct sender {
  std::string field;   // the sender field's name, as sender_headers spells it
  std::string domain;  // the domain mail is signed for: a DNS name, lowercased
  // The mailbox the signing table looks up (its domain is `domain`): the one mailbox of the one
  // sender field, or with first_mailbox the first mailbox of the first field; nullopt when the
  // field(s) hold several mailboxes of `domain` (a table row is chosen by the whole address).
  std::optional<mailbox> address;
};

// The sender of the message whose fields `fields` kept. An error saying why there is none:
//   errc::no_from            no From field;
//   errc::invalid_argument   no field of sender_headers; a sender field that does not parse,
//                            holds no mailbox, or a domain that is not a DNS name (with
//                            first_mailbox: in the first field only); mailboxes in several
//                            domains (without first_mailbox);
//   errc::header_too_large   more than max_fields fields of the sender field's name.
[[nodiscard]] result<sender> choose_sender(const sender_fields& fields,
                                           const sender_options& opts = {});

}  // namespace dkimkit
