// dkimkit: sign and verify email with DKIM (RFC 6376, RFC 8301, RFC 8463).
#include <dkimkit/version.hpp>
#include <iostream>

#include "common.hpp"

int main(int argc, char** argv) {
  using namespace dkimkit::cli;
  const std::string version(dkimkit::version());
  CLI::App app{"dkimkit " + version +
               ": sign and verify email with DomainKeys Identified Mail (RFC 6376)"};
  app.set_version_flag("--version", "dkimkit " + version, "print the version and exit");
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 every input was read and judged (whatever the DKIM result); 1 / 75 verify\n"
      "--require rejected (5xx) / deferred (4xx) a message; 75 replay-stats: the store cannot\n"
      "be reached; 64 usage error;\n"
      "65 unusable data (key, zone file, message that cannot be signed or sealed); 66 input\n"
      "cannot be read; 70 internal error; 73 output file cannot be created; 74 write error.");
  int status = exit_ok;
  add_sign_command(app, status);
  add_arc_seal_command(app, status);
  add_verify_command(app, status);
  add_keygen_command(app, status);
  add_check_key_command(app, status);
  add_explain_command(app, status);
  add_canon_command(app, status);
  add_replay_stats_command(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_usage;
  } catch (const std::exception& e) {
    complain(std::string("internal error: ") + e.what());
    return exit_software;
  }
  std::cout.flush();
  if (!std::cout) {
    complain("write error on standard output");
    return exit_ioerr;
  }
  return status;
}
