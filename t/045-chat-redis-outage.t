# Redis stopped and started again in the middle of a conversation, with
# two nginx instances of two workers: the clients are told (notice
# chat_degraded, then chat_restored); during the outage messages still
# reach the sockets of their own instance, on every worker (shared
# memory), with the rules kept in memory, and are stored;
# afterwards the instances share the room again (subscriptions restored)
# and the join history comes from PostgreSQL when Redis lost it.  Nothing
# crashes, nothing queues without bound.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use Twitch::Test qw(require_platform wait_until service);
use Twitch::Test::Chat qw(chat_server client sql redis make_user);

require_platform();

my $base = $ENV{TEST_NGINX_PORT} || 1984;
# instance 0 also listens with reuseport, which spreads connections over
# its workers (one listener may give them all to one worker)
my $rp = $base + 3;
my @n = map {
    chat_server(port => $base + 1 + $_, name => "chat$_", workers => 2,
                http => "    twitch_chat_viewer_interval 500ms;\n"
                        . ($_ ? '' : <<"_EOC_"));
    server {
        listen 127.0.0.1:$rp reuseport;
        location = /ws/chat { twitch_chat; }
    }
_EOC_
} 0, 1;
$_->start for @n;

my $p = 't45';
my ($owner, $ch) = make_user("${p}_owner", channel => 1);
my ($u1, $u2, $u3) = map { make_user("${p}_u$_") } 1 .. 3;

my $a1 = client($n[0], user => $u1, port => $rp);
my $a2 = client($n[0], user => $u2, port => $rp);
my $b1 = client($n[1], user => $u3);
my $oa = client($n[0], user => $owner, port => $rp);
$_->join_room($ch) for $a1, $a2, $b1, $oa;

# which worker of instance 0 serves which user (from the debug log)
my %pid;
sub workers_of {
    my $log = $n[0]->error_log;
    while ($log =~ /(\d+)#\d+: \*\d+ chat: user "(${p}_\w+)"/g) {
        $pid{$2} = $1;
    }
    return scalar keys %{{ map { $_ => 1 } values %pid }};
}

# more clients until both workers serve some
my @am;
for my $k (1 .. 30) {
    my $cl = client($n[0], user => make_user("${p}_m$k"), port => $rp);
    $cl->join_room($ch);
    push @am, $cl;
    last if $k >= 4 && workers_of() == 2;
}
is workers_of(), 2, 'the clients of instance 0 are on both workers'
    or diag explain \%pid;

my $m = $a1->say_and_wait($ch, 'before the outage');
ok $b1->wait_type('chat', 3, id => $m->{id}), 'shared before the outage';

# ---- Redis goes away -------------------------------------------------------

ok service('redis', 'stop'), 'redis stopped';

for my $c ($a1, $a2, $b1) {
    my $x = $c->wait_type('notice', 5, code => 'chat_degraded');
    ok $x, 'the client is told: chat_degraded';
    like $x && $x->{message}, qr/degraded/, 'with a readable text';
}

$m = $a1->say_and_wait($ch, 'during the outage');
is $m && $m->{type}, 'chat', 'a message during the outage';
ok $a2->wait_type('chat', 3, id => $m->{id}),
   'reaches the other socket of the same instance';
for my $i (0 .. $#am) {
    my $same = ($pid{"${p}_m" . ($i + 1)} // 0) == ($pid{"${p}_u1"} // 0)
               ? 'the same' : 'the other';
    ok $am[$i]->wait_type('chat', 3, id => $m->{id}),
       "and socket $i of the instance ($same worker)";
}
ok $b1->none_of('chat', 1, id => $m->{id}),
   'not the other instance (no bus between them)';

is $a1->say_and_wait($ch, 'during the outage')->{code}, 'duplicate',
   'the rules still hold, in memory';

my $x = $oa->say_and_wait($ch, "/ban ${p}_u2");
is $x && $x->{code}, 'unavailable',
   'moderation needs the event bus: unavailable';

my $late = client($n[0]);
ok $late->{identity}{isGuest}, 'a new connection cannot read its session';
ok((grep { $_->{type} eq 'notice' && $_->{code} eq 'chat_degraded' }
    @{ $late->{seen} }), 'and is told the chat is degraded');
my $j = $late->join_room($ch);
ok $j, 'joining works without Redis';
ok((grep { $_->{message} eq 'during the outage' }
    @{ $j->{recentMessages} || [] }),
   'with the history from PostgreSQL');

ok wait_until(sub {
       sql("SELECT count(*) FROM chat_messages WHERE id = $m->{id}") eq '1'
   }, 5),
   'the message is stored';

for my $i (1 .. 5) {
    $a2->say($ch, "burst $i");
}
my $got = grep { $a1->wait_type('chat', 3, message => "burst $_") } 1 .. 5;
is $got, 5, 'a burst is delivered in order';

# ---- Redis is back ---------------------------------------------------------

ok service('redis', 'start'), 'redis started';

for my $c ($a1, $a2, $b1) {
    ok $c->wait_type('notice', 10, code => 'chat_restored'),
       'the client is told: chat_restored';
}

ok wait_until(sub {
       my $t = 'after ' . time;
       my $r = $a1->say_and_wait($ch, $t);
       $r && $r->{type} eq 'chat'
           && $b1->wait_type('chat', 1, id => $r->{id});
   }, 10),
   'the instances share the room again (re-subscribed)';

my $fresh = client($n[1], user => $u3);
$j = $fresh->join_room($ch);
my @h = map { $_->{message} } @{ $j->{recentMessages} || [] };
ok((grep { $_ eq 'before the outage' } @h),
   'Redis lost the history: it comes from PostgreSQL');
ok((grep { $_ eq 'during the outage' } @h),
   'messages of the outage included');

my $oc = client($n[1], user => $owner);
$oc->join_room($ch);
$oc->say($ch, '/slow 3');
ok $a1->wait_type('chat_settings', 5, slowModeSeconds => 3),
   'moderation events flow again';
$oc->say($ch, '/slowoff');

for my $i (0, 1) {
    ok $n[$i]->is_running, "instance $i is still running";
    my @w = $n[$i]->worker_pids;
    is scalar @w, 2, "instance $i: its workers did not crash";
}
unlike $n[0]->error_log, qr/exited on signal/, 'no worker crashed';

$_->stop for @n;

done_testing;
