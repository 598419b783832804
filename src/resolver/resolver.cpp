#include <dkimkit/resolver.hpp>

#include "util/strings.hpp"

namespace dkimkit {

std::string_view to_string(dnssec_status s) noexcept {
  switch (s) {
    case dnssec_status::secure: return "secure";
    case dnssec_status::insecure: return "insecure";
    case dnssec_status::bogus: return "bogus";
    case dnssec_status::unknown: break;
  }
  return "unknown";
}

std::shared_future<txt_answer> txt_resolver::lookup_txt_async(const std::string& name) const {
  std::promise<txt_answer> p;
  p.set_value(lookup_txt(name));
  return p.get_future().share();
}

namespace {
std::string key_of(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return detail::lowercase(name);
}
}  // namespace

void static_resolver::add(std::string_view name, std::string record) {
  txt_answer& a = names_[key_of(name)];
  a.status = dns_status::found;
  a.records.push_back(std::move(record));
}

void static_resolver::add_name(std::string_view name) {
  txt_answer& a = names_[key_of(name)];
  if (a.records.empty()) a.status = dns_status::nodata;
}

void static_resolver::set_temporary(std::string_view name, std::string detail) {
  txt_answer& a = names_[key_of(name)];
  a.status = dns_status::temporary;
  a.records.clear();
  a.detail = std::move(detail);
}

txt_answer static_resolver::lookup_txt(const std::string& name) const {
  queries_.fetch_add(1);
  auto it = names_.find(key_of(name));
  if (it == names_.end()) return txt_answer{dns_status::nxdomain, {}, "", dnssec_status::unknown};
  return it->second;
}

}  // namespace dkimkit
