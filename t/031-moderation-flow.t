# /api/moderation signed in: the permission matrix (owner, channel
# moderator, VIP, random user, global moderator, admin, anonymous), bans
# and timeouts with their rules, the events on Redis "chat:<channelId>"
# (exact JSON), the lists, room modes persisted in chat_settings,
# moderators and VIPs, message deletion and clearing (also of messages the
# chat has not stored yet), and the audit log.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(require_platform);
use Twitch::Test::Accounts qw(sql make_user api json);
use Twitch::Test::Redis;

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

my $p = "t031_$$";

my $owner  = make_user($n, "${p}_own", channel => 1);
my $mod    = make_user($n, "${p}_mod");
my $mod2   = make_user($n, "${p}_mod2");
my $vip    = make_user($n, "${p}_vip");
my $rando  = make_user($n, "${p}_usr");
my $gmod   = make_user($n, "${p}_gmod", role => 'moderator');
my $admin  = make_user($n, "${p}_adm", role => 'admin');
my $viewer = make_user($n, "${p}_v1", login => 0);
my $viewer2 = make_user($n, "${p}_v2", login => 0);

my $ch = $owner->{channel_id};
my $base = "/api/moderation/$ch";

sql("INSERT INTO channel_moderators (channel_id, user_id, added_by)"
    . " VALUES ($ch, $mod->{id}, $owner->{id}), ($ch, $mod2->{id}, NULL)");
sql("INSERT INTO channel_vips (channel_id, user_id, added_by)"
    . " VALUES ($ch, $vip->{id}, $owner->{id})");

my $sub = Twitch::Test::Redis->new;
$sub->subscribe("chat:$ch");

sub events {
    return map { $_->[1] } $sub->drain(0.15);
}

sub one_event {
    my ($what) = @_;
    my @e = events();
    is scalar(@e), 1, "$what: one event published" or diag explain \@e;
    return $e[0] // '';
}

sub ok_json {
    my ($r, $expect, $what) = @_;
    is $r->{status}, 200, "$what: 200" or diag $r->{body};
    is_deeply $r->{json}, $expect, "$what: body" or diag $r->{body};
}

sub err {
    my ($r, $status, $msg, $what) = @_;
    is $r->{status}, $status, "$what: $status" or diag $r->{body};
    is $r->{body}, json->encode({ error => $msg }), "$what: \"$msg\"";
}

my $no_right = 'Not authorized to moderate this channel';
my $iso = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

# --- permission matrix: who may ban ------------------------------------------

err(api($n, POST => "$base/ban", undef, { userId => $viewer->{id} }),
    401, 'Not authenticated', 'anonymous ban');
err(api($n, POST => "$base/ban", $rando, { userId => $viewer->{id} }),
    403, $no_right, 'random user bans');
err(api($n, POST => "$base/ban", $vip, { userId => $viewer->{id} }),
    403, $no_right, 'VIP bans');
is_deeply [events()], [], 'refused bans publish nothing';
is sql("SELECT count(*) FROM channel_bans WHERE channel_id = $ch"), '0',
   'and write nothing';

for my $who ([$owner, 'owner'], [$mod, 'channel moderator'],
             [$gmod, 'global moderator'], [$admin, 'admin'])
{
    my ($u, $name) = @$who;
    my $r = api($n, POST => "$base/ban", $u,
                { userId => $viewer->{id}, reason => "by $name" });
    ok_json($r, { success => JSON::PP::true,
                  ban => { userId => $viewer->{id} + 0, channelId => $ch + 0,
                           expiresAt => undef,
                           isPermanent => JSON::PP::true } },
            "$name bans");
    my $e = one_event("$name bans");
    is $e, '{"type":"user_banned","channelId":' . $ch . ',"userId":'
           . $viewer->{id} . ',"username":"' . $viewer->{name}
           . '","isPermanent":true,"duration":null,"expiresAt":null,'
           . '"reason":"by ' . $name . '"}',
       "$name bans: the user_banned event, exactly";
    is sql("SELECT banned_by || '|' || coalesce(expires_at::text, 'null')"
           . " FROM channel_bans WHERE channel_id = $ch"
           . " AND user_id = $viewer->{id}"),
       "$u->{id}|null", "$name bans: a permanent channel_bans row";

    err(api($n, POST => "$base/ban", $u, { userId => $viewer->{id} }),
        409, 'User is already banned', "$name bans again");

    $r = api($n, DELETE => "$base/ban/$viewer->{id}", $u);
    ok_json($r, { success => JSON::PP::true }, "$name unbans");
    is one_event("$name unbans"),
       '{"type":"user_unbanned","channelId":' . $ch . ',"userId":'
       . $viewer->{id} . ',"username":"' . $viewer->{name} . '"}',
       "$name unbans: the user_unbanned event";
    is sql("SELECT count(*) FROM channel_bans WHERE channel_id = $ch"), '0',
       "$name unbans: the row is gone";
}

