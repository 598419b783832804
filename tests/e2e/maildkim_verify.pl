#!/usr/bin/perl
# Verifies a delivered message with Mail::DKIM (libmail-dkim-perl), keys taken from the TXT
# records of a zone file instead of DNS (as in tests/interop/maildkim_interop.pl: the script
# replaces Mail::DKIM::DNS::query with a lookup in a hash).
#
#   perl tests/e2e/maildkim_verify.pl ZONE FILE
#
# Prints the overall result and one line per signature; exits 0 only when there is at least one
# signature and every signature passes.

use strict;
use warnings;

use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;

my ( $zone, $file ) = @ARGV;
die "usage: $0 ZONE FILE\n" unless defined $file;

my %txt;    # lower-case owner name without trailing dot => TXT value
open my $z, '<', $zone or die "cannot read $zone: $!\n";
while ( my $line = <$z> ) {
    next unless $line =~ /^(\S+)\.\s+(?:\d+\s+)?IN\s+TXT\s+(.*)$/;
    my ( $owner, $rdata ) = ( lc $1, $2 );
    $txt{$owner} = join '', $rdata =~ /"([^"]*)"/g;
}
close $z;

{

    package E2EFakeTXT;
    sub new           { my ( $class, $v ) = @_; return bless { v => $v }, $class }
    sub type          { return 'TXT' }
    sub txtdata       { return ( $_[0]{v} ) }
    sub char_str_list { return ( $_[0]{v} ) }
}

{
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ( $domain, $type ) = @_;
        die "fake DNS: cannot look up $type records\n" unless uc $type eq 'TXT';
        ( my $key = lc $domain ) =~ s/\.$//;
        if ( exists $txt{$key} ) {
            $@ = 'NOERROR';
            return E2EFakeTXT->new( $txt{$key} );
        }
        $@ = 'NXDOMAIN';
        return;
    };
}

open my $fh, '<:raw', $file or die "cannot read $file: $!\n";
my $msg = do { local $/; <$fh> };
close $fh;
$msg =~ s/\015?\012/\015\012/g;    # Mail::DKIM wants CRLF

my $v = Mail::DKIM::Verifier->new;
$v->PRINT($msg);
$v->CLOSE;
my @sigs = $v->signatures;
print 'result: ', $v->result, ' (', ( $v->result_detail // '' ), ")\n";
print 'signature ', $_->domain, '/', $_->selector, ': ', $_->result_detail, "\n" for @sigs;
my $all = @sigs && !grep { $_->result ne 'pass' } @sigs;
exit( $v->result eq 'pass' && $all ? 0 : 1 );
