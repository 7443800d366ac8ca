# A channel's owner: the stream key is shown to the owner only; PATCH of
# the channel settings (validation, owner/admin vs others, SQL strings
# stored verbatim); stream key rotation (auth/me, the database, the
# Redis notice, the audit log); follower and subscriber lists for the
# owner, channel moderators and admins only.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(require_platform wait_until);
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

my $shroud = $api->login('shroud');
my $xqc = $api->login('xqc');
my $admin = $api->login('admin');

my $owner = $api->register("tw21o_$$");
my $other = $api->register("tw21x_$$");
my $mod = $api->register("tw21m_$$");
my $ch = $owner->{name};

# --- the stream key is for the owner's eyes only ----------------------------

my $r = $api->call(GET => '/api/auth/me', as => $shroud);
my $key = $r->{json}{user}{channel}{streamKey};
like $key, qr/^live_[0-9a-f]{32}$/, 'shroud has a stream key';

$r = $api->call(GET => '/api/channels/shroud', as => $shroud);
is $r->{status}, 200, 'shroud views his channel';
is $r->{json}{channel}{streamKey}, $key, 'the owner sees the stream key';
is $r->{json}{channel}{isOwner}, JSON::PP::true, 'isOwner for the owner';
like $r->{body}, qr/"isOwner":true,"streamKey":"live_[0-9a-f]{32}"\}\}$/,
     'streamKey is the last member';

for my $viewer ([xqc => $xqc], [admin => $admin], [anonymous => undef]) {
    $r = $api->call(GET => '/api/channels/shroud', as => $viewer->[1]);
    is $r->{status}, 200, "$viewer->[0] views shroud's channel";
    unlike $r->{body}, qr/streamKey|live_[0-9a-f]/,
           "no stream key for $viewer->[0]";
    is $r->{json}{channel}{isOwner}, JSON::PP::false,
       "isOwner false for $viewer->[0]";
}

$r = $api->call(GET => '/api/channels/shroud', as => 'A' x 43);
is $r->{status}, 200, 'an expired session is just anonymous here';
unlike $r->{body}, qr/streamKey/, 'and sees no key';

# --- PATCH /api/channels/:name ------------------------------------------------

$r = $api->call(GET => "/api/channels/$ch", as => $owner);
is $r->{json}{channel}{title}, 'Untitled Stream', 'a new channel is untitled';
is_deeply $r->{json}{channel}{tags}, [], 'and has no tags';

