package TestReport;
# Shared by the perl interoperability checks (tests/interop/maildkim_interop.pl,
# tests/auth_results/mail_authres_interop.pl): one line per check, a summary, raw file I/O.
#
#   use FindBin;
#   use lib "$FindBin::RealBin/../support";
#   use TestReport qw(check finish read_file write_file);
#   check( 'dkimkit verify says pass', $result eq 'pass', "got $result", $stderr );
#   exit finish();    # prints "N passed, M failed"; 0 only when nothing failed

use strict;
use warnings;

use Exporter qw(import);
our @EXPORT_OK = qw(check finish read_file write_file);

my ( $passed, $failed ) = ( 0, 0 );

# check NAME, OK, DETAIL...: prints "ok   NAME", or "FAIL NAME" followed by the non-blank lines
# of the DETAILs (20 at most), each as a "#" line.
sub check {
    my ( $name, $ok, @details ) = @_;
    if ($ok) {
        $passed++;
        print "ok   $name\n";
        return;
    }
    $failed++;
    print "FAIL $name\n";
    my @lines = grep { /\S/ } map { split /\n/ } map { $_ // '' } @details;
    splice @lines, 20 if @lines > 20;
    print "#    $_\n" for @lines;
}

# finish [require_pass => 1]: prints "N passed, M failed" and returns the exit status: 0 when no
# check failed (and, with require_pass, at least one passed), 1 otherwise.
sub finish {
    my %opt = @_;
    print "$passed passed, $failed failed\n";
    return ( $failed == 0 && ( !$opt{require_pass} || $passed > 0 ) ) ? 0 : 1;
}

# read_file PATH: the bytes of PATH, or undef when it cannot be read.
sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data;
}

# write_file PATH, DATA: writes the bytes; dies when it cannot.
sub write_file {
    my ( $path, $data ) = @_;
    open my $fh, '>:raw', $path or die "cannot write $path: $!\n";
    print {$fh} $data;
    close $fh or die "cannot write $path: $!\n";
}

1;
