// dkimkit explain --sent SENT RECEIVED: what changed between the two copies, as a failing
// signature of RECEIVED hashes them (dkimkit::compare_copies), as JSON members of that
// signature's object and as a text section under it.
#pragma once

#include <cstddef>
#include <dkimkit/explain.hpp>
#include <dkimkit/message.hpp>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit::cli {

// For each signature of the explanation of `received` (CRLF), the members changes_json() gives,
// for every one whose verification did not pass, or else the first; null for the others.
std::vector<nlohmann::json> compare_copies_of(const explanation& e, std::string_view sent,
                                              std::string_view received,
                                              const std::string& sent_name,
                                              const header_limits& limits);

// The members to merge into the JSON object of signature `n`: "changes", the array
// [{part: "header", field, instance, sent, received, tolerated_by?} |
//  {part: "body", line, sent, received, tolerated_by?, ...}] (empty when nothing changed), and
// "comparison", a summary; or "changes_error" when the copies cannot be compared.
nlohmann::json changes_json(std::string_view sent, std::string_view received, std::size_t n,
                            const std::string& sent_name, const header_limits& limits);

// The section "What changed between the copies" from the members changes_json() gives; nothing
// when they are null (the signature was not compared).
void print_changes(const nlohmann::json& changes, bool colour, std::ostream& os);

}  // namespace dkimkit::cli
