#!/usr/bin/perl
# Interoperability checks between the `dkimkit` program and Mail::DKIM (libmail-dkim-perl).
#
#   perl tests/interop/maildkim_interop.pl --dkimkit PATH --workdir DIR
#
# Debian 12's Mail::DKIM (1.20230212) verifies and signs rsa-sha256 only, so every check here is
# rsa-sha256, for every canonicalization pair and every test message:
#   * dkimkit keygen (2048 bits) + sign -> Mail::DKIM::Verifier says pass;
#   * Mail::DKIM::Signer signs -> `dkimkit verify --zone Z --json` says pass;
# plus a tampered body, which must fail in both directions.
#
# Mail::DKIM gets its keys without DNS the way its own test suite (t/verifier.t) does it:
# tests/support/FakeDkimDns.pm replaces Mail::DKIM::DNS::query, which
# Mail::DKIM::PublicKey->fetch calls through Mail::DKIM::DNS::query_async, with a lookup in a
# hash of TXT records. dkimkit gets them from a zone file.
#
# Mail::DKIM wants CRLF line endings on input (see its SYNOPSIS), so LF-only messages are
# converted to CRLF before they reach Mail::DKIM; dkimkit always sees the original bytes.
#
# Prints one line per check ("ok ..." or "FAIL ...", details on following "#" lines) and ends
# with the line "N passed, M failed". Exits 0 only when every check passed. Temporary files stay
# under DIR/maildkim_interop.

use strict;
use warnings;

use Cwd qw(abs_path);
use FindBin;
use File::Path qw(make_path remove_tree);
use File::Spec;
use Getopt::Long;
use JSON::PP;
use POSIX qw(:sys_wait_h);

use Crypt::OpenSSL::RSA;
use Mail::DKIM::PrivateKey;
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;

use lib "$FindBin::RealBin/../support";
use FakeDkimDns;
use TestReport qw(check finish read_file write_file);

my $TIMEOUT_S = 20;
my @CANONICALIZATIONS =
  ( 'simple/simple', 'simple/relaxed', 'relaxed/simple', 'relaxed/relaxed' );

sub crlf { return join '', map { "$_\015\012" } @_ }

# Each message is the bytes exactly as they go on disk (UTF-8 source text, kept as bytes).
my @MESSAGES = (
    [
        'plain',
        crlf(
            'From: Alice Example <alice@example.com>',
            'To: Bob Example <bob@example.net>',
            'Subject: A plain message',
            'Date: Mon, 06 Jan 2025 10:00:00 +0000',
            'Message-ID: <plain-1@example.com>',
            'MIME-Version: 1.0',
            'Content-Type: text/plain; charset=us-ascii',
            '',
            'Hello Bob,',
            '',
            'This is a plain test message.',
            '',
            'Alice',
        )
    ],
    # Folded headers (tab and space continuations), trailing white space on header and body
    # lines, tabs and runs of white space inside lines, and several empty lines at the end.
    [
        'messy',
        crlf(
            'From: "Alice Example" <alice@example.com>',
            "To: Bob Example <bob\@example.net>,\t",
            "\tCarol Example <carol\@example.org>,  ",
            '   Dave <dave@example.org>',
            "Subject:   Folded   subject\t line  ",
            "\twith a tab continuation ",
            '  and a space continuation',
            'Date: Mon, 06 Jan 2025 10:00:00 +0000',
            'Message-ID: <messy-1@example.com>',
            'MIME-Version: 1.0',
            'Content-Type: text/plain;',
            "\tcharset=us-ascii",
            '',
            'Line with trailing spaces   ',
            "Line with a trailing tab\t",
            "\tLine that starts with a tab",
            "Words   separated\t\tby  runs \t of white space",
            ' ',
            'The line above is a single space.',
            '', '', '', '',
        )
    ],
    [
        'empty-body',
        crlf(
            'From: Alice Example <alice@example.com>',
            'To: Bob Example <bob@example.net>',
            'Subject: Nothing to say',
            'Date: Mon, 06 Jan 2025 10:00:00 +0000',
            'Message-ID: <empty-1@example.com>',
            '',
        )
    ],
    [
        'lf-only',
        join( '',
            map { "$_\012" } 'From: Alice Example <alice@example.com>',
            'To: Bob Example <bob@example.net>',
            'Subject: Unix line endings',
            'Date: Mon, 06 Jan 2025 10:00:00 +0000',
            'Message-ID: <lf-1@example.com>',
            '',
            'This message uses bare LF line endings.  ',
            '',
            'Alice',
            '' )
    ],
    [
        'utf8',
        crlf(
            'From: Jörg Müller <joerg@example.com>',
            'To: Zoë <zoe@example.net>',
            'Subject: Grüße aus Köln — ünïcödé ✓',
            'Date: Mon, 06 Jan 2025 10:00:00 +0000',
            'Message-ID: <utf8-1@example.com>',
            'MIME-Version: 1.0',
            'Content-Type: text/plain; charset=utf-8',
            'Content-Transfer-Encoding: 8bit',
            '',
            'Schöne Grüße, ça va? 日本語のテキスト。',
            'Emoji: 📬 ✉️',
        )
    ],
);

