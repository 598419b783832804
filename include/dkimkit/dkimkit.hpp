// dkimkit/dkimkit.hpp: the whole public API.
//
//   #include <dkimkit/dkimkit.hpp>
//   auto results = dkimkit::verify(message, opts);
//   std::cout << dkimkit::format_auth_results("mx.example.net", results) << "\r\n";
#pragma once

#include <dkimkit/arc.hpp>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/canon.hpp>
#include <dkimkit/changes.hpp>
#include <dkimkit/error.hpp>
#include <dkimkit/key_check.hpp>
#include <dkimkit/key_record.hpp>
#include <dkimkit/key_rotation.hpp>
#include <dkimkit/limits.hpp>
#include <dkimkit/mailbox.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/signing_table.hpp>
#include <dkimkit/verifier.hpp>
#include <dkimkit/version.hpp>
