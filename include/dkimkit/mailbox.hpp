// dkimkit/mailbox.hpp: reading mail archives: an mbox split into its messages as a stream, and
// the message files of a Maildir or a directory tree.
//
//   struct printer : dkimkit::mbox_handler { /* begin_message, message_bytes, end_message */ };
//   printer p; dkimkit::mbox_reader mbox(p);
//   for (auto chunk : chunks) mbox.update(chunk);  mbox.finish();
//
// The mbox reader holds no message: it passes each message's bytes on as they arrive and keeps at
// most one line start ("\r\n", ">>>From ") of its own, so that its memory does not depend on the
// archive's or a line's size. The handler must outlive the reader. The views given to the handler
// are valid during the call only.
//
// The rules (the same as Python's mailbox.mbox and mutt read):
// - A separator is any line that begins with "From " (five bytes, case-sensitive), wherever it
//   is; it is not part of any message. Bytes before the first separator belong to no message
//   (preamble_bytes() counts them).
// - The empty line ("\n" or "\r\n") just before a separator, and one at the end of the archive,
//   is the mbox's framing (writers add it after each message) and is dropped; other empty lines
//   are the message's.
// - ">From " quoting is undone by the mboxrd rule: a line matching ^>+From  loses one '>'.
//   mboxo writers (Python's mailbox.mbox among them) quote "From " but leave a line that already
//   read ">From " as it was: such a line comes back one '>' short, and no reader can tell the
//   two apart.
// - LF and CRLF line endings are both read; the bytes of a message are given on unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace dkimkit {

// Receives the messages of an mbox, in order.
class mbox_handler {
 public:
  virtual ~mbox_handler() = default;
  // Message `number` (1-based) begins: its separator line has been read.
  virtual void begin_message(std::uint64_t number) = 0;
  // Bytes of the current message, unquoted; a message comes in any number of pieces.
  virtual void message_bytes(std::string_view bytes) = 0;
  // The current message has ended (at the next separator or in finish()).
  virtual void end_message() = 0;
};

// Splits an mbox fed in chunks of any size; the same bytes give the same messages however they
// are cut.
class mbox_reader {
 public:
  explicit mbox_reader(mbox_handler& handler) noexcept : out_(&handler) {}

  void update(std::string_view chunk);
  // The end of the archive: ends the last message. Call it once; update() is not called after.
  void finish();

  // Messages begun so far.
  [[nodiscard]] std::uint64_t messages() const noexcept { return number_; }
  // Bytes before the first separator, which belong to no message.
  [[nodiscard]] std::uint64_t preamble_bytes() const noexcept { return preamble_; }

 private:
  void emit(std::string_view bytes);
  void emit_quotes(std::uint64_t count);
  void flush_blank();
  void flush_prefix();
  void reset_prefix() noexcept;
  void prefix_byte(char c, bool& consumed);

  enum class state { line_start, rest_of_line, separator_line };
  mbox_handler* out_;
  state state_ = state::line_start;
  bool in_message_ = false;
  std::uint64_t number_ = 0;
  std::uint64_t preamble_ = 0;
  // The start of the current line, held until it is known whether the line is a separator, a
  // quoted "From ", an empty line or none of them: a lone "\r", or quotes_ '>' then the first
  // matched_ bytes of "From ".
  bool cr_ = false;
  std::uint64_t quotes_ = 0;
  unsigned matched_ = 0;
  // An empty line held back: 0 none, else its length (1: "\n", 2: "\r\n"). Dropped when a
  // separator or the end follows, given on otherwise.
  unsigned blank_ = 0;
};

// True when an input beginning with `head` (at least its first 5 bytes, when it has them) is an
// mbox: it begins with a "From " line.
[[nodiscard]] bool starts_like_mbox(std::string_view head) noexcept;

// A file found by walk_mail_files().
struct mail_file {
  enum class kind {
    unknown,  // an mbox or one message: decide from its first bytes (starts_like_mbox)
    message,  // a Maildir message: always one message
    error,    // a directory that could not be read, or a tree too deep; `reason` says why
  };
  std::string path;
  kind type = kind::unknown;
  std::string reason;
  // Where the walk found a file (kind::unknown and kind::message): its directory, open, and its
  // name there; valid during the visit only. open_mail_file() opens the file through them, so
  // that what changed on the path since the listing is not followed. -1: `path` is opened.
  int dir_fd = -1;
  std::string name;
};

// The mail under the directory `dir`, visited in a stable order:
// - A directory that has cur/ or new/ (and usually tmp/) is a Maildir: the messages are the files
//   of cur/ then of new/, each sorted by name, names beginning with '.' skipped; tmp/ (messages
//   being delivered) and the Maildir's own plain files (dovecot-uidlist, maildirfolder, ...) are
//   skipped; its other subdirectories (Maildir++ folders such as .Sent) are walked as below.
// - Another directory is walked recursively, entries sorted by name (bytewise): regular files
//   are visited as kind::unknown, subdirectories walked.
// - Symbolic links inside the tree are not followed (neither to files nor to directories), so a
//   walk cannot loop; sockets, FIFOs and devices are skipped. At most 64 levels are walked.
// - A directory that cannot be read is visited as kind::error, and the walk goes on.
// - Every directory is opened below its parent's descriptor without following a symbolic link
//   (only `dir` itself may be one), so that a directory swapped for a link during the walk is not
//   followed: it is visited as kind::error.
// Exceptions: only std::bad_alloc, and what `visit` throws.
void walk_mail_files(const std::string& dir, const std::function<void(const mail_file&)>& visit);

// Opens a file visited by walk_mail_files(), during its visit, for reading: a file descriptor
// (O_CLOEXEC, blocking) that the caller closes, or -1 with `why` ("PATH: reason" in strerror's
// words, or "PATH: not a regular file"). The file is opened through its directory's descriptor
// and only when it is a regular file: an entry swapped since the listing for a symbolic link is
// not followed, and one swapped for a FIFO, socket or device is not waited on. A mail_file
// without a directory (dir_fd -1) has its `path` opened the same way.
// Exceptions: only std::bad_alloc.
[[nodiscard]] int open_mail_file(const mail_file& file, std::string& why);

}  // namespace dkimkit
