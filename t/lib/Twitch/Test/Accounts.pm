package Twitch::Test::Accounts;

# Accounts and JSON calls for multi-step tests (Twitch::Test::Nginx).
#
#   use Twitch::Test::Accounts qw(sql make_user api);
#   my $u = make_user($n, "t031_owner_$$", channel => 1, role => 'user');
#       # {id, name, cookie, channel_id}; password demo1234, logged in
#   my $r = api($n, POST => '/api/...', $u, { userId => 3 });
#       # {status, body, json, headers}; $u may be undef (anonymous)
#   sql("SELECT ...")   # psql -tA output, chomped
#
# Users are inserted with SQL (the demo password's hash, no yescrypt work
# on the server) and then log in through the API.  See the POD at the end.

use strict;
use warnings;

use parent 'Exporter';
use Carp qw(croak);
use JSON::PP ();

our @EXPORT_OK = qw(sql make_user login api json);

my $JSON = JSON::PP->new->utf8->canonical;

sub json { $JSON }

sub sql {
    my ($q) = @_;
    open my $fh, '-|', 'psql', $ENV{TEST_NGINX_PG}, '-X', '-q', '-tA',
        '-v', 'ON_ERROR_STOP=1', '-c', $q
        or croak "psql: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    croak "psql failed on: $q" if $? != 0;
    $out =~ s/\s+\z//;
    return $out;
}

sub api {
    my ($n, $method, $path, $user, $body, %h) = @_;
    my %headers = ('Content-Type' => 'application/json', %h);
    $headers{Cookie} = "session=$user->{cookie}" if $user;
    $body = $JSON->encode($body) if ref $body;
    my $r = $n->request($method => $path, headers => \%headers,
                        defined $body ? (body => $body) : ());
    $r->{json} = eval { $JSON->decode($r->{body}) };
    return $r;
}

sub login {
    my ($n, $name, $password) = @_;
    my $r = api($n, POST => '/api/auth/login', undef,
                { username => $name, password => $password // 'demo1234' });
    croak "login $name: $r->{status} $r->{body}" unless $r->{status} == 200;
    my ($c) = ($r->{headers}{'set-cookie'} // '') =~ /^session=([^;]*)/;
    return $c;
}

# make_user($n, $name, role => 'user', channel => 0, login => 1)
sub make_user {
    my ($n, $name, %o) = @_;
    my $role = $o{role} // 'user';
    croak "bad test user name $name" unless $name =~ /^\w{3,25}$/;
    croak "bad role $role" unless $role =~ /^(user|moderator|admin)$/;

    my $id = sql("INSERT INTO users (username, email, password_hash,"
                 . " display_name, role)"
                 . " SELECT '$name', '$name\@example.org', password_hash,"
                 . " 'The $name', '$role' FROM users WHERE username = 'shroud'"
                 . " RETURNING id");
    croak "cannot create user $name" unless $id =~ /^\d+$/;

    my $u = { id => 0 + $id, name => $name };

    if ($o{channel}) {
        $u->{channel_id} = 0 + sql("INSERT INTO channels (user_id, name)"
                               . " VALUES ($id, '$name') RETURNING id");
    }

    $u->{cookie} = login($n, $name) if $o{login} // 1;

    return $u;
}

1;
__END__

=head1 NAME

Twitch::Test::Accounts - test users, SQL and JSON calls

=head1 FUNCTIONS (exported on request)

=over

=item sql($query)

Runs C<$query> with psql on C<$TEST_NGINX_PG>; returns the tuples-only,
unaligned output ("|" between columns), chomped.  Dies on an SQL error.

=item make_user($nginx, $name, role => 'user', channel => 0, login => 1)

Inserts a user whose password is "demo1234" (and a channel named after
them with C<channel =E<gt> 1>) and logs in.  Returns
C<{id, name, cookie, channel_id}>.

=item login($nginx, $name, $password = 'demo1234')

The session cookie value of a fresh login; dies unless 200.

=item api($nginx, $method, $path, $user, $body, %headers)

A request with C<Content-Type: application/json> and the user's session
cookie (C<$user> undef: anonymous).  C<$body>: a Perl structure (sent as
JSON) or a string.  Returns the response of Twitch::Test::Nginx->request
plus C<json> (the decoded body, or undef).

=back

=cut