# --- helpers ------------------------------------------------------------------------------------

# Runs a command with stdout and stderr sent to files; returns (exit code, stdout, stderr).
# The exit code is -1 when the command could not run or ran past the time limit.
my $run_serial = 0;

sub run_cmd {
    my ( $workdir, @cmd ) = @_;
    $run_serial++;
    my $out = File::Spec->catfile( $workdir, "cmd-$run_serial.out" );
    my $err = File::Spec->catfile( $workdir, "cmd-$run_serial.err" );
    my $pid = fork;
    return ( -1, '', "fork failed: $!" ) unless defined $pid;
    if ( $pid == 0 ) {
        open STDIN,  '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        exec {$cmd[0]} @cmd or do { print STDERR "exec $cmd[0]: $!\n"; POSIX::_exit(127) };
    }
    my $deadline = time + $TIMEOUT_S;
    my $code;
    while (1) {
        my $r = waitpid $pid, WNOHANG;
        if ( $r == $pid ) { $code = $? >> 8; $code = -1 if $? & 127; last }
        if ( time > $deadline ) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            $code = -1;
            last;
        }
        select undef, undef, undef, 0.01;
    }
    my $stdout = read_file($out) // '';
    my $stderr = read_file($err) // '';
    $stderr .= "\n(timed out after ${TIMEOUT_S}s)" if $code == -1 && time > $deadline;
    return ( $code, $stdout, $stderr );
}

sub to_crlf {
    my ($data) = @_;
    $data =~ s/\015?\012/\015\012/g;
    return $data;
}

# Changes one body byte ("a" -> "A" in the first body line that has one).
sub tamper {
    my ($msg) = @_;
    my $sep = $msg =~ /\015\012\015\012/ ? "\015\012\015\012" : "\012\012";
    my $at  = index $msg, $sep;
    my $pos = index $msg, 'a', $at + length $sep;
    return $msg . "tampered\015\012" if $pos < 0;
    substr( $msg, $pos, 1 ) = 'A';
    return $msg;
}

# Joins the quoted strings of a zone-file TXT line (no escapes expected).
sub txt_value_from_zone_line {
    my ($text) = @_;
    return join '', $text =~ /"([^"]*)"/g;
}

# A TXT rdata as quoted strings of at most 255 bytes, for an RFC 1035 zone file.
sub zone_txt {
    my ($value) = @_;
    my @parts;
    push @parts, '"' . substr( $value, $_ * 255, 255 ) . '"'
      for 0 .. int( ( length($value) - 1 ) / 255 );
    return join ' ', @parts;
}

# --- fake DNS for Mail::DKIM (as in Mail::DKIM's t/verifier.t) ---------------------------------

my %FAKE_TXT;    # lower-case owner name without trailing dot => TXT value
FakeDkimDns::install( \%FAKE_TXT );

