# Messages and PostgreSQL: real ids (reserved in blocks, the id a client
# sees is the row's id), rows written in batches with the accept time,
# the message as broadcast (badges, emotes, /me); the chat does not wait
# on the database: with PostgreSQL stopped, messages keep flowing and
# their rows are written once it is back.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use Twitch::Test qw(require_platform wait_until service);
use Twitch::Test::Chat qw(chat_server client sql redis make_user);

require_platform();

my $n = chat_server(workers => 1);
$n->start;

my $p = 't46';
my ($owner, $ch) = make_user("${p}_owner", channel => 1);
my $u = make_user("${p}_user");
my $v = make_user("${p}_viewer");

my $o = client($n, user => $owner);
my $c = client($n, user => $u);
my $w = client($n, user => $v);
$_->join_room($ch) for $o, $c, $w;

# ---- rows as broadcast -----------------------------------------------------

my $t0 = time;
my $m = $o->say_and_wait($ch, '/me stores Kappa');
ok $m && $m->{id}, 'a message';

ok wait_until(sub {
       sql("SELECT count(*) FROM chat_messages WHERE id = $m->{id}") eq '1'
   }, 5),
   'its row appears, under the id the clients saw';

is sql("SELECT channel_id, user_id, username, message, is_action,"
       . " is_deleted FROM chat_messages WHERE id = $m->{id}"),
   "$ch|$owner|${p}_owner|stores Kappa|t|f",
   'channel, author, text without /me, action, not deleted';
is sql("SELECT badges::text FROM chat_messages WHERE id = $m->{id}"),
   '[{"type": "broadcaster"}]', 'the badges as broadcast';
is sql("SELECT emotes->0->>'code', emotes->0->>'start', emotes->0->>'end'"
       . " FROM chat_messages WHERE id = $m->{id}"),
   'Kappa|7|12', 'the emotes as broadcast';
cmp_ok abs(sql("SELECT extract(epoch FROM created_at) * 1000"
               . " FROM chat_messages WHERE id = $m->{id}")
           - $m->{timestamp}), '<', 2,
       'created_at is the accept time (the message\'s timestamp)';
is sql("SELECT stream_id IS NULL FROM chat_messages WHERE id = $m->{id}"),
   't', 'no broadcast while offline';

# ids come from reserve_chat_message_ids(): blocks of 100
my @ids;
for my $i (1 .. 5) {
    my $r = $c->say_and_wait($ch, "batch $i");
    push @ids, $r->{id};
}
is_deeply [map { $_ - $ids[0] } @ids], [0 .. 4],
          'a worker hands out the ids of its block in order';

ok wait_until(sub {
       sql("SELECT count(*) FROM chat_messages WHERE id IN ("
           . join(',', @ids) . ")") eq '5' }, 5),
   'a batch of 5 is stored';

# ---- PostgreSQL goes away --------------------------------------------------

ok service('pg', 'stop'), 'postgres stopped';

my @during;
for my $i (1 .. 8) {
    my $t = time;
    my $r = $c->say_and_wait($ch, "no database $i");
    push @during, $r;
    cmp_ok time - $t, '<', 1, "message $i answered at once";
}
is scalar(grep { $_ && $_->{type} eq 'chat' } @during), 8,
   'messages keep flowing without the database';
ok $w->wait_type('chat', 3, id => $during[-1]{id}),
   'and reach the other sockets';

my $g = client($n);
ok $g->{identity}{isGuest},
   'a new connection cannot look its user up: a guest';
ok $g->join_room($ch), 'but may join a room already loaded';

my $other = 3;
$g->json({ type => 'join', channelId => $other });
my $e = $g->wait_type('error', 10);
is $e && $e->{code}, 'unavailable',
   'a room that must be loaded first: unavailable';
is $e && $e->{channelId}, $other, 'naming the channel';
$g->json('{"type":"ping"}');
ok $g->wait_type('pong', 3), 'the connection goes on';

ok service('pg', 'start'), 'postgres started';

ok wait_until(sub {
       my $ok = eval {
           sql("SELECT count(*) FROM chat_messages WHERE id IN ("
               . join(',', map { $_->{id} } @during) . ")") eq '8' };
       $ok }, 20),
   'the rows of the outage are written once it is back';

my $late = client($n, user => $v);
my $j = $late->join_room($ch);
ok $j, 'joined after the outage';
is $j->{recentMessages}[-1]{message}, 'no database 8',
   'the history ends with the last message';

$n->stop;

done_testing;
