package Twitch::Test::ApiClient;

# A small JSON client for the REST API, on top of Twitch::Test::Nginx.
#
#   my $n = Twitch::Test::Nginx->new(...); $n->start;
#   my $api = Twitch::Test::ApiClient->new($n);
#   my $me = $api->register("tw_x_$$");      # {name, id, cookie}
#   my $r = $api->call(GET => '/api/channels/shroud', as => $me);
#   $r->{status}, $r->{body}, $r->{json}, $r->{headers}{...}
#
# call() options: as => a user (hashref with cookie) or a cookie string,
# body => a Perl structure (sent as JSON) or a string (sent as is),
# headers => {...}.  Every request carries Content-Type: application/json.
#
#   sql($query): runs psql against $TEST_NGINX_PG, returns the output
#   (tuples only, unaligned, "|" between columns), chomped.

use strict;
use warnings;

use JSON::PP ();

my $JSON = JSON::PP->new->utf8->canonical;

sub new {
    my ($class, $nginx) = @_;
    return bless { n => $nginx }, $class;
}

sub call {
    my ($self, $method, $path, %o) = @_;

    my %h = ('Content-Type' => 'application/json');
    my $cookie = ref $o{as} ? $o{as}{cookie} : $o{as};
    $h{Cookie} = "session=$cookie" if defined $cookie;
    %h = (%h, %{ $o{headers} }) if $o{headers};

    my $body = $o{body};
    $body = $JSON->encode($body) if ref $body;

    my $r = $self->{n}->request($method => $path, headers => \%h,
                                defined $body ? (body => $body) : ());
    $r->{json} = eval { $JSON->decode($r->{body}) };
    return $r;
}

sub register {
    my ($self, $name) = @_;
    my $r = $self->call(POST => '/api/auth/register',
                        body => { username => $name,
                                  email => "$name\@example.org",
                                  password => 'correct horse battery' });
    die "register $name: $r->{status} $r->{body}\n"
        unless $r->{status} == 201;
    my ($c) = ($r->{headers}{'set-cookie'} // '') =~ /^session=([^;]*)/;
    return { name => $name, id => $r->{json}{user}{id}, cookie => $c };
}

sub login {
    my ($self, $name, $password) = @_;
    my $r = $self->call(POST => '/api/auth/login',
                        body => { username => $name,
                                  password => $password // 'demo1234' });
    die "login $name: $r->{status} $r->{body}\n" unless $r->{status} == 200;
    my ($c) = ($r->{headers}{'set-cookie'} // '') =~ /^session=([^;]*)/;
    return { name => $name, id => $r->{json}{user}{id}, cookie => $c };
}

sub json { $JSON }

sub sql {
    my ($q) = @_;
    open my $fh, '-|', 'psql', $ENV{TEST_NGINX_PG}, '-X', '-q', '-tA',
        '-v', 'ON_ERROR_STOP=1', '-c', $q
        or die "psql: $!\n";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\s+\z//;
    return $out;
}

1;
