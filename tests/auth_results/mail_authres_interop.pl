#!/usr/bin/perl
# Our Authentication-Results field read by an independent parser: Mail::AuthenticationResults
# (Debian's libmail-authenticationresults-perl, as Authentication-Milter uses it).
#
#   perl tests/auth_results/mail_authres_interop.pl --dkimkit PATH --workdir DIR
#
# Messages are signed with i= values full of RFC 5322 specials (issue 11, finding 11: header.i was
# written unquoted, e.g. header.i=<a,b>[c]:d=e@example.com), plus a message whose body changed
# (fail, with a reason comment) and one whose signature does not parse (neutral). For each,
# `dkimkit verify --authserv-id mx.example.net` writes the field, and
# Mail::AuthenticationResults::Parser must parse it and give back the authserv-id, the result and
# header.d, header.i, header.s, header.a and header.b exactly as `dkimkit verify --json` reports
# them (header.i: the identity, i= decoded), with nothing else, header.d and header.s DNS names.
#
# Mail::AuthenticationResults 2.20230112 reads no quoted-pairs inside a quoted-string, so an
# identity with '"' or '\' is not checked here; dkimkit's own parser checks those
# (auth_results.header_i_round_trips_through_the_parser).
#
# Prints one line per check ("ok ..." or "FAIL ...", details on "#" lines) and ends with the line
# "N passed, M failed". Exits 0 only when every check passed. Files stay under DIR.

use strict;
use warnings;

use File::Path qw(make_path remove_tree);
use FindBin;
use Getopt::Long;
use JSON::PP;
use Mail::AuthenticationResults::Parser;

use lib "$FindBin::RealBin/../support";
use TestReport qw(check finish read_file write_file);

my ( $dkimkit, $workdir );
GetOptions( 'dkimkit=s' => \$dkimkit, 'workdir=s' => \$workdir )
  && $dkimkit
  && $workdir
  or die "usage: $0 --dkimkit PATH --workdir DIR\n";
remove_tree($workdir);
make_path($workdir);
chdir $workdir or die "$workdir: $!\n";

# Runs a command without a shell; its standard output and exit status.
sub run {
    my @cmd = @_;
    open( my $fh, '-|', @cmd ) or die "$cmd[0]: $!\n";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ( $out, $? >> 8 );
}

my ( undef, $rc ) =
  run( $dkimkit, 'keygen', '-d', 'example.com', '-s', 'ed', '-t', 'ed25519', '-o', '.' );
die "keygen failed ($rc)\n" if $rc != 0;
write_file( 'zone', "\$TTL 300\n" . ( read_file('ed.txt') // die "ed.txt: $!\n" ) );
my $message = "From: a\@example.com\nTo: b\@example.org\nSubject: ar\n\nbody line\n";
write_file( 'plain.eml', $message );

# name => file to verify
my @cases;
my @identities = (
    '@example.com',        'user@example.com',
    'x@mail.example.com',  'a=b?c/d@example.com',
    'ceo x@example.com',   '<a,b>[c]:d=e@example.com',
    'semi;colon@example.com', '(paren) x@example.com',
    '.lead..dots.@example.com', 'a@b@example.com',
    'x dir=sign result=signed@example.com',
);
my $n = 0;
for my $id (@identities) {
    my ( $signed, $st ) =
      run( $dkimkit, 'sign', '-k', 'ed.private', '-d', 'example.com', '-s', 'ed', '--identity',
        $id, 'plain.eml' );
    if ( $st != 0 ) {
        check( "sign --identity '$id'", 0, "exit $st" );
        next;
    }
    $n++;
    write_file( "id$n.eml", $signed );
    push @cases, [ "i= '$id'", "id$n.eml" ];
    if ( $n == 1 ) {
        ( my $tampered = $signed ) =~ s/body line/body lime/;
        write_file( 'tampered.eml', $tampered );
        push @cases, [ 'a changed body (fail, with a reason comment)', 'tampered.eml' ];
    }
}
write_file( 'broken.eml',
        "DKIM-Signature: v=1; a=ed25519-sha256; d=evil.example dir=sign; s=e]d; h=from;"
      . " bh=AAAA; b=AAAA\n"
      . $message );
push @cases, [ 'a signature that does not parse (neutral)', 'broken.eml' ];

for my $case (@cases) {
    my ( $name, $file ) = @$case;
    my ( $json, $st1 ) = run( $dkimkit, 'verify', '--json', '--zone', 'zone', $file );
    my ( $field, $st2 ) =
      run( $dkimkit, 'verify', '--zone', 'zone', '--authserv-id', 'mx.example.net', $file );
    if ( $st1 != 0 || $st2 != 0 ) {
        check( "$name: dkimkit verify", 0, "exit $st1 / $st2" );
        next;
    }
    my $sig = decode_json($json)->{signatures}[0];
    my %want = (
        'header.d' => $sig->{domain},
        'header.i' => $sig->{identity} // '',
        'header.s' => $sig->{selector},
        'header.a' => $sig->{algorithm},
    );
    my $header = eval { Mail::AuthenticationResults::Parser->new()->parse($field) };
    if ( !$header ) {
        check( "$name: Mail::AuthenticationResults parses our field", 0, $field, $@ );
        next;
    }
    my @entries = @{ $header->children() };
    my %got;
    my @problems;
    for my $c ( @{ $entries[0]->children() } ) {
        next if ref($c) ne 'Mail::AuthenticationResults::Header::SubEntry';
        push @problems, "two values for " . $c->key() if exists $got{ $c->key() };
        $got{ $c->key() } = $c->value();
    }
    push @problems, 'authserv-id ' . $header->value()->value()
      if $header->value()->value() ne 'mx.example.net';
    push @problems, 'entries: ' . scalar(@entries) if @entries != 1;
    push @problems, 'result ' . $entries[0]->value() if $entries[0]->value() ne $sig->{result};
    for my $k ( sort keys %want ) {
        my $g = $got{$k} // '';
        push @problems, "$k: got '$g', want '$want{$k}'" if $g ne $want{$k};
    }
    # header.b: the start of b= (base64), whatever it is.
    push @problems, "header.b: '" . ( $got{'header.b'} // '' ) . "'"
      if ( $got{'header.b'} // '' ) !~ m{^[A-Za-z0-9+/=]{1,8}$};
    # header.d and header.s: DNS names or nothing (finding 10: never text of a broken signature).
    for my $k ( 'header.d', 'header.s' ) {
        push @problems, "$k is not a DNS name: '$got{$k}'"
          if exists $got{$k} && $got{$k} !~ /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
    }
    my @unknown = grep { !/^header\.[disab]$/ } sort keys %got;
    push @problems, "unexpected properties: @unknown" if @unknown;
    check( "$name: Mail::AuthenticationResults reads back what verify --json says",
        !@problems, $field, @problems );
}

exit finish();