err(api($n, DELETE => "$base/ban/$viewer->{id}", $owner),
    404, 'Ban not found', 'unban without a ban');
err(api($n, DELETE => "$base/ban/$viewer->{id}", $vip),
    403, $no_right, 'VIP unbans');

# --- ban rules ---------------------------------------------------------------

for my $u ([$admin, 'admin'], [$mod, 'moderator'], [$gmod, 'global moderator'])
{
    err(api($n, POST => "$base/ban", $u->[0], { userId => $owner->{id} }),
        400, 'Cannot ban the channel owner', "$u->[1] bans the owner");
    err(api($n, POST => "$base/timeout", $u->[0],
            { userId => $owner->{id}, durationSeconds => 60 }),
        400, 'Cannot timeout the channel owner', "$u->[1] times out the owner");
}

err(api($n, POST => "$base/ban", $mod, { userId => $mod2->{id} }),
    403, 'Only the channel owner can ban a moderator',
    'a moderator bans another moderator');
err(api($n, POST => "$base/timeout", $mod,
        { userId => $gmod->{id}, durationSeconds => 60 }),
    403, 'Only the channel owner can timeout a moderator',
    'a moderator times out a global moderator');
err(api($n, POST => "$base/ban", $admin, { userId => $admin->{id} }),
    400, 'Cannot ban yourself', 'banning oneself');
err(api($n, POST => "$base/ban", $owner, { userId => 999999999 }),
    404, 'User not found', 'banning an unknown user');
err(api($n, POST => "/api/moderation/999999999/ban", $admin,
        { userId => $viewer->{id} }),
    404, 'Channel not found', 'banning in an unknown channel');
err(api($n, POST => "/api/moderation/999999999/ban", $rando,
        { userId => $viewer->{id} }),
    404, 'Channel not found', 'unknown channel before rights');
is_deeply [events()], [], 'no event for refused actions';

my $r = api($n, POST => "$base/ban", $owner, { userId => $mod2->{id} });
is $r->{status}, 200, 'the owner may ban a moderator';
is api($n, DELETE => "$base/ban/$mod2->{id}", $owner)->{status}, 200,
   'and unban them';
events();

# --- timeouts ----------------------------------------------------------------

$r = api($n, POST => "$base/timeout", $mod,
         { userId => $viewer->{id}, durationSeconds => 600,
           reason => "calm down \x{e9}" });