my $title = q{'; DROP TABLE users; --};
my $desc = q{" OR 1=1 -- and \\ and %_ and ünïcødé ✓};

$r = $api->call(PATCH => "/api/channels/$ch", as => $owner,
                body => { title => $title, description => $desc,
                          categoryId => 7, tags => ['FPS', 'Chill2'] });
is $r->{status}, 200, 'the owner updates the channel';
is $r->{body}, '{"success":true}', 'success';

$r = $api->call(GET => "/api/channels/$ch");
my $c = $r->{json}{channel};
is $c->{title}, $title, 'SQL in the title is stored verbatim';
is $c->{description}, $desc, 'SQL and unicode in the description too';
is_deeply $c->{tags}, ['FPS', 'Chill2'], 'tags';
is_deeply $c->{category}, { id => 7, name => 'Counter-Strike 2',
                            slug => 'cs2' }, 'category';
is sql("SELECT count(*) > 0 FROM users"), 't', 'the users table is intact';

$r = $api->call(GET => "/api/channels?limit=100&category=cs2");
like $r->{body}, qr/"name":"$ch","title":"'; DROP TABLE users; --"/,
     'the card shows the new title and category';

$r = $api->call(PATCH => "/api/channels/\U$ch", as => $owner,
                body => { categoryId => undef, description => undef,
                          tags => [] });
is $r->{status}, 200, 'null clears category and description (any case)';
$c = $api->call(GET => "/api/channels/$ch")->{json}{channel};
is $c->{category}, undef, 'no category';
is $c->{description}, undef, 'no description';
is_deeply $c->{tags}, [], 'no tags';
is $c->{title}, $title, 'the title is untouched';

$r = $api->call(PATCH => "/api/channels/$ch", as => $owner, body => {});
is $r->{status}, 200, 'an empty PATCH';
is $r->{body}, '{"success":true,"message":"Nothing to update"}',
   'is Nothing to update';

$r = $api->call(PATCH => "/api/channels/$ch", as => $owner,
                body => { unknown => 1 });
is $r->{body}, '{"success":true,"message":"Nothing to update"}',
   'unknown fields are ignored';

my $t140 = "\x{e9}" x 140;
$r = $api->call(PATCH => "/api/channels/$ch", as => $owner,
                body => { title => $t140 });
is $r->{status}, 200, 'a title of 140 characters (280 bytes)';
is $api->call(GET => "/api/channels/$ch")->{json}{channel}{title}, $t140,
   'stored';

my @bad = (
    [ { title => '' }, 'title must not be empty' ],
    [ { title => "\x{e9}" x 141 }, 'title must be at most 140 characters' ],
    [ { title => 5 }, 'title must be a string' ],
    [ { title => undef }, 'title must be a string' ],
    [ { title => ['x'] }, 'title must be a string' ],
    [ { description => 'd' x 2001 },
      'description must be at most 2000 characters' ],
    [ { description => 5 }, 'description must be a string' ],
    [ { categoryId => '7' }, 'categoryId must be an integer or null' ],
    [ { categoryId => 1.5 }, 'categoryId must be an integer' ],
    [ { categoryId => 999999999 }, 'Unknown category' ],
    [ { categoryId => 0 }, 'Unknown category' ],
    [ { categoryId => -3 }, 'Unknown category' ],
    [ { tags => 'x' }, 'tags must be an array of strings' ],
    [ { tags => undef }, 'tags must be an array of strings' ],
    [ { tags => [1] }, 'tags must be an array of strings' ],
    [ { tags => [map { "t$_" } 1 .. 11] },
      'tags must have at most 10 entries' ],
    [ { tags => ['two words'] }, 'each tag must be 1 to 25 letters or digits' ],
    [ { tags => [''] }, 'each tag must be 1 to 25 letters or digits' ],
    [ { tags => ['a' x 26] }, 'each tag must be 1 to 25 letters or digits' ],
    [ { tags => ["'--"] }, 'each tag must be 1 to 25 letters or digits' ],
    [ { tags => ['Abc', 'aBC'] }, 'tags must not repeat' ],
    [ { title => 'ok', tags => 'x' }, 'tags must be an array of strings' ],
);

for my $b (@bad) {
    my $what = Twitch::Test::ApiClient::json()->encode($b->[0]);
    $what = substr($what, 0, 60) . '...' if length $what > 63;
    $r = $api->call(PATCH => "/api/channels/$ch", as => $owner,
                    body => $b->[0]);
    is $r->{status}, 400, "PATCH $what is 400";
    is $r->{json}{error}, $b->[1], "  $b->[1]";
}

is $api->call(GET => "/api/channels/$ch")->{json}{channel}{title}, $t140,
   'refused updates changed nothing';

$r = $api->call(PATCH => "/api/channels/$ch", as => $owner,
                body => '{"title":"x","title":"y"}');
is $r->{status}, 400, 'duplicate keys are refused by the JSON parser';

$r = $api->call(PATCH => "/api/channels/$ch", as => $other,
                body => { title => 'hijacked' });
is $r->{status}, 403, 'another user cannot update the channel';
is $r->{body}, '{"error":"Not authorized"}', 'Not authorized';

$r = $api->call(PATCH => "/api/channels/$ch", as => $other, body => {});
is $r->{status}, 403, 'not even with nothing to update';

$r = $api->call(PATCH => '/api/channels/shroud', as => $xqc,
                body => { title => 'hijacked' });
is $r->{status}, 403, 'xqc cannot update shroud\'s channel';
isnt $api->call(GET => '/api/channels/shroud')->{json}{channel}{title},
     'hijacked', 'shroud\'s title is unchanged';

$r = $api->call(PATCH => "/api/channels/$ch", as => $admin,
                body => { title => 'Moderated title' });
is $r->{status}, 200, 'an admin can update any channel';
is $api->call(GET => "/api/channels/$ch")->{json}{channel}{title},
   'Moderated title', 'the admin\'s title is set';

$r = $api->call(PATCH => '/api/channels/no_such_chan', as => $owner,
                body => { title => 'x' });
is $r->{status}, 404, 'PATCH of an unknown channel is 404';
is $r->{body}, '{"error":"Channel not found"}', 'Channel not found';

# --- stream key rotation ------------------------------------------------------

my $cid = $api->call(GET => "/api/channels/$ch")->{json}{channel}{id};
my $k1 = $api->call(GET => '/api/auth/me', as => $owner)
             ->{json}{user}{channel}{streamKey};
like $k1, qr/^live_[0-9a-f]{32}$/, 'the owner\'s key before rotation';

# listen for the rotation notice on Redis
my $sub_out = "$ENV{TEST_NGINX_SERVROOT}_021_sub.$$";
my $sub_pid = fork // die "fork: $!";
if ($sub_pid == 0) {
    open STDOUT, '>', $sub_out or die;
    open STDERR, '>', '/dev/null';
    exec 'timeout', '10', 'redis-cli', '-p', $ENV{TEST_NGINX_REDIS_PORT},
         'SUBSCRIBE', 'stream_key_rotated';
    exit 127;
}
wait_until(sub { -s $sub_out }, 3);

$r = $api->call(POST => "/api/channels/$ch/stream-key", as => $other);
is $r->{status}, 403, 'another user cannot rotate the key';
is $r->{body}, '{"error":"Not authorized"}', 'Not authorized';

$r = $api->call(POST => "/api/channels/$ch/stream-key", as => $admin);
is $r->{status}, 403, 'nor can an admin (the key is the owner\'s secret)';

is $api->call(GET => '/api/auth/me', as => $owner)
       ->{json}{user}{channel}{streamKey}, $k1, 'the key is unchanged';

$r = $api->call(POST => "/api/channels/$ch/stream-key", as => $owner);
is $r->{status}, 200, 'the owner rotates the key';
my $k2 = $r->{json}{streamKey};
like $k2, qr/^live_[0-9a-f]{32}$/, 'a new key';
isnt $k2, $k1, 'different from the old one';
like $r->{body}, qr/^\{"streamKey":"live_[0-9a-f]{32}"\}$/, 'body shape';

is $api->call(GET => '/api/auth/me', as => $owner)
       ->{json}{user}{channel}{streamKey}, $k2, '/api/auth/me has the new key';
is sql("SELECT count(*) FROM channels WHERE stream_key = '$k1'"), '0',
   'the old key is gone from the database';
is sql("SELECT id FROM channels WHERE stream_key = '$k2'"), $cid,
   'the new key belongs to the channel';
is sql("SELECT count(*) FROM audit_log WHERE action ="
       . " 'channel.stream_key_rotate' AND channel_id = $cid"
       . " AND actor_id = $owner->{id}"), '1', 'the rotation is audited';

ok wait_until(sub {
       my $t = do { local (@ARGV, $/) = ($sub_out); <> } // '';
       $t =~ /^stream_key_rotated\n$cid$/m;
   }, 5), "stream_key_rotated $cid published on Redis";
kill 'TERM', $sub_pid;
waitpid $sub_pid, 0;
unlink $sub_out;

$r = $api->call(GET => "/api/channels/$ch", as => $owner);
is $r->{json}{channel}{streamKey}, $k2, 'the channel page shows the new key';

$r = $api->call(POST => '/api/channels/no_such_chan/stream-key', as => $owner);
is $r->{status}, 404, 'rotation on an unknown channel is 404';

$r = $api->call(POST => '/api/channels/shroud/stream-key', as => $xqc);
is $r->{status}, 403, 'xqc cannot rotate shroud\'s key';
is $api->call(GET => '/api/auth/me', as => $shroud)
       ->{json}{user}{channel}{streamKey}, $key, 'shroud\'s key is unchanged';

# --- followers and subscribers: owner, channel moderators, admins -----------

for my $u ($other, $mod, $xqc) {
    $r = $api->call(POST => "/api/channels/$ch/follow", as => $u);
    is $r->{status}, 200, "$u->{name} follows";
}
$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $other,
                body => { tier => 2 });
is $r->{status}, 200, "$other->{name} subscribes";
# an expired subscription is not listed
sql("INSERT INTO subscriptions (user_id, channel_id, tier, started_at,"
    . " expires_at) VALUES ($xqc->{id}, $cid, 1, now() - interval '40 days',"
    . " now() - interval '10 days')");

$r = $api->call(GET => "/api/channels/$ch/followers", as => $owner);
is $r->{status}, 200, 'the owner lists the followers';
is_deeply [map { $_->{username} } @{ $r->{json}{followers} }],
          ['xqc', $mod->{name}, $other->{name}], 'newest first';
like $r->{body}, qr/^\{"followers":\[\{"userId":$xqc->{id},"username":"xqc","displayName":"[^"]*","avatarUrl":null,"followedAt":"\d{4}-[^"]+Z"\},/,
     'follower shape';

$r = $api->call(GET => "/api/channels/$ch/followers?limit=1&offset=1",
                as => $owner);
is_deeply [map { $_->{username} } @{ $r->{json}{followers} }],
          [$mod->{name}], 'paging';

$r = $api->call(GET => "/api/channels/$ch/followers?limit=0", as => $owner);
is $r->{status}, 400, 'limit=0 is 400';

$r = $api->call(GET => "/api/channels/$ch/subscribers", as => $owner);
is $r->{status}, 200, 'the owner lists the subscribers';
is scalar @{ $r->{json}{subscribers} }, 1, 'active subscriptions only';
like $r->{body}, qr/^\{"subscribers":\[\{"userId":$other->{id},"username":"$other->{name}","displayName":"$other->{name}","avatarUrl":null,"tier":2,"startedAt":"[^"]+Z","expiresAt":"[^"]+Z","isGift":false\}\]\}$/,
     'subscriber shape';

for my $path ("/api/channels/$ch/followers", "/api/channels/$ch/subscribers")
{
    $r = $api->call(GET => $path, as => $other);
    is $r->{status}, 403, "a follower cannot list $path";
    is $r->{body}, '{"error":"Not authorized"}', 'Not authorized';

    $r = $api->call(GET => $path, as => $mod);
    is $r->{status}, 403, "nor a moderator of another channel";

    $r = $api->call(GET => $path, as => $admin);
    is $r->{status}, 200, "an admin lists $path";
}

sql("INSERT INTO channel_moderators (channel_id, user_id, added_by)"
    . " VALUES ($cid, $mod->{id}, $owner->{id})");

$r = $api->call(GET => "/api/channels/$ch/followers", as => $mod);
is $r->{status}, 200, 'a channel moderator lists the followers';
is scalar @{ $r->{json}{followers} }, 3, 'all of them';
$r = $api->call(GET => "/api/channels/$ch/subscribers", as => $mod);
is $r->{status}, 200, 'and the subscribers';

$r = $api->call(GET => '/api/channels/pokimane/followers', as => $xqc);
is $r->{status}, 200, 'xqc moderates pokimane\'s channel (demo data)';
$r = $api->call(GET => '/api/channels/shroud/followers', as => $xqc);
is $r->{status}, 403, 'but not shroud\'s';

$r = $api->call(GET => '/api/channels/no_such_chan/followers', as => $admin);
is $r->{status}, 404, 'followers of an unknown channel: 404';
$r = $api->call(GET => '/api/channels/no_such_chan/subscribers', as => $admin);
is $r->{status}, 404, 'subscribers of an unknown channel: 404';

# --- secrets stay out of the logs ----------------------------------------------

ok $n->stop, 'nginx stops cleanly: no alerts, crashes or sanitizer reports';
my $log = $n->error_log;
unlike $log, qr/\Q$k1\E|\Q$k2\E|\Q$key\E/, 'no stream key in error.log';
unlike $log, qr/\[error\]/, 'no [error] lines';

done_testing;
