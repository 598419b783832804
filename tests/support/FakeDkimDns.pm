package FakeDkimDns;
# Keys for Mail::DKIM without DNS, the way its own test suite (t/verifier.t) does it: replaces
# Mail::DKIM::DNS::query, which Mail::DKIM::PublicKey->fetch calls through
# Mail::DKIM::DNS::query_async, with a lookup in a hash of TXT records. Shared by
# tests/interop/maildkim_interop.pl and tests/interop/arc_maildkim.pl.
#
#   use FakeDkimDns;
#   my %txt;                                # lower-case owner name, no final dot => TXT value
#   FakeDkimDns::install( \%txt );          # every later lookup reads %txt (NXDOMAIN if absent)

use strict;
use warnings;

use Mail::DKIM::DNS;

{

    package FakeDkimDns::TXT;
    sub new           { my ( $class, $v ) = @_; return bless { v => $v }, $class }
    sub type          { return 'TXT' }
    sub txtdata       { return ( $_[0]{v} ) }
    sub char_str_list { return ( $_[0]{v} ) }
}

sub install {
    my ($records) = @_;
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ( $domain, $type ) = @_;
        die "fake DNS: cannot look up $type records\n" unless uc $type eq 'TXT';
        ( my $key = lc $domain ) =~ s/\.$//;
        if ( exists $records->{$key} ) {
            $@ = 'NOERROR';
            return FakeDkimDns::TXT->new( $records->{$key} );
        }
        $@ = 'NXDOMAIN';
        return;
    };
    return;
}

1;
