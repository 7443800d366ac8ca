# Profiles: GET /api/users/:username and /api/users/me, PATCH
# /api/users/me (validation, SQL strings stored verbatim, avatar URLs),
# and the followed channels of a user (public) and of the caller, live
# first then the newest follows; the live ordering of the directory.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(require_platform);
use Twitch::Test::ApiClient;

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

my $me = $api->register("tw24u_$$");
my $name = $me->{name};

# --- profiles -----------------------------------------------------------------

my $r = $api->call(GET => "/api/users/\U$name");
is $r->{status}, 200, 'a profile by name (any case)';
like $r->{body}, qr/^\{"user":\{"id":$me->{id},"username":"$name","displayName":"$name","avatarUrl":null,"bio":null,"createdAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","channel":\{"id":\d+,"name":"$name","followerCount":0,"subscriberCount":0,"isLive":false\}\}\}$/,
     'with the channel';

my $by_name = $r->{body};
$r = $api->call(GET => '/api/users/me', as => $me);
is $r->{status}, 200, '/api/users/me';
is $r->{body}, $by_name, 'is the caller\'s profile';
unlike $r->{body}, qr/email|password|streamKey/, 'no private fields';

# --- PATCH /api/users/me --------------------------------------------------------

my $bio = q{'; DROP TABLE users; -- " OR 1=1 \\ %_ ✓};
$r = $api->call(PATCH => '/api/users/me', as => $me,
                body => { displayName => q{Robert"); DROP TABLE x;--},
                          bio => $bio,
                          avatarUrl => 'https://cdn.example.org/a.png' });
is $r->{status}, 200, 'update the profile';
is $r->{body}, '{"success":true}', 'success';

my $u = $api->call(GET => "/api/users/$name")->{json}{user};
is $u->{displayName}, q{Robert"); DROP TABLE x;--}, 'display name verbatim';
is $u->{bio}, $bio, 'bio verbatim';
is $u->{avatarUrl}, 'https://cdn.example.org/a.png', 'avatar';
is sql("SELECT count(*) > 0 FROM users"), 't', 'the users table is intact';

$r = $api->call(GET => "/api/search?q=$name");
like $r->{body}, qr/"displayName":"Robert\\"\); DROP TABLE x;--"/,
     'the new display name shows in search';

$r = $api->call(PATCH => '/api/users/me', as => $me,
                body => { avatarUrl => '/avatars/me.png', bio => undef });
is $r->{status}, 200, 'a site path avatar; null bio';
$u = $api->call(GET => "/api/users/$name")->{json}{user};
is $u->{avatarUrl}, '/avatars/me.png', 'path avatar';
is $u->{bio}, undef, 'bio removed';

$r = $api->call(PATCH => '/api/users/me', as => $me,
                body => { avatarUrl => 'http://example.org/x.png' });
is $r->{status}, 200, 'an http:// avatar';

$r = $api->call(PATCH => '/api/users/me', as => $me,
                body => { avatarUrl => undef, displayName => 'Me Myself' });
is $r->{status}, 200, 'null avatar';
$u = $api->call(GET => "/api/users/$name")->{json}{user};
is $u->{avatarUrl}, undef, 'avatar removed';
is $u->{displayName}, 'Me Myself', 'display name';

$r = $api->call(PATCH => '/api/users/me', as => $me, body => {});
is $r->{body}, '{"success":true,"message":"Nothing to update"}',
   'Nothing to update';

my $avatar = 'must be an http:// or https:// URL or a path starting with /';
my @bad = (
    [ { displayName => '' }, 'displayName must not be empty' ],
    [ { displayName => 'x' x 51 },
      'displayName must be at most 50 characters' ],
    [ { displayName => '   ' }, 'displayName must not be blank' ],
    [ { displayName => "a\tb" },
      'displayName must not contain control characters' ],
    [ { displayName => 5 }, 'displayName must be a string' ],
    [ { displayName => undef }, 'displayName must be a string' ],
    [ { bio => 'b' x 501 }, 'bio must be at most 500 characters' ],
    [ { bio => ['x'] }, 'bio must be a string' ],
    [ { avatarUrl => 'ftp://example.org/a.png' }, "avatarUrl $avatar" ],
    [ { avatarUrl => '//evil.example/a.png' }, "avatarUrl $avatar" ],
    [ { avatarUrl => 'javascript:alert(1)' }, "avatarUrl $avatar" ],
    [ { avatarUrl => 'https://' }, "avatarUrl $avatar" ],
    [ { avatarUrl => 'https:///x' }, "avatarUrl $avatar" ],
    [ { avatarUrl => '/a b.png' }, "avatarUrl $avatar" ],
    [ { avatarUrl => '/a"onerror="x.png' }, "avatarUrl $avatar" ],
    [ { avatarUrl => 'avatars/a.png' }, "avatarUrl $avatar" ],
    [ { avatarUrl => '' }, 'avatarUrl must not be empty' ],
    [ { avatarUrl => '/' . ('a' x 500) },
      'avatarUrl must be at most 500 characters' ],
    [ { avatarUrl => 7 }, 'avatarUrl must be a string' ],
);

for my $b (@bad) {
    my $what = Twitch::Test::ApiClient::json()->encode($b->[0]);
    $what = substr($what, 0, 50) . '...' if length $what > 53;
    $r = $api->call(PATCH => '/api/users/me', as => $me, body => $b->[0]);
    is $r->{status}, 400, "PATCH $what is 400";
    is $r->{json}{error}, $b->[1], "  $b->[1]";
}

is $api->call(GET => "/api/users/$name")->{json}{user}{displayName},
   'Me Myself', 'refused updates changed nothing';

$r = $api->call(PATCH => '/api/users/me', as => $me,
                body => { displayName => 'x' x 50, bio => 'b' x 500 });
is $r->{status}, 200, 'the longest display name and bio';

# --- following: live first, then the newest follows ------------------------------

my @chans = map { $api->register("tw24c${_}_$$") } 1 .. 4;
my @ids;
for my $i (0 .. 3) {
    my $c = $chans[$i]{name};
    is $api->call(POST => "/api/channels/$c/follow", as => $me)->{status},
       200, "follow $c";
    push @ids, $api->call(GET => "/api/channels/$c")->{json}{channel}{id};
    # distinct follow times, oldest first
    sql("UPDATE followers SET followed_at = now() - interval '"
        . (10 - $i) . " minutes' WHERE user_id = $me->{id}"
        . " AND channel_id = $ids[-1]");
}

# channels 1 and 3 go live with viewers (as ingest would)
sql("UPDATE channels SET is_live = true, current_viewers = 5"
    . " WHERE id = $ids[0]");
sql("UPDATE channels SET is_live = true, current_viewers = 50"
    . " WHERE id = $ids[2]");

$r = $api->call(GET => "/api/users/$name/following");
is $r->{status}, 200, 'public following list';
is_deeply [map { $_->{name} } @{ $r->{json}{following} }],
          [map { $chans[$_]{name} } 2, 0, 3, 1],
          'live first (newest follow first), then offline (newest first)';
is_deeply [map { $_->{isLive} ? 1 : 0 } @{ $r->{json}{following} }],
          [1, 1, 0, 0], 'isLive flags';
is $r->{json}{following}[0]{viewerCount}, 50, 'viewerCount';

$r = $api->call(GET => '/api/following', as => $me);
is_deeply [map { $_->{name} } @{ $r->{json}{following} }],
          [map { $chans[$_]{name} } 2, 0, 3, 1], '/api/following: same';

$r = $api->call(GET => '/api/following?limit=2&offset=1', as => $me);
is_deeply [map { $_->{name} } @{ $r->{json}{following} }],
          [map { $chans[$_]{name} } 0, 3], 'paging';

$r = $api->call(GET => '/api/following?limit=101', as => $me);
is $r->{status}, 400, 'limit=101 is 400';

# the directory: live first by viewers
$r = $api->call(GET => '/api/channels/live?limit=100');
my $pid = $$;
my @live = grep { /^tw24c\d_$pid\z/ } map { $_->{name} } @{ $r->{json}{channels} };
is_deeply \@live, [map { $chans[$_]{name} } 2, 0],
          '/api/channels/live: by viewers';
ok !(grep { !$_->{isLive} } @{ $r->{json}{channels} }), 'all live';

$r = $api->call(GET => '/api/channels?limit=100');
my @names = map { $_->{name} } @{ $r->{json}{channels} };
my ($pos2) = grep { $names[$_] eq $chans[2]{name} } 0 .. $#names;
my ($pos0) = grep { $names[$_] eq $chans[0]{name} } 0 .. $#names;
my ($pos1) = grep { $names[$_] eq $chans[1]{name} } 0 .. $#names;
ok defined $pos2 && defined $pos0 && defined $pos1 && $pos2 < $pos0
   && $pos0 < $pos1, '/api/channels: live (by viewers) before offline';

# back offline, so that later test files see no live channels of ours
sql("UPDATE channels SET is_live = false, current_viewers = 0"
    . " WHERE id IN ($ids[0], $ids[2])");

ok $n->stop, 'nginx stops cleanly';
unlike $n->error_log, qr/\[error\]/, 'no [error] lines';

done_testing;