# Verifies with Mail::DKIM; returns (all signatures passed, detail text).
sub maildkim_verify {
    my ($msg) = @_;
    my $v = Mail::DKIM::Verifier->new;
    $v->PRINT( to_crlf($msg) );
    $v->CLOSE;
    my @sigs = $v->signatures;
    my @detail = ( 'result: ' . $v->result . ' (' . ( $v->result_detail // '' ) . ')' );
    push @detail, map { 'signature ' . $_->domain . '/' . $_->selector . ': ' . $_->result_detail } @sigs;
    my $all = @sigs && !grep { $_->result ne 'pass' } @sigs;
    return ( $v->result eq 'pass' && $all, join "\n", @detail );
}

# Runs `dkimkit verify --zone Z --json FILE`; returns (decoded JSON or undef, detail text).
sub dkimkit_verify {
    my ( $dkimkit, $workdir, $zone, $path ) = @_;
    my ( $code, $out, $err ) = run_cmd( $workdir, $dkimkit, 'verify', '--zone', $zone, '--json', $path );
    my @lines = grep { /\S/ } split /\n/, $out;
    my $detail = "exit $code\nstdout: " . join( "\n", @lines ) . "\nstderr: $err";
    return ( undef, $detail ) unless @lines == 1;
    my $json = eval { JSON::PP->new->decode( $lines[0] ) };
    return ( $json, $detail );
}

# True when the top-level result and every signature's result equal $expected.
sub all_signatures {
    my ( $json, $expected ) = @_;
    return 0 unless ref $json eq 'HASH' && ( $json->{result} // '' ) eq $expected;
    my $sigs = $json->{signatures};
    return 0 unless ref $sigs eq 'ARRAY' && @$sigs;
    return !grep { ( $_->{result} // '' ) ne $expected } @$sigs;
}

# --- dkimkit signs, Mail::DKIM verifies ---------------------------------------------------------

sub dkimkit_to_maildkim {
    my ( $dkimkit, $workdir ) = @_;
    my ( $domain, $selector ) = ( 'dkimkit.example', 'kitrsa' );
    my $keydir = File::Spec->catdir( $workdir, 'keys' );
    make_path($keydir);
    my ( $code, undef, $err ) =
      run_cmd( $workdir, $dkimkit, 'keygen', '-d', $domain, '-s', $selector, '-t', 'rsa', '-b',
        '2048', '-o', $keydir );
    my $key  = File::Spec->catfile( $keydir, "$selector.private" );
    my $txt  = File::Spec->catfile( $keydir, "$selector.txt" );
    my $line = read_file($txt) // '';
    my $record = txt_value_from_zone_line($line);
    my $ok = $code == 0 && -f $key && $record =~ /p=[A-Za-z0-9+\/]/;
    check( 'dkimkit keygen -t rsa -b 2048 writes a key and TXT record', $ok,
        "exit $code\n$err\n$line" );
    $FAKE_TXT{"$selector._domainkey.$domain"} = $record;

    for my $canon (@CANONICALIZATIONS) {
        for my $m (@MESSAGES) {
            my ( $name, $msg ) = @$m;
            my $label = "dkimkit->Mail::DKIM rsa-sha256 c=$canon msg=$name";
            unless ($ok) { check( $label, 0, 'no key: dkimkit keygen failed' ); next }
            my $src = File::Spec->catfile( $workdir, "unsigned-$name.eml" );
            write_file( $src, $msg );
            my ( $scode, $signed, $serr ) =
              run_cmd( $workdir, $dkimkit, 'sign', '-k', $key, '-d', $domain, '-s', $selector,
                '-a', 'rsa-sha256', '-c', $canon, $src );
            if ( $scode != 0 ) { check( $label, 0, "dkimkit sign exit $scode\n$serr" ); next }
            ( my $file = "kit-$canon-$name.eml" ) =~ s{/}{-}g;
            write_file( File::Spec->catfile( $workdir, $file ), $signed );
            my ( $pass, $detail ) = maildkim_verify($signed);
            if ( $pass && substr( $signed, -length $msg ) ne $msg ) {
                ( $pass, $detail ) = ( 0, 'the signed output does not end with the input bytes' );
            }
            check( $label, $pass, $detail );
            if ( $name eq 'plain' && $canon eq 'relaxed/relaxed' ) {
                my ( $bad, $bdetail ) = maildkim_verify( tamper($signed) );
                check( 'dkimkit->Mail::DKIM rsa-sha256 tampered body fails', !$bad, $bdetail );
            }
        }
    }
}

# --- Mail::DKIM signs, dkimkit verifies ---------------------------------------------------------

sub maildkim_to_dkimkit {
    my ( $dkimkit, $workdir ) = @_;
    my ( $domain, $selector ) = ( 'maildkim.example', 'plrsa' );
    my $rsa = Crypt::OpenSSL::RSA->generate_key(2048);
    my $key = File::Spec->catfile( $workdir, 'maildkim-rsa.pem' );
    write_file( $key, $rsa->get_private_key_string );    # PKCS#1, as Mail::DKIM expects
    ( my $p = $rsa->get_public_key_x509_string ) =~ s/-----[^-]+-----|\s//g;
    my $zone = File::Spec->catfile( $workdir, 'maildkim.zone' );
    write_file( $zone,
            "; keys for messages signed by Mail::DKIM\n\$TTL 3600\n"
          . "$selector._domainkey.$domain. IN TXT ( "
          . zone_txt("v=DKIM1; k=rsa; p=$p")
          . " )\n" );

    for my $canon (@CANONICALIZATIONS) {
        for my $m (@MESSAGES) {
            my ( $name, $msg ) = @$m;
            my $label = "Mail::DKIM->dkimkit rsa-sha256 c=$canon msg=$name";
            my $signer = Mail::DKIM::Signer->new(
                Algorithm => 'rsa-sha256',
                Method    => $canon,
                Domain    => $domain,
                Selector  => $selector,
                KeyFile   => $key,
            );
            $signer->PRINT( to_crlf($msg) );
            $signer->CLOSE;
            my $sig = $signer->signature->as_string . "\015\012";
            # Give dkimkit the message in its own line endings, signature field included.
            $sig =~ s/\015\012/\012/g if $msg !~ /\015\012/;
            my $signed = $sig . $msg;
            ( my $file = "pl-$canon-$name.eml" ) =~ s{/}{-}g;
            my $path = File::Spec->catfile( $workdir, $file );
            write_file( $path, $signed );
            my ( $json, $detail ) = dkimkit_verify( $dkimkit, $workdir, $zone, $path );
            check( $label, all_signatures( $json, 'pass' ), $detail );
            if ( $name eq 'plain' && $canon eq 'relaxed/relaxed' ) {
                ( my $bad_path = $path ) =~ s/\.eml$/-tampered.eml/;
                write_file( $bad_path, tamper($signed) );
                ( $json, $detail ) = dkimkit_verify( $dkimkit, $workdir, $zone, $bad_path );
                check( 'Mail::DKIM->dkimkit rsa-sha256 tampered body fails',
                    all_signatures( $json, 'fail' ), $detail );
            }
        }
    }
}

# --- i= is dkim-quoted-printable (RFC 6376 §2.11), both ways -------------------------------------

# The identity of the first signature as Mail::DKIM reads it, with the verifier's result.
sub maildkim_identity {
    my ($msg) = @_;
    my $v = Mail::DKIM::Verifier->new;
    $v->PRINT( to_crlf($msg) );
    $v->CLOSE;
    my ($sig) = $v->signatures;
    return ( $v->result, $sig ? $sig->identity : '', $sig ? ( $sig->get_tag('i') // '' ) : '' );
}

sub identities {
    my ( $dkimkit, $workdir ) = @_;
    my $msg = $MESSAGES[0][1];
    my $src = File::Spec->catfile( $workdir, 'identity-unsigned.eml' );
    write_file( $src, $msg );
    my $key = File::Spec->catfile( $workdir, 'keys', 'kitrsa.private' );
    # dkimkit encodes what needs encoding; Mail::DKIM decodes it back.
    for my $id ( 'j=long@dkimkit.example', 'jo;hn doe@sub.dkimkit.example', 'plain@dkimkit.example' ) {
        my $label = "dkimkit --identity '$id' -> Mail::DKIM: pass, same identity";
        my ( $code, $signed, $err ) =
          run_cmd( $workdir, $dkimkit, 'sign', '-k', $key, '-d', 'dkimkit.example', '-s', 'kitrsa',
            '--identity', $id, $src );
        if ( $code != 0 ) { check( $label, 0, "dkimkit sign exit $code\n$err" ); next }
        my ( $result, $identity, $raw ) = maildkim_identity($signed);
        check( $label, $result eq 'pass' && $identity eq $id && $raw !~ /[ ;]/,
            "result $result, identity '$identity', i=$raw" );
    }
    # Mail::DKIM encodes (i=j=3Dlong@...); dkimkit decodes it for its checks and its report.
    my $zone = File::Spec->catfile( $workdir, 'maildkim.zone' );
    my $pem  = File::Spec->catfile( $workdir, 'maildkim-rsa.pem' );
    for my $id ( 'j=long@maildkim.example', 'x y@sub.maildkim.example' ) {
        my $label = "Mail::DKIM Identity '$id' -> dkimkit: pass, identity decoded";
        my $signer = Mail::DKIM::Signer->new(
            Algorithm => 'rsa-sha256',
            Method    => 'relaxed/relaxed',
            Domain    => 'maildkim.example',
            Selector  => 'plrsa',
            KeyFile   => $pem,
            Identity  => $id,
        );
        $signer->PRINT( to_crlf($msg) );
        $signer->CLOSE;
        my $field = $signer->signature->as_string;
        my $path = File::Spec->catfile( $workdir, 'identity-pl.eml' );
        write_file( $path, $field . "\015\012" . to_crlf($msg) );
        my ( $json, $detail ) = dkimkit_verify( $dkimkit, $workdir, $zone, $path );
        my $got = ref $json eq 'HASH' ? ( $json->{signatures}[0]{identity} // '' ) : '';
        check( $label, all_signatures( $json, 'pass' ) && $got eq $id && $field =~ /i=[^;]*=[0-9A-F]{2}/,
            "$detail\n$field" );
    }
}

# --- main ---------------------------------------------------------------------------------------

my ( $dkimkit, $workdir );
GetOptions( 'dkimkit=s' => \$dkimkit, 'workdir=s' => \$workdir )
  && defined $dkimkit
  && defined $workdir
  or die "usage: $0 --dkimkit PATH --workdir DIR\n";
$workdir = File::Spec->catdir( File::Spec->rel2abs($workdir), 'maildkim_interop' );
remove_tree($workdir);
make_path($workdir);

my $bin = File::Spec->rel2abs($dkimkit);
if ( -x $bin && !-d $bin ) {
    dkimkit_to_maildkim( $bin, $workdir );
    maildkim_to_dkimkit( $bin, $workdir );
    identities( $bin, $workdir );
}
else {
    check( 'dkimkit program is executable', 0, "not found: $bin" );
}
exit finish( require_pass => 1 );
