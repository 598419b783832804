// dkimkit-milter's per-message logic without libmilter: one SMTP connection and its messages,
// driven by plain calls, each answering with the actions the MTA glue must perform.
//
//   dkimkit::milter::session s(env, dkimkit::milter::system_clock());
//   s.connect(AF_INET, addr); s.start_message(false); s.header("From", " a@example.com");
//   s.end_of_header(); s.body("Hello\r\n"); dkimkit::milter::decision d = s.end_of_message();
//
// Signs mail of internal or authenticated clients with the configured keys, verifies the rest and
// applies the configured policy; the glue (filter.cpp) only translates. Lifetime: an environment
// is shared and immutable; a message keeps the one it began with. The resolver and key cache it
// points to must outlive every message that uses it. A session is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <dkimkit/key_record.hpp>
#include <dkimkit/replay.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/verifier.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace dkimkit::milter {

// What messages are handled with: the configuration and, to verify, the resolver (required) and
// a key cache (optional), and with [replay] the store replay counts go to (optional: none, nothing
// is counted). A reload makes a new environment.
struct environment {
  std::shared_ptr<const config> cfg;
  const txt_resolver* resolver = nullptr;
  key_cache* keys = nullptr;
  replay_store* replay = nullptr;
};

// Time, passed in (STYLE.md rule 3): the session never reads a clock of its own.
struct session_clock {
  std::function<std::uint64_t()> unix_time;     // seconds: t=, x= and the checks on them
  std::function<std::uint64_t()> milliseconds;  // any monotonic count: ms= in the log line
};

// time() and std::chrono::steady_clock, for the daemon.
[[nodiscard]] session_clock system_clock();

// The SMTP reply: go on (SMFIS_CONTINUE), accept the rest unchanged, 4xx or 5xx.
enum class verdict { proceed, accept, tempfail, reject };
[[nodiscard]] std::string_view to_string(verdict v) noexcept;  // "continue", "accept", ...

// A header field to insert, in milter form: `value` is everything after the colon (leading space
// included, SMFIP_HDR_LEADSPC) with lines folded by LF, as smfi_insheader() takes it.
struct header_insertion {
  std::size_t index = 0;  // 0: on top
  std::string name;
  std::string value;
  bool required = false;  // when the MTA refuses it, the message takes internal_error()
};

enum class log_level { info, error };

// What the glue does, in this order: delete the Authentication-Results fields listed, insert the
// fields listed (one after the other), log `log`, then reply.
struct decision {
  verdict reply = verdict::proceed;
  std::string code;      // "451" or "550" for tempfail and reject, else empty
  std::string enhanced;  // "4.7.5"
  std::string text;      // "DKIM key could not be fetched, try again later"
  // 1-based indices among the message's Authentication-Results fields, highest first, so that
  // deleting one does not move the next.
  std::vector<int> delete_auth_results;
  std::vector<header_insertion> insert;
  std::string log;  // "QUEUEID: dir=verify result=pass ... ms=12"; empty: nothing to log
  log_level level = log_level::info;
  std::vector<verification> results;  // the verifier's results (verified messages only)

  // Whether this ends the message (accept, tempfail or reject).
  [[nodiscard]] bool settled() const noexcept { return reply != verdict::proceed; }
};

// One SMTP connection. An exception inside an event method becomes internal_error() (logged as
// "internal error: unexpected exception: ...", or "out of memory" for std::bad_alloc). After a
// settled decision the message is over and further events are ignored until start_message().
class session {
 public:
  // `env` must hold a configuration; both clock functions must be set.
  session(std::shared_ptr<const environment> env, session_clock clock);
  session(session&&) noexcept;
  session& operator=(session&&) noexcept;
  ~session();

  // The client's address (AF_INET: 4 bytes, AF_INET6: 16 bytes, network order) decides whether it
  // is internal (sign.internal_networks); another family or a null address is external.
  void connect(int family, const unsigned char* addr);
  // The client as the MTA names it at connect (`host_name`: its name, "[192.0.2.1]", "unknown" or
  // empty) and its address. accept when skip_hosts holds its name (unless bracketed) or address:
  // the connection is left alone (no message is handled; the glue accepts it). Otherwise
  // proceed, and whether it is internal: by sign.internal_hosts when set (name and address,
  // opendkim::host_list; a null address counts as 127.0.0.1, another family as no address), else
  // as connect(family, addr).
  [[nodiscard]] verdict connect(std::string_view host_name, int family, const unsigned char* addr);
  [[nodiscard]] bool skipped() const noexcept { return skipped_; }
  void connect(bool internal) noexcept { internal_ = internal; }
  [[nodiscard]] bool internal() const noexcept { return internal_; }