is $r->{status}, 200, 'a moderator times out' or diag $r->{body};
is $r->{json}{timeout}{userId}, $viewer->{id}, 'timeout.userId';
is $r->{json}{timeout}{channelId}, $ch, 'timeout.channelId';
is $r->{json}{timeout}{durationSeconds}, 600, 'timeout.durationSeconds';
like $r->{json}{timeout}{expiresAt}, $iso, 'timeout.expiresAt is ISO 8601';
like $r->{body}, qr/^\{"success":true,"timeout":\{"userId":\d+,"channelId":\d+,"durationSeconds":600,"expiresAt":"[^"]+"\}\}$/,
     'timeout: numbers are JSON numbers';
my $expires = $r->{json}{timeout}{expiresAt};

my $e = one_event('timeout');
is $e, '{"type":"user_timeout","channelId":' . $ch . ',"userId":'
       . $viewer->{id} . ',"username":"' . $viewer->{name}
       . '","duration":600,"expiresAt":"' . $expires
       . "\",\"reason\":\"calm down \xc3\xa9\"}",
   'the user_timeout event, exactly';
is sql("SELECT round(extract(epoch FROM expires_at - created_at))"
       . " FROM channel_bans WHERE channel_id = $ch"
       . " AND user_id = $viewer->{id}"),
   '600', 'the row expires 600 s after it was made';

$r = api($n, POST => "$base/timeout", $mod,
         { userId => $viewer->{id}, durationSeconds => 1 });
is $r->{status}, 200, 'a new timeout replaces the running one';
is sql("SELECT round(extract(epoch FROM expires_at - created_at))"
       . " FROM channel_bans WHERE channel_id = $ch"
       . " AND user_id = $viewer->{id}"),
   '1', 'with its own duration';
events();

$r = api($n, POST => "$base/ban", $mod, { userId => $viewer->{id} });
is $r->{status}, 200, 'a timed-out user can be banned for good';
err(api($n, POST => "$base/timeout", $mod,
        { userId => $viewer->{id}, durationSeconds => 60 }),
    409, 'User is banned: unban them first',
    'a banned user cannot be turned into a timed-out one');
err(api($n, DELETE => "$base/timeout/$viewer->{id}", $mod),
    404, 'Timeout not found', 'untimeout of a permanent ban');
is api($n, DELETE => "$base/ban/$viewer->{id}", $mod)->{status}, 200,
   'unban';
events();

# a ban with a duration is a temporary ban
$r = api($n, POST => "$base/ban", $owner,
         { userId => $viewer2->{id}, durationSeconds => 3600 });
is $r->{status}, 200, 'ban with durationSeconds';
is $r->{json}{ban}{isPermanent}, JSON::PP::false, 'is not permanent';
like $r->{json}{ban}{expiresAt}, $iso, 'and expires';
$e = one_event('temporary ban');
like $e, qr/^\{"type":"user_banned","channelId":$ch,"userId":$viewer2->{id},"username":"$viewer2->{name}","isPermanent":false,"duration":3600,"expiresAt":"[^"]+","reason":null\}$/,
     'user_banned with isPermanent false, duration and expiresAt';

# timeouts end by themselves: an expired row is no longer active
sql("INSERT INTO channel_bans (channel_id, user_id, banned_by, expires_at,"
    . " created_at) VALUES ($ch, $rando->{id}, $owner->{id},"
    . " now() - interval '1 minute', now() - interval '2 minutes')");

# --- GET bans ----------------------------------------------------------------

err(api($n, GET => "$base/bans", $rando), 403, $no_right,
    'a random user lists bans');
err(api($n, GET => "$base/bans", $vip), 403, $no_right, 'a VIP lists bans');
err(api($n, GET => "$base/bans"), 401, 'Not authenticated',
    'anonymous lists bans');

api($n, POST => "$base/ban", $owner,
    { userId => $viewer->{id}, reason => 'spam' });
events();

for my $u ([$owner, 'owner'], [$mod, 'moderator'], [$admin, 'admin']) {
    $r = api($n, GET => "$base/bans", $u->[0]);
    is $r->{status}, 200, "$u->[1] lists bans" or diag $r->{body};
    my @b = @{ $r->{json}{bans} // [] };
    is scalar(@b), 2, "$u->[1]: the two active bans, not the expired one";
}

my %b = map { $_->{username} => $_ } @{ $r->{json}{bans} };
is_deeply [sort keys %{ $b{$viewer->{name}} }],
          [sort qw(userId username displayName avatarUrl reason expiresAt
                   createdAt bannedByUsername isPermanent)],
          'a ban has the documented fields';
is $b{$viewer->{name}}{isPermanent}, JSON::PP::true, 'permanent ban';
is $b{$viewer->{name}}{expiresAt}, undef, 'expiresAt null';
is $b{$viewer->{name}}{reason}, 'spam', 'reason';
is $b{$viewer->{name}}{bannedByUsername}, $owner->{name}, 'bannedByUsername';
is $b{$viewer->{name}}{displayName}, "The $viewer->{name}", 'displayName';
like $b{$viewer->{name}}{createdAt}, $iso, 'createdAt';
is $b{$viewer2->{name}}{isPermanent}, JSON::PP::false, 'temporary ban';
like $b{$viewer2->{name}}{expiresAt}, $iso, 'with expiresAt';

$r = api($n, GET => "$base/bans?limit=1&offset=1", $owner);
is scalar(@{ $r->{json}{bans} }), 1, 'bans are paged';

err(api($n, GET => "/api/moderation/999999999/bans", $admin), 404,
    'Channel not found', 'bans of an unknown channel');

# --- room modes --------------------------------------------------------------

sub settings {
    return sql("SELECT concat_ws(',', slow_mode_seconds, followers_only,"
               . " followers_only_minutes, subscribers_only, emote_only,"
               . " unique_chat) FROM chat_settings WHERE channel_id = $ch");
}

sub room_event {
    my (%s) = @_;
    return '{"type":"chat_settings","channelId":' . $ch
           . ',"slowModeSeconds":' . $s{slow}
           . ',"followersOnly":' . ($s{fo} ? 'true' : 'false')
           . ',"followersOnlyMinutes":' . $s{fomin}
           . ',"subscribersOnly":' . ($s{so} ? 'true' : 'false')
           . ',"emoteOnly":' . ($s{eo} ? 'true' : 'false')
           . ',"uniqueChat":' . ($s{uc} ? 'true' : 'false') . '}';
}

my %room = (slow => 0, fo => 0, fomin => 0, so => 0, eo => 0, uc => 0);

err(api($n, POST => "$base/filters/slow-mode", $vip,
        { enabled => JSON::PP::true }),
    403, $no_right, 'a VIP sets slow mode');
err(api($n, POST => "$base/filters/emote-only", $rando,
        { enabled => JSON::PP::true }),
    403, $no_right, 'a random user sets emote-only');
is settings(), '0,f,0,f,f,f', 'nothing changed';
is_deeply [events()], [], 'no event';

$r = api($n, POST => "$base/filters/slow-mode", $mod,
         { enabled => JSON::PP::true });
ok_json($r, { success => JSON::PP::true,
              slowMode => { enabled => JSON::PP::true,
                            durationSeconds => 5 } },
        'slow mode on, 5 s by default');
$room{slow} = 5;
is_deeply [events()],
          [room_event(%room),
           '{"type":"slow_mode_changed","channelId":' . $ch
           . ',"enabled":true,"durationSeconds":5}'],
          'chat_settings then the legacy slow_mode_changed';

$r = api($n, POST => "$base/filters/slow-mode", $owner,
         { enabled => JSON::PP::true, durationSeconds => 30 });
is $r->{json}{slowMode}{durationSeconds}, 30, 'slow mode 30 s';
$room{slow} = 30;
events();

$r = api($n, POST => "$base/filters/emote-only", $gmod,
         { enabled => JSON::PP::true });
ok_json($r, { success => JSON::PP::true, emoteOnly => JSON::PP::true },
        'emote-only on');
$room{eo} = 1;
is_deeply [events()],
          [room_event(%room),
           '{"type":"emote_only_changed","channelId":' . $ch
           . ',"enabled":true}'],
          'chat_settings then the legacy emote_only_changed';

$r = api($n, POST => "$base/filters/subscriber-only", $admin,
         { enabled => JSON::PP::true });
ok_json($r, { success => JSON::PP::true, subscriberOnly => JSON::PP::true },
        'subscriber-only on');
$room{so} = 1;
is_deeply [events()], [room_event(%room)], 'one chat_settings event';

$r = api($n, POST => "$base/filters/follower-only", $mod,
         { enabled => JSON::PP::true, durationMinutes => 1440 });
ok_json($r, { success => JSON::PP::true,
              followerOnly => { enabled => JSON::PP::true,
                                durationMinutes => 1440 } },
        'follower-only on, one day');
@room{qw(fo fomin)} = (1, 1440);
is_deeply [events()], [room_event(%room)], 'chat_settings event';

$r = api($n, POST => "$base/filters/unique-chat", $mod,
         { enabled => JSON::PP::true });
ok_json($r, { success => JSON::PP::true, uniqueChat => JSON::PP::true },
        'unique chat on');
$room{uc} = 1;
is_deeply [events()], [room_event(%room)], 'chat_settings event';

is settings(), '30,t,1440,t,t,t', 'all modes persisted in chat_settings';

$r = api($n, GET => "$base/filters");
ok_json($r, { filters => {
                  slowMode => { enabled => JSON::PP::true,
                                durationSeconds => 30 },
                  emoteOnly => JSON::PP::true,
                  subscriberOnly => JSON::PP::true,
                  followerOnly => { enabled => JSON::PP::true,
                                    durationMinutes => 1440 },
                  uniqueChat => JSON::PP::true } },
        'GET filters returns them (anonymous)');

$r = api($n, POST => "$base/filters/slow-mode", $mod,
         { enabled => JSON::PP::false });
ok_json($r, { success => JSON::PP::true,
              slowMode => { enabled => JSON::PP::false,
                            durationSeconds => 0 } },
        'slow mode off: durationSeconds 0');
$room{slow} = 0;
is_deeply [events()],
          [room_event(%room),
           '{"type":"slow_mode_changed","channelId":' . $ch
           . ',"enabled":false,"durationSeconds":0}'],
          'off is published too';

$r = api($n, POST => "$base/filters/follower-only", $mod,
         { enabled => JSON::PP::false, durationMinutes => 10 });
is $r->{json}{followerOnly}{durationMinutes}, 0,
   'follower-only off resets the minimum follow age';
for my $f (qw(emote-only subscriber-only unique-chat)) {
    is api($n, POST => "$base/filters/$f", $mod,
           { enabled => JSON::PP::false })->{status}, 200, "$f off";
}
is settings(), '0,f,0,f,f,f', 'all modes off again';
is scalar(events()), 5, 'one event each (plus the legacy emote-only one)';

# --- moderators and VIPs -----------------------------------------------------

my $cand = make_user($n, "${p}_cand", login => 0);

err(api($n, POST => "$base/moderator", $mod, { userId => $cand->{id} }),
    403, 'Only channel owner can manage moderators', 'a moderator adds one');
err(api($n, POST => "$base/moderator", $gmod, { userId => $cand->{id} }),
    403, 'Only channel owner can manage moderators',
    'a global moderator adds one');
err(api($n, DELETE => "$base/moderator/$mod->{id}", $mod2),
    403, 'Only channel owner can manage moderators',
    'a moderator removes one');
err(api($n, POST => "$base/vip", $vip, { userId => $cand->{id} }),
    403, 'Only channel owner can manage VIPs', 'a VIP adds one');
err(api($n, POST => "$base/moderator", $owner, { userId => $owner->{id} }),
    400, 'The channel owner cannot be a moderator', 'modding the owner');
err(api($n, POST => "$base/vip", $owner, { userId => $owner->{id} }),
    400, 'The channel owner cannot be a VIP', 'VIPing the owner');
err(api($n, POST => "$base/moderator", $owner, { userId => 999999999 }),
    404, 'User not found', 'modding an unknown user');
err(api($n, POST => "/api/moderation/999999999/moderator", $owner,
        { userId => $cand->{id} }),
    404, 'Channel not found', 'modding in an unknown channel');
is_deeply [events()], [], 'no events';

ok_json(api($n, POST => "$base/moderator", $owner, { userId => $cand->{id} }),
        { success => JSON::PP::true }, 'the owner adds a moderator');
is one_event('moderator added'),
   '{"type":"moderator_added","channelId":' . $ch . ',"userId":'
   . $cand->{id} . ',"username":"' . $cand->{name} . '"}',
   'the moderator_added event';
ok_json(api($n, POST => "$base/moderator", $admin, { userId => $cand->{id} }),
        { success => JSON::PP::true, message => 'Already a moderator' },
        'an admin adds the same one');
is_deeply [events()], [], 'no event when nothing changed';

$r = api($n, GET => "$base/moderators");
is $r->{status}, 200, 'moderators are public';
my %m = map { $_->{username} => $_ } @{ $r->{json}{moderators} };
is_deeply [sort keys %m], [sort map { $_->{name} } $mod, $mod2, $cand],
          'the channel moderators';
is_deeply [sort keys %{ $m{$cand->{name}} }],
          [sort qw(userId username displayName avatarUrl addedAt
                   addedByUsername)], 'with the documented fields';
is $m{$cand->{name}}{addedByUsername}, $owner->{name}, 'addedByUsername';
is $m{$mod2->{name}}{addedByUsername}, undef, 'null when unknown';
like $m{$cand->{name}}{addedAt}, $iso, 'addedAt';
is $m{$cand->{name}}{userId}, $cand->{id}, 'userId';

# the new moderator has mod access at once
my $candc = Twitch::Test::Accounts::login($n, $cand->{name});
$cand->{cookie} = $candc;
is api($n, GET => "$base/bans", $cand)->{status}, 200,
   'the new moderator lists bans';

ok_json(api($n, DELETE => "$base/moderator/$cand->{id}", $admin),
        { success => JSON::PP::true }, 'an admin removes the moderator');
is one_event('moderator removed'),
   '{"type":"moderator_removed","channelId":' . $ch . ',"userId":'
   . $cand->{id} . ',"username":"' . $cand->{name} . '"}',
   'the moderator_removed event';
err(api($n, DELETE => "$base/moderator/$cand->{id}", $owner),
    404, 'Moderator not found', 'removing again');
err(api($n, GET => "$base/bans", $cand), 403, $no_right,
    'the removed moderator has no access any more');

ok_json(api($n, POST => "$base/vip", $owner, { userId => $cand->{id} }),
        { success => JSON::PP::true }, 'the owner adds a VIP');
is one_event('vip added'),
   '{"type":"vip_added","channelId":' . $ch . ',"userId":' . $cand->{id}
   . ',"username":"' . $cand->{name} . '"}', 'the vip_added event';
ok_json(api($n, POST => "$base/vip", $owner, { userId => $cand->{id} }),
        { success => JSON::PP::true, message => 'Already a VIP' },
        'adding again');
$r = api($n, GET => "$base/vips");
is_deeply [sort map { $_->{username} } @{ $r->{json}{vips} }],
          [sort $vip->{name}, $cand->{name}], 'the VIP list';
err(api($n, POST => "$base/ban", $cand, { userId => $viewer2->{id} }),
    403, $no_right, 'a VIP has no moderation rights');
ok_json(api($n, DELETE => "$base/vip/$cand->{id}", $owner),
        { success => JSON::PP::true }, 'the owner removes the VIP');
is_deeply [events()],
          ['{"type":"vip_removed","channelId":' . $ch . ',"userId":'
           . $cand->{id} . ',"username":"' . $cand->{name} . '"}'],
          'the vip_removed event (and none for the repeated add)';
err(api($n, DELETE => "$base/vip/$cand->{id}", $owner),
    404, 'VIP not found', 'removing again');

# --- messages ----------------------------------------------------------------

sub message {
    my ($id, $age) = @_;
    sql("INSERT INTO chat_messages (id, channel_id, user_id, username,"
        . " message, created_at) VALUES ($id, $ch, $viewer->{id},"
        . " '$viewer->{name}', 'hello $id', now() - interval '$age')"
        . " ON CONFLICT (id) DO NOTHING");
}

sub deleted {
    my ($id) = @_;
    return sql("SELECT CASE WHEN is_deleted THEN 't' ELSE 'f' END"
               . " || '|' || coalesce(deleted_by::text, '-')"
               . " FROM chat_messages WHERE id = $id");
}

my ($first) = sql("SELECT first_id FROM reserve_chat_message_ids()");
my @ids = map { $first + $_ } 0 .. 9;

message($ids[0], '10 seconds');
message($ids[1], '10 seconds');

err(api($n, DELETE => "$base/message/$ids[0]", $vip), 403, $no_right,
    'a VIP deletes a message');
err(api($n, DELETE => "$base/message/$ids[0]", undef), 401,
    'Not authenticated', 'anonymous deletes a message');
is deleted($ids[0]), 'f|-', 'still there';

ok_json(api($n, DELETE => "$base/message/$ids[0]", $mod, { reason => 'rude' }),
        { success => JSON::PP::true }, 'a moderator deletes a message');
is deleted($ids[0]), "t|$mod->{id}", 'the row is soft-deleted, deleted_by';
is sql("SELECT deleted_at IS NOT NULL FROM chat_messages"
       . " WHERE id = $ids[0]"), 't', 'deleted_at is set';
is deleted($ids[1]), 'f|-', 'the other message is untouched';
is one_event('message deleted'),
   '{"type":"message_deleted","channelId":' . $ch . ',"messageId":"'
   . $ids[0] . '"}', 'message_deleted, the id as a string';

ok_json(api($n, DELETE => "$base/message/$ids[0]", $owner),
        { success => JSON::PP::true }, 'deleting again is fine');
is deleted($ids[0]), "t|$mod->{id}", 'and keeps the first deleter';
events();

# a message the chat broadcast but has not stored yet
ok_json(api($n, DELETE => "$base/message/$ids[2]", $owner),
        { success => JSON::PP::true }, 'deleting a message not stored yet');
is one_event('early delete'),
   '{"type":"message_deleted","channelId":' . $ch . ',"messageId":"'
   . $ids[2] . '"}', 'is published too';
message($ids[2], '1 second');
is deleted($ids[2]), "t|$owner->{id}",
   'the later batch insert stores it as deleted';

# clear
message($ids[3], '5 seconds');
err(api($n, POST => "$base/clear", $rando), 403, $no_right,
    'a random user clears the chat');
ok_json(api($n, POST => "$base/clear", $gmod),
        { success => JSON::PP::true }, 'a global moderator clears the chat');
is one_event('clear'), '{"type":"chat_cleared","channelId":' . $ch . '}',
   'the chat_cleared event';
is deleted($ids[1]), "t|$gmod->{id}", 'clear flags the stored messages';
is deleted($ids[3]), "t|$gmod->{id}", 'all of them';
is deleted($ids[0]), "t|$mod->{id}", 'earlier deletions keep their deleter';

message($ids[4], '1 minute');
is deleted($ids[4]), "t|$gmod->{id}",
   'a message accepted before the clear but stored after is deleted';
sql("INSERT INTO chat_messages (id, channel_id, user_id, username, message,"
    . " created_at) VALUES ($ids[5], $ch, $viewer->{id}, '$viewer->{name}',"
    . " 'after', now() + interval '1 second')");
is deleted($ids[5]), 'f|-', 'a message accepted after the clear is kept';

is sql("SELECT count(*) FROM chat_messages WHERE channel_id = $ch"
       . " AND NOT is_deleted"), '1', 'only that one is visible';

# --- the audit log -----------------------------------------------------------

is sql("SELECT count(*) FROM audit_log WHERE channel_id = $ch"
       . " AND action = 'chat.ban' AND actor_id = $owner->{id}"
       . " AND target_id = '$viewer->{id}' AND ip = '127.0.0.1'"),
   '2', 'bans are audited with actor, target and address';
is sql("SELECT metadata->>'username' FROM audit_log WHERE channel_id = $ch"
       . " AND action = 'chat.timeout' ORDER BY id LIMIT 1"),
   $viewer->{name}, 'with the name kept in metadata';
for my $a (qw(chat.unban chat.timeout chat.settings channel.moderator_add
              channel.moderator_remove channel.vip_add channel.vip_remove
              chat.message_delete chat.clear))
{
    cmp_ok sql("SELECT count(*) FROM audit_log WHERE channel_id = $ch"
               . " AND action = '$a'"), '>', 0, "$a is audited";
}
is sql("SELECT count(*) FROM audit_log WHERE channel_id = $ch"
       . " AND actor_id IN ($rando->{id}, $vip->{id})"), '0',
   'refused actions leave no audit row';
is sql("SELECT reason FROM audit_log WHERE action = 'chat.message_delete'"
       . " AND target_id = '$ids[0]' AND actor_id = $mod->{id}"),
   'rude', 'the reason of a deletion is kept';

# --- a suspended moderator has no rights -------------------------------------

sql("UPDATE users SET suspended_at = now() WHERE id = $mod2->{id}");
err(api($n, POST => "$base/ban", $mod2, { userId => $viewer2->{id} }),
    403, 'Account suspended', 'a suspended moderator cannot act');
is_deeply [events()], [], 'and nothing is published';

$sub->disconnect;
$n->stop;

done_testing;
