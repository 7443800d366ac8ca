# Chat commands: each moderation command goes through the moderation
# action layer and its event reaches every socket of the room, which
# follows it (modes, roles, bans, deletions); the permissions (moderators,
# the broadcaster), usage errors and unknown commands.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use Twitch::Test qw(require_platform wait_until);
use Twitch::Test::Chat qw(chat_server client sql redis make_user);

require_platform();

my $n = chat_server(workers => 2);
$n->start;

my $p = 't43';
my ($owner, $ch) = make_user("${p}_owner", channel => 1);
my $mod = make_user("${p}_mod");
my $user = make_user("${p}_user");
my $viewer = make_user("${p}_viewer");
sql("INSERT INTO channel_moderators (channel_id, user_id)"
    . " VALUES ($ch, $mod) ON CONFLICT DO NOTHING");

sub joined {
    my ($uid) = @_;
    my $c = client($n, user => $uid);
    $c->{joined} = $c->join_room($ch) or diag 'join failed';
    return $c;
}

my ($o, $m, $u, $v) = map { joined($_) } $owner, $mod, $user, $viewer;
my $g = client($n);
$g->join_room($ch);
my @all = ($o, $m, $u, $v, $g);

# a command; the answer: its event as everyone saw it, or the error
sub command {
    my ($c, $text, $type) = @_;
    $c->say($ch, $text);
    my $until = time + 5;
    my $mine;
    while (time < $until) {
        my $x = $c->next_json(5) or last;
        return $x if $x->{type} eq 'error';
        if ($x->{type} eq $type) {
            $mine = $x;
            last;
        }
    }
    return undef unless $mine;
    for my $other (grep { $_ != $c } @all) {
        my $seen = $other->wait_type($type, 3);
        is_deeply $seen, $mine, "$text: the room sees $type"
            or return undef;
    }
    return $mine;
}

sub error_for {
    my ($c, $text) = @_;
    $c->say($ch, $text);
    return $c->wait_type('error', 5);
}

sub says {
    my ($c, $text) = @_;
    return $c->say_and_wait($ch, $text);
}

# ---- bans and timeouts -----------------------------------------------------

my $e = command($m, "/ban ${p}_user spamming links", 'user_banned');
is $e->{channelId}, $ch, '/ban: user_banned for the channel';
is $e->{userId}, $user, '/ban: the user';
is $e->{username}, "${p}_user", '/ban: the username';
ok $e->{isPermanent}, '/ban: permanent';
is $e->{reason}, 'spamming links', '/ban: the reason';
is says($u, 'am I banned')->{code}, 'banned', 'the banned socket is refused';

$e = command($m, "/unban \@${p}_user", 'user_unbanned');
is $e->{userId}, $user, '/unban (with @): user_unbanned';
is says($u, 'back')->{type}, 'chat', 'the user chats again';

