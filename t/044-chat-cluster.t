# Two nginx instances (two ports, two workers each) on one Redis: a
# message said on one reaches the sockets of both, once; the rate limit
# counts a user's messages on both; the viewer count is the room's
# audience summed over every worker and instance; a ban or a room mode
# set on one instance takes effect on the other at once; the ids a
# client sees are the stored rows' ids.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use Twitch::Test qw(require_platform wait_until);
use Twitch::Test::Chat qw(chat_server client sql redis make_user);

require_platform();

my $base = $ENV{TEST_NGINX_PORT} || 1984;
my @n = map {
    chat_server(port => $base + 1 + $_, name => "chat$_", workers => 2,
                http => '    twitch_chat_viewer_interval 500ms;')
} 0, 1;
$_->start for @n;

my $p = 't44';
my ($owner, $ch) = make_user("${p}_owner", channel => 1);
my @users = map { make_user("${p}_u$_") } 1 .. 6;

# three clients on each instance (a connection lands on either worker)
my @c = map {
    my $i = $_;
    my $cl = client($n[$i % 2], user => $users[$i]);
    $cl->join_room($ch) or diag "join $i failed";
    $cl;
} 0 .. 5;

# ---- delivery across instances and workers -------------------------------

my $m = $c[0]->say_and_wait($ch, 'hello from instance 0');
ok $m && $m->{type} eq 'chat', 'said on instance 0';

for my $i (1 .. 5) {
    my $got = $c[$i]->wait_type('chat', 3, id => $m->{id});
    is_deeply $got, $m, "client $i (instance " . ($i % 2) . ") got it";
}

for my $i (0 .. 5) {
    ok $c[$i]->none_of('chat', 0.5, id => $m->{id}), "client $i: only once";
}

my $m2 = $c[1]->say_and_wait($ch, 'and back from instance 1');
ok $c[0]->wait_type('chat', 3, id => $m2->{id}),
   'said on instance 1, read on instance 0';
cmp_ok $m2->{id}, '!=', $m->{id}, 'ids are unique across instances';

ok wait_until(sub {
       sql("SELECT count(*) FROM chat_messages WHERE id IN"
           . " ($m->{id}, $m2->{id})") eq '2' }, 5),
   'both stored, by the ids the clients saw';

# ---- one rate limit across instances ---------------------------------------

{
    my $r0 = client($n[0], user => $users[5]);
    my $r1 = client($n[1], user => $users[5]);
    $_->join_room($ch) for $r0, $r1;

    my $ok = 0;
    for my $i (1 .. 20) {
        my $r = (($i % 2) ? $r0 : $r1)->say_and_wait($ch, "rate $i");
        $ok++ if $r && $r->{type} eq 'chat';
    }
    is $ok, 20, '20 messages, half on each instance';
    is $r0->say_and_wait($ch, 'rate 21')->{code}, 'rate_limited',
       'the 21st is refused on instance 0';
    is $r1->say_and_wait($ch, 'rate 22')->{code}, 'rate_limited',
       'and on instance 1';
    $_->close for $r0, $r1;

    # the counts settle back to the six clients
    ok wait_until(sub { redis('GET', "viewers:chat:$ch") eq '6' }, 5),
       'the two leave: 6 viewers again';
}

# ---- viewer counts ---------------------------------------------------------

my $g = client($n[1]);
my $gj = $g->join_room($ch);

for my $i (0, 3, 5) {
    ok $c[$i]->wait_type('viewer_update', 5, viewerCount => 7),
       "client $i: viewer_update with the whole audience (7)";
}
ok(($gj && $gj->{viewerCount} == 7)
   || $g->wait_type('viewer_update', 5, viewerCount => 7),
   'the guest counts too, and is told (joined or viewer_update)');
# the total is written by one worker per interval, maybe a moment later
ok wait_until(sub { redis('GET', "viewers:chat:$ch") eq '7' }, 5),
   "viewers:chat:$ch holds the total";

$c[5]->close;
$g->close;
ok $c[0]->wait_type('viewer_update', 5, viewerCount => 5),
   'two leave: 5 on the other instance too';
ok wait_until(sub { redis('GET', "viewers:chat:$ch") eq '5' }, 5),
   "viewers:chat:$ch follows";

# ---- live channels: channels.current_viewers -------------------------------

is sql("SELECT current_viewers FROM channels WHERE id = $ch"), 0,
   'an offline channel keeps current_viewers 0';
sql("UPDATE channels SET is_live = true WHERE id = $ch");
ok wait_until(sub {
       sql("SELECT current_viewers FROM channels WHERE id = $ch") eq '5'
   }, 5),
   'a live channel gets the chat count in current_viewers';
sql("UPDATE channels SET is_live = false, current_viewers = 0"
    . " WHERE id = $ch");

# ---- moderation across instances -------------------------------------------

my $oc = client($n[0], user => $owner);
$oc->join_room($ch);

$oc->say($ch, "/ban ${p}_u2");
ok $c[1]->wait_type('user_banned', 3, userId => $users[1]),
   'a ban on instance 0 reaches the banned user on instance 1';
my $r = $c[1]->say_and_wait($ch, 'still here?');
is $r && $r->{code}, 'banned', 'who cannot send there at once';

$oc->say($ch, '/emoteonly');
ok $c[3]->wait_type('chat_settings', 3, emoteOnly => 1),
   'a room mode set on instance 0 ...';
$r = $c[3]->say_and_wait($ch, 'words words');
is $r && $r->{code}, 'emote_only', '... is enforced on instance 1';
$oc->say($ch, '/emoteonlyoff');
$c[3]->wait_type('chat_settings', 3);

$oc->say($ch, "/unban ${p}_u2");
$c[1]->wait_type('user_unbanned', 3);

my $del = $c[3]->say_and_wait($ch, 'delete me across');
$oc->say($ch, "/delete $del->{id}");
for my $i (0 .. 4) {
    ok $c[$i]->wait_type('message_deleted', 3, messageId => $del->{id}),
       "client $i sees message_deleted";
}

$_->close for @c[0 .. 4];
$oc->close;

ok wait_until(sub { redis('GET', "viewers:chat:$ch") eq '0' }, 5),
   'everybody left: the count is 0';

$_->stop for @n;

done_testing;