  // Whether RCPT TO paths are wanted (recipient()): [replay] is on with a store.
  [[nodiscard]] bool wants_recipients() const noexcept;
  // RCPT TO: an envelope recipient's path as the MTA gives it ("<user@example.com>"), kept for
  // replay counting ([replay]), at most its max_recipients per message; ignored otherwise.
  void recipient(std::string_view path);

  // MAIL FROM: a new message (any message in progress is dropped). `authenticated`: SMTP AUTH.
  // `env`, when given, replaces the session's environment for this message and the next ones.
  void start_message(bool authenticated, std::shared_ptr<const environment> env = nullptr);
  [[nodiscard]] bool in_message() const noexcept { return msg_ != nullptr; }
  // The MTA's macros of wanted_macros() for the current message, before its end of header: they
  // decide with the client whether it is signed (signing_origin()); {auth_type} then replaces
  // start_message()'s `authenticated`. Without this call no macro is known.
  void set_macros(macro_values values);
  // wanted_macros() of the current message's configuration (the session's when none).
  [[nodiscard]] std::vector<std::string> wanted_macros() const;
  // The MTA's name for itself (the "j" macro, at connect): the authserv-id when
  // authserv_id_from_mta is set and it is a host name (letters, digits, "-" and "." only, at most
  // 253 characters); ignored otherwise.
  void set_mta_name(std::string_view j);
  // The authserv-id of the Authentication-Results field this session writes and removes.
  [[nodiscard]] const std::string& authserv_id() const;
  // The MTA's queue id, for the log line ("-" until known).
  void set_queue_id(std::string_view id);
  [[nodiscard]] bool has_queue_id() const noexcept { return queue_id_ != "-"; }

  // A header field as the MTA passes it: `value` is everything after the colon, as received.
  [[nodiscard]] decision header(std::string_view name, std::string_view value);
  // Chooses signing or verifying; may settle the message (accept: not ours to sign; errors).
  // body() and end_of_message() do it themselves when no end of header came.
  [[nodiscard]] decision end_of_header();
  [[nodiscard]] decision body(std::string_view chunk);
  // The DKIM-Signature fields, or the Authentication-Results field (forged ones deleted) and the
  // reply under the policy. The message is over.
  [[nodiscard]] decision end_of_message();
  // The client went away or the MTA dropped the message: per-message state is released.
  void abort() noexcept;

  // The reply to an internal error (also for the glue when the MTA refuses an action):
  // on_internal_error, except that a message that may have to be signed (an internal or
  // authenticated client in a signing mode, until its From domain shows otherwise) is never
  // accepted unsigned: 451 4.3.0.
  [[nodiscard]] decision internal_error(std::string_view why) const;

 private:
  struct message;
  decision finish_sign(message& m);
  decision finish_verify(message& m);
  // [replay]: counts the message's passing signatures in the store and records the verdicts on
  // `results` (apply_replay); the log text (" replay=counted suspected=N", " replay=uncounted"),
  // and how many signatures are suspected.
  std::size_t count_replay(message& m, std::vector<verification>& results, std::string& log);
  void remember_address(int family, const unsigned char* addr);
  // [arc]: starts the chain's validator on the header fields received (the verifier's options);
  // `seal`: the message is to be sealed at its end, so its header and body are kept.
  void start_arc(message& m, bool seal) const;
  // [arc] seal: the new ARC set's fields added to `d` (on top of its insertions), or why not in
  // the log text; `results` is the text of the new ARC-Authentication-Results.
  void seal(message& m, decision& d, const std::string& results, std::string& log) const;
  [[nodiscard]] std::string log_text(const std::string& what) const;
  decision decide_direction(message& m);
  decision settle(decision d);  // a settled decision ends the message
  template <class F>
  decision guarded(F&& f);

  std::shared_ptr<const environment> env_;
  session_clock clock_;
  bool internal_ = false;
  std::string client_ip_;  // the client's address as text; empty when unknown
  // The client's address bytes (AF_INET: 4, AF_INET6: 16) for replay counting; family 0: none.
  int client_family_ = 0;
  unsigned char client_addr_[16] = {};
  bool skipped_ = false;  // skip_hosts: nothing is handled on this connection
  std::string queue_id_ = "-";
  std::string mta_name_;  // set_mta_name(), when a host name
  bool signing_ = false;  // the current (or last) message may have to be signed
  std::uint64_t start_ms_ = 0;
  std::unique_ptr<message> msg_;
};

}  // namespace dkimkit::milter
