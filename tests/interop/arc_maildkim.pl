#!/usr/bin/perl
# Mail::DKIM's ARC signer and verifier (libmail-dkim-perl) for tests/interop/arc_matrix.py.
#
#   perl arc_maildkim.pl seal ZONE KEY DOMAIN SELECTOR SRVID < message > sealed
#   perl arc_maildkim.pl verify ZONE < message
#
# seal: Mail::DKIM::ARC::Signer with Chain => 'ar' (cv= from the arc= result of the message's
# Authentication-Results field of SRVID, as its POD says) writes the new set (ARC-Seal,
# ARC-Message-Signature, ARC-Authentication-Results) followed by the message. Exit 1, the
# signer's result on stderr, when it did not seal. KEY is a PEM RSA key, PKCS#1 or PKCS#8.
# verify: prints three lines: "arc RESULT", "dkim RESULT" (Mail::DKIM::Verifier's, for the
# DKIM-Signature fields) and "detail TEXT" (the ARC verifier's result_detail).
#
# Input and output are CRLF (Mail::DKIM wants SMTP line endings; bare LF is converted). Keys
# come from the TXT records of ZONE, lines `NAME IN TXT ( "..." ... )`, through
# tests/support/FakeDkimDns.pm, as in maildkim_interop.pl: no network.

use strict;
use warnings;

use Crypt::OpenSSL::RSA;
use Mail::DKIM::ARC::Signer;
use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::PrivateKey;
use Mail::DKIM::TextWrap;
use Mail::DKIM::Verifier;

use FindBin;
use lib "$FindBin::RealBin/../support";
use FakeDkimDns;
use TestReport qw(read_file);

sub slurp {
    my ($path) = @_;
    return read_file($path) // die "cannot read $path: $!\n";
}

my %TXT;    # lower-case owner name without the final dot => TXT value

sub load_zone {
    my ($path) = @_;
    for my $line ( split /\n/, slurp($path) ) {
        my ( $owner, $strings ) = $line =~ /^(\S+)\s+IN\s+TXT\s+\((.*)\)/ or next;
        ( my $name = lc $owner ) =~ s/\.$//;
        $TXT{$name} = join '', $strings =~ /"([^"]*)"/g;
    }
}

FakeDkimDns::install( \%TXT );

my $mode = shift @ARGV // '';
binmode STDIN;
binmode STDOUT;
my $message = do { local $/; <STDIN> } // '';
$message =~ s/\015?\012/\015\012/g;

if ( $mode eq 'seal' && @ARGV == 5 ) {
    my ( $zone, $keyfile, $domain, $selector, $srvid ) = @ARGV;
    load_zone($zone);
    my $rsa    = Crypt::OpenSSL::RSA->new_private_key( slurp($keyfile) );
    my $signer = Mail::DKIM::ARC::Signer->new(
        Algorithm => 'rsa-sha256',
        Chain     => 'ar',
        Domain    => $domain,
        SrvId     => $srvid,
        Selector  => $selector,
        Key       => Mail::DKIM::PrivateKey->load( Cork => $rsa ),
    );
    $signer->PRINT($message);
    $signer->CLOSE;
    if ( $signer->result ne 'sealed' ) {
        print STDERR 'Mail::DKIM::ARC::Signer: ', $signer->result, ' (',
          ( $signer->{details} // '' ), ")\n";
        exit 1;
    }
    print $signer->as_string, $message;
    exit 0;
}
if ( $mode eq 'verify' && @ARGV == 1 ) {
    load_zone( $ARGV[0] );
    my $arc = Mail::DKIM::ARC::Verifier->new( Strict => 1 );
    $arc->PRINT($message);
    $arc->CLOSE;
    my $dkim = Mail::DKIM::Verifier->new;
    $dkim->PRINT($message);
    $dkim->CLOSE;
    ( my $detail = $arc->result_detail // '' ) =~ s/\s+/ /g;
    print 'arc ', $arc->result, "\n", 'dkim ', $dkim->result, "\n", "detail $detail\n";
    exit 0;
}
die "usage: $0 seal ZONE KEY DOMAIN SELECTOR SRVID < MESSAGE\n"
  . "       $0 verify ZONE < MESSAGE\n";
