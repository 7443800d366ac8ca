# Accounts and sessions: register, login, logout, me; demo accounts;
# cookie flags; server-side logout; forged and expired sessions; login
# throttling; input validation; passwords stored as yescrypt hashes.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(require_platform);

require_platform();

my $n = Twitch::Test::Nginx->new(
    workers     => 2,
    http_config => <<'_EOC_',
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
_EOC_
    config      => <<'_EOC_',
    location /api/ { twitch_api; }
_EOC_
);

$n->start;

my $json = 'application/json';

sub post {
    my ($path, $body, %h) = @_;
    return $n->request(POST => $path, body => $body,
                       headers => { 'Content-Type' => $json, %h });
}

sub cookie_of {
    my ($res) = @_;
    my ($c) = ($res->{headers}{'set-cookie'} // '') =~ /^session=([^;]*)/;
    return $c;
}

sub me {
    my ($cookie) = @_;
    return $n->request(GET => '/api/auth/me',
                       headers => { Cookie => "session=$cookie" });
}

sub sql {
    my ($q) = @_;
    my $out = `psql "$ENV{TEST_NGINX_PG}" -X -tAc "$q" 2>&1`;
    chomp $out;
    return $out;
}

sub redis {
    my $out = `redis-cli -p $ENV{TEST_NGINX_REDIS_PORT} @_ 2>&1`;
    chomp $out;
    return $out;
}

# --- demo accounts ----------------------------------------------------------

for my $u (qw(shroud pokimane xqc ninja admin)) {
    my $r = post('/api/auth/login',
                 qq({"username":"$u","password":"demo1234"}));
    is $r->{status}, 200, "demo account $u logs in with demo1234";
    like $r->{body}, qr/^\{"user":\{"id":\d+,"username":"$u",/,
         "$u: user object";
}

my $r = post('/api/auth/login', '{"username":"ADMIN","password":"demo1234"}');
is $r->{status}, 200, 'usernames are case-insensitive at login';
like $r->{body}, qr/"role":"admin"/, 'admin has the admin role';

# --- login failures -----------------------------------------------------------

$r = post('/api/auth/login', '{"username":"shroud","password":"demo12345"}');
is $r->{status}, 401, 'wrong password is 401';
is $r->{body}, '{"error":"Invalid credentials"}', 'with a plain message';
ok !defined $r->{headers}{'set-cookie'}, 'and no cookie';

$r = post('/api/auth/login',
          q({"username":"' OR 1=1 --","password":"x' OR '1'='1"}));
is $r->{status}, 401, 'SQL in the credentials is just a wrong login';

# --- register ---------------------------------------------------------------

my $name = "tw_auth_$$";
$r = post('/api/auth/register', qq({"username":"$name",)
          . qq("email":"$name\@example.org","password":"correct horse",)
          . q["displayName":"Robert'); DROP TABLE users;--"}]);
is $r->{status}, 201, 'register is 201';
my $dn = q{Robert'); DROP TABLE users;--};
like $r->{body},
     qr/^\{"user":\{"id":\d+,"username":"$name","email":"\Q$name\E\@example\.org","displayName":"\Q$dn\E","role":"user"\}\}$/,
     'register returns the user, display name stored verbatim';

my $set = $r->{headers}{'set-cookie'} // '';
like $set, qr/^session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/,
     'session cookie: 256-bit id, HttpOnly, SameSite=Lax, Path=/';
my $c1 = cookie_of($r);

$r = me($c1);
is $r->{status}, 200, 'the new session works';
like $r->{body}, qr/"channel":\{"id":\d+,"streamKey":"live_[0-9a-f]{32}","isLive":false\}/,
     'register created a channel with a random stream key';

like sql("SELECT password_hash FROM users WHERE username = '$name'"),
     qr/^\$y\$[^\$]+\$[^\$]+\$\S+$/, 'the password is stored as a yescrypt hash';
is sql("SELECT count(*) FROM users WHERE username = 'users'"), '0',
   'no table was dropped';

$r = post('/api/auth/register', qq({"username":"\U$name\E",)
          . qq("email":"other_$name\@example.org","password":"correct horse"}));
is $r->{status}, 409, 'a taken username (any case) is 409';
is $r->{body}, '{"error":"Username or email already exists"}', '409 text';

$r = post('/api/auth/register', qq({"username":"x$name",)
          . qq("email":"\U$name\E\@EXAMPLE.ORG","password":"correct horse"}));
is $r->{status}, 409, 'a taken email (any case) is 409';

my @bad = (
    [ '{"username":"ab","email":"a@b.co","password":"12345678"}',
      'username must be 3 to 25 letters, digits or underscores', 'short' ],
    [ '{"username":"' . ('a' x 26) . '","email":"a@b.co","password":"12345678"}',
      'username must be 3 to 25 letters, digits or underscores', 'long' ],
    [ '{"username":"bad name","email":"a@b.co","password":"12345678"}',
      'username must be 3 to 25 letters, digits or underscores', 'space' ],
    [ '{"username":"good_name1","email":"not-an-email","password":"12345678"}',
      'email is not a valid address', 'email' ],
    [ '{"username":"good_name1","email":"a@b.co","password":"1234567"}',
      'password must be at least 8 characters', 'password' ],
    [ '{"username":"good_name1","email":"a@b.co"}',
      'password is required', 'missing password' ],
    [ '{"username":"good_name1","email":"a@b.co","password":12345678}',
      'password must be a string', 'password type' ],
);

$r = post('/api/auth/register',
          '{"username":"Live","email":"live@example.org","password":"12345678"}');
is $r->{status}, 409, 'a name that is a path of the site is reserved';
is $r->{body}, '{"error":"This username is reserved"}', 'reserved text';

for my $b (@bad) {
    $r = post('/api/auth/register', $b->[0]);
    is $r->{status}, 400, "register 400: $b->[2]";
    is $r->{body}, qq({"error":"$b->[1]"}), "register message: $b->[2]";
}

# --- sessions ---------------------------------------------------------------

$r = post('/api/auth/login',
          qq({"username":"$name","password":"correct horse"}));
is $r->{status}, 200, 'the new account logs in';
my $c2 = cookie_of($r);
isnt $c2, $c1, 'a new session id on every login';
is me($c1)->{status}, 200, 'the first session still works';
is me($c2)->{status}, 200, 'and so does the second';

$r = $n->request(GET => '/api/auth/me');
is $r->{status}, 401, 'me without a cookie is 401';
is $r->{body}, '{"error":"Not authenticated"}', 'Not authenticated';

$r = me('A' x 43);
is $r->{status}, 401, 'a forged session id is 401';
is $r->{body}, '{"error":"Session expired"}', 'Session expired';

is me('x;y')->{status}, 401, 'a malformed cookie is 401';

redis("DEL session:$c1");
is me($c1)->{status}, 401, 'an expired (deleted) session is 401';

$r = post('/api/auth/logout', '{}', Cookie => "session=$c2");
is $r->{status}, 200, 'logout is 200';
is $r->{body}, '{"success":true}', 'logout body';
like $r->{headers}{'set-cookie'} // '', qr/^session=; Path=\/; Max-Age=0/,
     'logout clears the cookie';
is me($c2)->{status}, 401, 'the session ended server-side';
is redis("EXISTS session:$c2"), '0', 'no session key left in Redis';

$r = post('/api/auth/logout', '{}');
is $r->{status}, 200, 'logout without a session is fine';

$r = $n->request(POST => '/api/auth/logout', body => '{}',
                 headers => { 'Content-Type' => 'text/plain',
                              Cookie => "session=$c2" });
is $r->{status}, 403, 'a cross-site logout (not JSON) is refused';

# --- throttling ---------------------------------------------------------------

my $victim = "tw_throttle_$$";
post('/api/auth/register', qq({"username":"$victim",)
     . qq("email":"$victim\@example.org","password":"right password"}));

for my $i (1 .. 5) {
    $r = post('/api/auth/login',
              qq({"username":"$victim","password":"wrong $i"}));
    is $r->{status}, 401, "failed attempt $i is 401";
}

$r = post('/api/auth/login',
          qq({"username":"$victim","password":"right password"}));
is $r->{status}, 429, 'after 5 failures even the right password is 429';
like $r->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After';
cmp_ok $r->{headers}{'retry-after'}, '<=', 900, 'within the window';

redis("DEL login:user:$victim");
$r = post('/api/auth/login',
          qq({"username":"$victim","password":"right password"}));
is $r->{status}, 200, 'once the window is over, login works';

$n->stop;

done_testing;
