// The sender a message is signed for (dkimkit/sender.hpp): the fields that name it, kept as they
// arrive, and the rules that choose its domain and mailbox.
#include <dkimkit/message.hpp>
#include <dkimkit/sender.hpp>
#include <utility>

#include "util/strings.hpp"

namespace dkimkit {

sender_fields::sender_fields(std::vector<std::string> sender_headers)
    : sender_headers_(std::move(sender_headers)) {
  fields_.push_back({"From", {}, false});
  for (const auto& name : sender_headers_)
    if (find(name) == npos) fields_.push_back({name, {}, false});
}

std::size_t sender_fields::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < fields_.size(); ++i)
    if (iequals(fields_[i].name, name)) return i;
  return npos;
}

void sender_fields::add(std::string_view name, std::string_view value) {
  const std::size_t i = find(name);
  if (i == npos) return;
  named& f = fields_[i];
  if (f.values.size() < max_fields)
    f.values.emplace_back(value);
  else
    f.overflow = true;
}

std::span<const std::string> sender_fields::values(std::string_view name) const noexcept {
  const std::size_t i = find(name);
  return i == npos ? std::span<const std::string>()
                   : std::span<const std::string>(fields_[i].values);
}

bool sender_fields::overflow(std::string_view name) const noexcept {
  const std::size_t i = find(name);
  return i != npos && fields_[i].overflow;
}

result<std::vector<std::string>> author_domains(const sender_fields& fields) {
  if (fields.overflow("From"))
    return fail(errc::multiple_from,
                "more than " + std::to_string(sender_fields::max_fields) + " From fields");
  auto from = fields.values("From");
  std::vector<std::string_view> views(from.begin(), from.end());
  return author_domains(views);
}

result<sender> choose_sender(const sender_fields& fields, const sender_options& opts) {
  if (fields.values("From").empty()) return fail(errc::no_from);
  sender out;
  std::span<const std::string> values;
  for (const auto& name : fields.sender_headers()) {
    values = fields.values(name);
    if (values.empty()) continue;
    out.field = name;
    break;
  }
  if (values.empty()) return fail(errc::invalid_argument, "no field of sender_headers is present");
  if (fields.overflow(out.field))
    return fail(errc::header_too_large, "more than " + std::to_string(sender_fields::max_fields) +
                                            " " + out.field + " fields");
  // The mailboxes of the field(s) that count: every one, or the first field's alone.
  if (opts.first_mailbox) values = values.first(1);
  std::vector<mailbox> boxes;
  for (const auto& value : values) {
    auto list = parse_mailbox_list(value);
    if (!list) return tl::unexpected(std::move(list.error()));
    for (auto& m : *list) {
      if (!detail::is_dns_name(m.domain, 1))
        return fail(errc::invalid_argument,
                    out.field + ": the domain " + m.domain + " is not a DNS name");
      boxes.push_back(std::move(m));
    }
  }
  if (boxes.empty()) return fail(errc::invalid_argument, out.field + ": no mailbox");
  out.domain = boxes.front().domain;
  // A table row is chosen by the whole address: one field holding one mailbox.
  if (opts.first_mailbox || (values.size() == 1 && boxes.size() == 1)) {
    out.address = std::move(boxes.front());
    return out;
  }
  for (const auto& m : boxes)
    if (m.domain != out.domain)
      return fail(errc::invalid_argument, out.field + ": mailboxes in several domains (" +
                                              out.domain + ", " + m.domain + ")");
  return out;
}

}  // namespace dkimkit
