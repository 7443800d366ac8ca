# Every refusal of a chat message, with its code and readable text:
# rate_limited (20 per 30 s, 100 for moderators, shared by all of a user's
# connections), duplicate, slow_mode (retryAfter), followers_only (with a
# minimum follow age), subscribers_only, emote_only, unique_chat, banned
# and timed_out on an open socket; and who is exempt (broadcaster,
# moderators, VIPs for slow/followers/subscribers).

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use Twitch::Test qw(require_platform);
use Twitch::Test::Chat qw(chat_server client sql redis make_user);

require_platform();

my $n = chat_server(workers => 2);
$n->start;

my $p = 't42';

# a channel of its own for each part: owner, channel id, owner's client
sub room {
    my ($name) = @_;
    my ($uid, $cid) = make_user("${p}_$name", channel => 1);
    my $c = client($n, user => $uid);
    $c->join_room($cid);
    return ($uid, $cid, $c);
}

sub joined {
    my ($user, $cid) = @_;
    my $c = client($n, user => $user);
    $c->join_room($cid) or diag 'join failed';
    return $c;
}

# a command and the event it causes (or the error)
sub command {
    my ($c, $cid, $text, $event) = @_;
    $c->say($cid, $text);
    my $until = time + 5;
    while (time < $until) {
        my $m = $c->next_json(5) or last;
        return $m if $m->{type} eq $event || $m->{type} eq 'error';
    }
    return undef;
}