$e = command($m, "/timeout ${p}_user 90 calm down", 'user_timeout');
is $e->{duration}, 90, '/timeout 90: duration';
like $e->{expiresAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     '/timeout: expiresAt';
is $e->{reason}, 'calm down', '/timeout: reason';
is says($u, 'still?')->{code}, 'timed_out', 'the socket is timed out';

$e = command($m, "/untimeout ${p}_user", 'user_untimeout');
is $e->{userId}, $user, '/untimeout: user_untimeout';

$e = command($m, "/timeout ${p}_user", 'user_timeout');
is $e->{duration}, 600, '/timeout without a duration: 10 minutes';
command($m, "/untimeout ${p}_user", 'user_untimeout');

$e = command($m, "/timeout ${p}_user 2h", 'user_timeout');
is $e->{duration}, 7200, '/timeout 2h';
command($m, "/untimeout ${p}_user", 'user_untimeout');

# ---- room modes ------------------------------------------------------------

my %modes = (
    '/slow 10'       => { slowModeSeconds => 10 },
    '/slow'          => { slowModeSeconds => 30 },
    '/slowoff'       => { slowModeSeconds => 0 },
    '/followers 30'  => { followersOnly => 1, followersOnlyMinutes => 30 },
    '/followers 1h'  => { followersOnly => 1, followersOnlyMinutes => 60 },
    '/followersoff'  => { followersOnly => 0 },
    '/subscribers'   => { subscribersOnly => 1 },
    '/subscribersoff' => { subscribersOnly => 0 },
    '/emoteonly'     => { emoteOnly => 1 },
    '/emoteonlyoff'  => { emoteOnly => 0 },
    '/uniquechat'    => { uniqueChat => 1 },
    '/uniquechatoff' => { uniqueChat => 0 },
);

for my $cmd ('/slow 10', '/slow', '/slowoff', '/followers 30',
             '/followers 1h', '/followersoff', '/subscribers',
             '/subscribersoff', '/emoteonly', '/emoteonlyoff',
             '/uniquechat', '/uniquechatoff')
{
    $e = command($m, $cmd, 'chat_settings');
    ok $e, "$cmd: chat_settings" or next;
    for my $k (sort keys %{ $modes{$cmd} }) {
        is 0 + $e->{$k}, $modes{$cmd}{$k}, "$cmd: $k";
    }
    if ($cmd =~ /^\/slow/) {
        my $l = $m->wait_type('slow_mode_changed', 3);
        ok $l, "$cmd: the legacy slow_mode_changed too";
        is 0 + $l->{enabled}, ($modes{$cmd}{slowModeSeconds} ? 1 : 0),
           "$cmd: enabled";
        $_->wait_type('slow_mode_changed', 3) for grep { $_ != $m } @all;
    }
    if ($cmd =~ /^\/emoteonly/) {
        ok $m->wait_type('emote_only_changed', 3),
           "$cmd: the legacy emote_only_changed too";
        $_->wait_type('emote_only_changed', 3) for grep { $_ != $m } @all;
    }
}

is sql("SELECT slow_mode_seconds, followers_only, subscribers_only,"
       . " emote_only, unique_chat FROM chat_settings"
       . " WHERE channel_id = $ch"), '0|f|f|f|f',
   'chat_settings in the database follow';

# ---- deleting and clearing -------------------------------------------------

my $msg = says($u, 'delete me please');
my $keep = says($v, 'keep me');
ok $msg && $msg->{id}, 'a message to delete';

$e = command($m, "/delete $msg->{id}", 'message_deleted');
is $e->{messageId}, $msg->{id}, '/delete: message_deleted with its id';

my $late = joined($viewer);
my @ids = map { $_->{id} } @{ $late->{joined}{recentMessages} || [] };
ok !grep({ $_ eq $msg->{id} } @ids), 'the history leaves it out';
ok grep({ $_ eq $keep->{id} } @ids), 'and keeps the others';
ok wait_until(sub {
       sql("SELECT is_deleted FROM chat_messages WHERE id = $msg->{id}")
       eq 't' }, 5),
   'the stored row is deleted';
push @all, $late;

$e = command($o, '/clear', 'chat_cleared');
is $e->{channelId}, $ch, '/clear: chat_cleared';
my $after = joined($viewer);
is_deeply $after->{joined}{recentMessages}, [],
          'after /clear the history is empty';
ok wait_until(sub {
       sql("SELECT count(*) FROM chat_messages WHERE channel_id = $ch"
           . " AND NOT is_deleted") eq '0' }, 5),
   'and every stored row is deleted';
$after->close;

# ---- roles -----------------------------------------------------------------

$e = command($o, "/mod ${p}_user", 'moderator_added');
is $e->{userId}, $user, '/mod: moderator_added';
my $r = says($u, 'now a mod');
is_deeply $r->{badges}, [{ type => 'moderator' }],
          'the new moderator has the badge at once';
$e = command($u, "/slow 20", 'chat_settings');
is $e->{slowModeSeconds}, 20, 'and may use moderator commands';
says($u, 'mod one');
is says($u, 'mod two')->{type}, 'chat', 'and is exempt from slow mode';
command($u, '/slowoff', 'chat_settings');

$e = command($o, "/unmod ${p}_user", 'moderator_removed');
is $e->{userId}, $user, '/unmod: moderator_removed';
is_deeply says($u, 'plain again')->{badges}, [], 'the badge is gone';
is error_for($u, '/slow 5')->{code}, 'forbidden',
   'and moderator commands are forbidden again';

$e = command($o, "/vip ${p}_viewer", 'vip_added');
is $e->{userId}, $viewer, '/vip: vip_added';
is_deeply says($v, 'vip now')->{badges}, [{ type => 'vip' }], 'VIP badge';
$e = command($o, "/unvip ${p}_viewer", 'vip_removed');
is $e->{userId}, $viewer, '/unvip: vip_removed';
is_deeply says($v, 'vip gone')->{badges}, [], 'the VIP badge is gone';

# ---- permissions and mistakes ----------------------------------------------

$e = error_for($u, "/ban ${p}_viewer");
is $e->{code}, 'forbidden', 'a viewer cannot /ban';
like $e->{message}, qr/moderators/i, 'readable';
is error_for($m, "/mod ${p}_viewer")->{code}, 'forbidden',
   'a moderator cannot /mod';
is error_for($m, "/vip ${p}_viewer")->{code}, 'forbidden',
   'a moderator cannot /vip';

$e = error_for($m, "/ban ${p}_owner");
is $e->{code}, 'command_refused', 'nobody bans the broadcaster';
like $e->{message}, qr/owner/i, 'the layer says why';

is error_for($m, '/ban no_such_user_t43')->{code}, 'not_found',
   '/ban of an unknown user: not_found';
$e = error_for($m, '/ban');
is $e->{code}, 'invalid_command', '/ban without a user: invalid_command';
like $e->{message}, qr{^Usage: /ban}, 'with the usage';
is error_for($m, '/timeout ' . "${p}_user" . ' 15d')->{code},
   'command_refused', 'a timeout over 14 days is refused';
is error_for($m, '/slow 2')->{code}, 'command_refused',
   'slow mode under 3 s is refused';
is error_for($m, '/slow fast')->{code}, 'invalid_command', '/slow fast';
is error_for($m, '/delete abc')->{code}, 'invalid_command', '/delete abc';
ok command($m, '/delete 999999999', 'message_deleted'),
   '/delete of a message not stored (yet): a tombstone, and the event';
is error_for($m, '/slowoff now')->{code}, 'invalid_command',
   'arguments where none are taken';

$e = error_for($u, '/dance');
is $e->{code}, 'unknown_command', 'an unknown command';
is $e->{message}, 'Unknown command: /dance', 'named';
is error_for($u, '/')->{code}, 'unknown_command', 'a lone slash';

$e = error_for($g, '/ban someone');
is $e->{code}, 'not_authenticated', 'guests have no commands';

is command($m, "/ban ${p}_user", 'user_banned')->{userId}, $user,
   'the moderator bans again';
is error_for($m, "/ban ${p}_user")->{code}, 'conflict',
   'banning twice: conflict';
command($m, "/unban ${p}_user", 'user_unbanned');

$n->stop;

done_testing;
