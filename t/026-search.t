# GET /api/search: ranking (exact name, then prefix, then substring
# matches; live channels first among equals), matches on channel names,
# titles and display names, categories and users; ignoring case; the
# per-list limit; LIKE wildcards in q match themselves only; SQL in q.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(require_platform);
use Twitch::Test::ApiClient;

use Encode ();

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

my $api = Twitch::Test::ApiClient->new($n);
*sql = \&Twitch::Test::ApiClient::sql;

sub search {
    my ($q, $extra) = @_;
    my $r = $api->call(GET => '/api/search?q='
                              . escape($q)
                              . ($extra // ''));
    die "search $q: $r->{status} $r->{body}\n" unless $r->{status} == 200;
    return $r->{json};
}

sub escape {
    my ($s) = @_;
    $s = Encode::encode('UTF-8', $s);
    $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub names { [map { $_->{name} // $_->{username} } @{ $_[0] }] }

my $pid = $$;
my $tok = "q$pid";

# registration order = id order
my %u;
$u{exact}  = $api->register($tok);
$u{pre}    = $api->register("${tok}pre");
$u{ptitle} = $api->register("tw26p_$pid");
$u{zz}     = $api->register("zz$tok");
$u{yy}     = $api->register("yy$tok");
$u{ttitle} = $api->register("tw26t_$pid");
$u{dname}  = $api->register("tw26d_$pid");

is $api->call(PATCH => "/api/channels/$u{ptitle}{name}", as => $u{ptitle},
              body => { title => "\U$tok\E speedrun" })->{status}, 200,
   'a title starting with the token';
is $api->call(PATCH => "/api/channels/$u{ttitle}{name}", as => $u{ttitle},
              body => { title => "Playing $tok today" })->{status}, 200,
   'a title containing it';
is $api->call(PATCH => '/api/users/me', as => $u{dname},
              body => { displayName => "The $tok Show" })->{status}, 200,
   'a display name containing it';

sql("UPDATE channels SET is_live = true, current_viewers = 3"
    . " WHERE name = 'yy$tok'");

my $res = search($tok);
is_deeply names($res->{channels}),
          [$tok, "${tok}pre", "tw26p_$pid", "yy$tok", "zz$tok",
           "tw26t_$pid", "tw26d_$pid"],
          'channels: exact, prefixes (name, title), then substrings'
          . ' with the live one first';
is_deeply names($res->{users}),
          [$tok, "${tok}pre", "tw26d_$pid", "yy$tok", "zz$tok"],
          'users: exact, prefix, then substrings (username, display name)';
is_deeply $res->{categories}, [], 'no category';
like $api->json->encode($res->{channels}[3]),
     qr/"isLive":true/, 'the live one is marked live';

is_deeply names(search(uc $tok)->{channels}), names($res->{channels}),
          'q ignores case';
is_deeply names(search("  $tok ")->{channels}), names($res->{channels}),
          'q is trimmed';

$res = search($tok, '&limit=2');
is_deeply names($res->{channels}), [$tok, "${tok}pre"], 'limit=2: channels';
is scalar @{ $res->{users} }, 2, 'limit=2: users';

$res = search("${tok}p");
is_deeply names($res->{channels}), ["${tok}pre"], 'a longer prefix';

sql("UPDATE channels SET is_live = false, current_viewers = 0"
    . " WHERE name = 'yy$tok'");

# --- categories -------------------------------------------------------------

$res = search('m');
my @cats = @{ names($res->{categories}) };
my %at = map { $cats[$_] => $_ } 0 .. $#cats;
ok defined $at{Minecraft} && defined $at{Music}
   && defined $at{'Software & Game Development'}, 'categories containing m';
ok $at{Minecraft} < $at{'Software & Game Development'}
   && $at{Music} < $at{'Software & Game Development'},
   'prefix matches before substring matches';
ok !defined $at{'Just Chatting'}, 'no category without an m';

$res = search('GAME DEV');
is_deeply names($res->{categories}), ['Software & Game Development'],
          'a category by words inside its name';

# --- LIKE wildcards are literal -----------------------------------------------

my $w = "w$pid";
my %t = (pct => "$w 50% off", x => "$w 50x off", und => "$w 50_ off",
         bs => "$w back\\slash");
my %lc;
for my $k (sort keys %t) {
    my $user = $api->register("tw26l${k}_$pid");
    $lc{$k} = $user->{name};
    is $api->call(PATCH => "/api/channels/$user->{name}", as => $user,
                  body => { title => $t{$k} })->{status}, 200,
       "title \"$t{$k}\"";
}

sub ours {
    my ($q) = @_;
    my %mine = reverse %lc;
    return [sort map { $mine{$_} } grep { $mine{$_} }
                 @{ names(search($q, '&limit=100')->{channels}) }];
}

is_deeply ours($w), [sort keys %t], 'the token finds all four';
is_deeply ours('%'), ['pct'], '"%" matches a literal percent only';
is_deeply ours('50%'), ['pct'], '"50%" too';
is_deeply ours('0_ o'), ['und'], '"_" matches a literal underscore only';
is_deeply ours('\\'), ['bs'], '"\\" matches a literal backslash only';
is_deeply ours('k\\s'), ['bs'], 'and inside a word';
is_deeply ours("$w 50"), [qw(pct und x)], 'spaces inside q are kept';

# --- SQL in q -------------------------------------------------------------------

my $sqli = $api->register("tw26i_$pid");
my $evil = "'; DROP TABLE users; -- $pid";
is $api->call(PATCH => "/api/channels/$sqli->{name}", as => $sqli,
              body => { title => $evil })->{status}, 200,
   'a title with SQL in it';

$res = search("'; DROP TABLE users; --");
ok((grep { $_->{title} eq $evil } @{ $res->{channels} }),
   'searching for the SQL finds the title, verbatim');
$res = search('" OR 1=1 --');
is_deeply $res, { channels => [], categories => [], users => [] },
          '" OR 1=1 matches nothing';
is sql("SELECT count(*) > 0 FROM users"), 't', 'the users table is intact';

$res = search("\x{e9}t\x{e9}");
is ref $res->{channels}, 'ARRAY', 'non-ASCII q';

ok $n->stop, 'nginx stops cleanly';
unlike $n->error_log, qr/\[error\]/, 'no [error] lines';

done_testing;