sub refused {
    my ($c, $cid, $text, $code, $name) = @_;
    my $m = $c->say_and_wait($cid, $text);
    is $m && $m->{type} eq 'error' && $m->{code}, $code, $name
        or diag explain $m;
    ok $m && length($m->{message} // '') > 10, "$name: readable text";
    return $m;
}

sub accepted {
    my ($c, $cid, $text, $name) = @_;
    my $m = $c->say_and_wait($cid, $text);
    is $m && $m->{type}, 'chat', $name or diag explain $m;
    return $m;
}

# ---- rate limit ------------------------------------------------------------

{
    my ($owner, $cid) = room('rate');
    my $u = make_user("${p}_rater");
    my ($a, $b) = (joined($u, $cid), joined($u, $cid));

    my $ok = 0;
    for my $i (1 .. 20) {
        my $m = (($i % 2) ? $a : $b)->say_and_wait($cid, "rate $i");
        $ok++ if $m && $m->{type} eq 'chat';
    }
    is $ok, 20, '20 messages in 30 s, from two connections';

    my $m = refused($a, $cid, 'rate 21', 'rate_limited',
                    'the 21st: rate_limited');
    cmp_ok $m->{retryAfter}, '>=', 1, 'retryAfter at least 1 s';
    cmp_ok $m->{retryAfter}, '<=', 30, 'retryAfter at most 30 s';
    like $m->{message}, qr/20 messages in 30 seconds/, 'names the limit';
    refused($b, $cid, 'rate 22', 'rate_limited',
            'the other connection is limited as well');

    my $mod = make_user("${p}_ratemod");
    sql("INSERT INTO channel_moderators (channel_id, user_id)"
        . " VALUES ($cid, $mod) ON CONFLICT DO NOTHING");
    my $mc = joined($mod, $cid);
    $ok = 0;
    for my $i (1 .. 100) {
        my $r = $mc->say_and_wait($cid, "mod rate $i");
        $ok++ if $r && $r->{type} eq 'chat';
        sleep 0.05 if $i > 30;
    }
    is $ok, 100, 'a moderator may send 100 in 30 s';
    refused($mc, $cid, 'mod rate 101', 'rate_limited',
            'the 101st: rate_limited');
}

# ---- duplicates ------------------------------------------------------------

{
    my ($owner, $cid, $oc) = room('dup');
    my $u = make_user("${p}_duper");
    my $v = make_user("${p}_duper2");
    my ($c, $d) = (joined($u, $cid), joined($v, $cid));

    accepted($c, $cid, 'same words', 'a message');
    my $m = refused($c, $cid, 'same words', 'duplicate',
                    'the same text again within 30 s: duplicate');
    cmp_ok $m->{retryAfter}, '<=', 30, 'retryAfter within 30 s';
    accepted($d, $cid, 'same words', 'another user may say it');
    accepted($oc, $cid, 'owner twice', 'the broadcaster too ...');
    refused($oc, $cid, 'owner twice', 'duplicate',
            '... and is refused a duplicate as well');
}

# ---- slow mode -------------------------------------------------------------

{
    my ($owner, $cid, $oc) = room('slow');
    my $u = make_user("${p}_slowpoke");
    my $vip = make_user("${p}_slowvip");
    sql("INSERT INTO channel_vips (channel_id, user_id) VALUES ($cid, $vip)"
        . " ON CONFLICT DO NOTHING");
    my $c = joined($u, $cid);
    my $vc = joined($vip, $cid);

    my $ev = command($oc, $cid, '/slow 5', 'chat_settings');
    is $ev && $ev->{slowModeSeconds}, 5, '/slow 5';
    ok $c->wait_type('chat_settings', 3), 'the room hears of it';

    accepted($c, $cid, 'slow one', 'the first message');
    my $m = refused($c, $cid, 'slow two', 'slow_mode',
                    'the next within 5 s: slow_mode');
    cmp_ok $m->{retryAfter}, '>=', 4, 'retryAfter about 5 s';
    cmp_ok $m->{retryAfter}, '<=', 5, 'retryAfter at most 5 s';
    like $m->{message}, qr/Slow mode/, 'readable';

    accepted($vc, $cid, 'vip one', 'a VIP ...');
    accepted($vc, $cid, 'vip two', '... is exempt from slow mode');
    accepted($oc, $cid, 'owner one', 'the broadcaster ...');
    accepted($oc, $cid, 'owner two', '... is exempt');

    command($oc, $cid, '/slowoff', 'chat_settings');
    $c->wait_type('chat_settings', 3);
    accepted($c, $cid, 'slow three', 'after /slowoff');
}

# ---- followers-only --------------------------------------------------------

{
    my ($owner, $cid, $oc) = room('fol');
    my $stranger = make_user("${p}_stranger");
    my $new = make_user("${p}_newfan");
    my $old = make_user("${p}_oldfan");
    sql("INSERT INTO followers (user_id, channel_id, followed_at) VALUES"
        . " ($new, $cid, now() - interval '10 minutes'),"
        . " ($old, $cid, now() - interval '2 hours') ON CONFLICT DO NOTHING");

    my ($s, $nf, $of) = map { joined($_, $cid) } $stranger, $new, $old;

    command($oc, $cid, '/followers', 'chat_settings');
    $_->wait_type('chat_settings', 3) for $s, $nf, $of;

    refused($s, $cid, 'let me in', 'followers_only',
            'followers-only: a non-follower is refused');
    accepted($nf, $cid, 'new fan', 'any follower may chat');

    my $ev = command($oc, $cid, '/followers 60', 'chat_settings');
    ok $ev && $ev->{followersOnly}, '/followers 60';
    is $ev && $ev->{followersOnlyMinutes}, 60, 'with 60 minutes';
    $_->wait_type('chat_settings', 3) for $s, $nf, $of;

    my $m = refused($nf, $cid, 'too new', 'followers_only',
                    'following for 10 minutes is not enough');
    cmp_ok $m->{retryAfter}, '>', 40 * 60, 'retryAfter: the rest of the hour';
    like $m->{message}, qr/60 minutes/, 'says how long';
    accepted($of, $cid, 'old fan', 'following for 2 hours is');

    # following now: a refusal reads the standing again (at most every 2 s)
    sql("INSERT INTO followers (user_id, channel_id, followed_at)"
        . " VALUES ($stranger, $cid, now() - interval '1 day')"
        . " ON CONFLICT DO NOTHING");
    sleep 2.1;
    accepted($s, $cid, 'now I follow',
             'a follow made after the join is seen');

    command($oc, $cid, '/followersoff', 'chat_settings');
}

# ---- subscribers-only ------------------------------------------------------

{
    my ($owner, $cid, $oc) = room('subs');
    my $pleb = make_user("${p}_pleb");
    my $sub = make_user("${p}_subbed");
    my $mod = make_user("${p}_submod");
    my $vip = make_user("${p}_subvip");
    sql("INSERT INTO subscriptions (user_id, channel_id, tier)"
        . " VALUES ($sub, $cid, 1) ON CONFLICT DO NOTHING");
    sql("INSERT INTO channel_moderators (channel_id, user_id)"
        . " VALUES ($cid, $mod) ON CONFLICT DO NOTHING");
    sql("INSERT INTO channel_vips (channel_id, user_id) VALUES ($cid, $vip)"
        . " ON CONFLICT DO NOTHING");
    my @c = map { joined($_, $cid) } $pleb, $sub, $mod, $vip;

    my $ev = command($oc, $cid, '/subscribers', 'chat_settings');
    ok $ev && $ev->{subscribersOnly}, '/subscribers';
    $_->wait_type('chat_settings', 3) for @c;

    refused($c[0], $cid, 'hi subs', 'subscribers_only',
            'subscribers-only: a non-subscriber is refused');
    accepted($c[1], $cid, 'sub talk', 'a subscriber may chat');
    accepted($c[2], $cid, 'mod talk', 'a moderator is exempt');
    accepted($c[3], $cid, 'vip talk', 'a VIP is exempt');
    accepted($oc, $cid, 'owner talk', 'the broadcaster is exempt');

    command($oc, $cid, '/subscribersoff', 'chat_settings');
    $c[0]->wait_type('chat_settings', 3);
    accepted($c[0], $cid, 'hi again', 'after /subscribersoff');
}

# ---- emote-only ------------------------------------------------------------

{
    my ($owner, $cid, $oc) = room('emo');
    sql("INSERT INTO emotes (channel_id, code, image_url, tier)"
        . " VALUES ($cid, 't42Sub', '/e.svg', 1) ON CONFLICT DO NOTHING");
    my $u = make_user("${p}_emoter");
    my $c = joined($u, $cid);

    command($oc, $cid, '/emoteonly', 'chat_settings');
    $c->wait_type('chat_settings', 3);

    accepted($c, $cid, 'Kappa  PogChamp', 'emotes only: fine');
    refused($c, $cid, 'Kappa hi', 'emote_only', 'words too: emote_only');
    refused($c, $cid, 't42Sub', 'emote_only',
            'an emote the user may not use is a word');
    accepted($oc, $cid, 'hello everyone', 'the broadcaster is exempt');

    command($oc, $cid, '/emoteonlyoff', 'chat_settings');
    $c->wait_type('chat_settings', 3);
    accepted($c, $cid, 'words again', 'after /emoteonlyoff');
}

# ---- unique chat -----------------------------------------------------------

{
    my ($owner, $cid, $oc) = room('uniq');
    my ($u, $v) = (make_user("${p}_uniq1"), make_user("${p}_uniq2"));
    my $mod = make_user("${p}_uniqmod");
    sql("INSERT INTO channel_moderators (channel_id, user_id)"
        . " VALUES ($cid, $mod) ON CONFLICT DO NOTHING");
    my ($c, $d, $mc) = map { joined($_, $cid) } $u, $v, $mod;

    command($oc, $cid, '/uniquechat', 'chat_settings');
    $_->wait_type('chat_settings', 3) for $c, $d, $mc;

    accepted($c, $cid, 'first!', 'unique chat: a new text');
    refused($d, $cid, 'first!', 'unique_chat',
            'the same text from someone else: unique_chat');
    accepted($mc, $cid, 'first!', 'a moderator is exempt');

    command($oc, $cid, '/uniquechatoff', 'chat_settings');
    $d->wait_type('chat_settings', 3);
    accepted($d, $cid, 'first!', 'after /uniquechatoff');
}

# ---- bans and timeouts on open sockets -------------------------------------

{
    my ($owner, $cid, $oc) = room('ban');
    my $u = make_user("${p}_troll");
    my $c = joined($u, $cid);
    accepted($c, $cid, 'before', 'a message before the ban');

    my $ev = command($oc, $cid, "/ban ${p}_troll spam", 'user_banned');
    is $ev && $ev->{userId}, $u, 'banned';
    ok $c->wait_type('user_banned', 3), 'the user hears of it';
    my $m = refused($c, $cid, 'after', 'banned',
                    'the open socket cannot send at once');
    ok !exists $m->{retryAfter}, 'a permanent ban has no retryAfter';

    command($oc, $cid, "/unban ${p}_troll", 'user_unbanned');
    $c->wait_type('user_unbanned', 3);
    accepted($c, $cid, 'free again', 'after /unban');

    command($oc, $cid, "/timeout ${p}_troll 3", 'user_timeout');
    $c->wait_type('user_timeout', 3);
    $m = refused($c, $cid, 'timed', 'timed_out', 'a timeout: timed_out');
    cmp_ok $m->{retryAfter}, '<=', 3, 'retryAfter: the rest of the timeout';
    like $m->{message}, qr/timed out/, 'readable';
    sleep 3.2;
    accepted($c, $cid, 'timeout over', 'the timeout ends by itself');

    command($oc, $cid, "/timeout ${p}_troll 10m", 'user_timeout');
    $c->wait_type('user_timeout', 3);
    refused($c, $cid, 'again', 'timed_out', '/timeout 10m');
    command($oc, $cid, "/untimeout ${p}_troll", 'user_untimeout');
    $c->wait_type('user_untimeout', 3);
    accepted($c, $cid, 'untimed', 'after /untimeout');

    # a ban made elsewhere: a new connection reads it from the database
    command($oc, $cid, "/ban ${p}_troll", 'user_banned');
    my $fresh = joined($u, $cid);
    refused($fresh, $cid, 'new socket', 'banned',
            'a connection made after the ban is refused too');
}

$n->stop;

done_testing;
