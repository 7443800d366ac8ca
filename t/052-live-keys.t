# Stream keys and the RTMP publish hooks.
#
# First the hooks by hand (nginx-rtmp's form POSTs to /internal/rtmp): the
# key check, the rename, refusals (wrong, malformed, rotated, suspended,
# another application, a second publisher, a forged update), play only
# from loopback, the hooks location only for loopback clients.  Then with
# ffmpeg publishing over RTMP: a wrong and a rotated key are refused, a
# second simultaneous publisher is refused, a publisher that reconnects
# goes live again, rotating the key or suspending the owner drops a live
# publisher at its next heartbeat.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use IO::Socket::INET ();
use Time::HiRes qw(time sleep);
use Twitch::Test qw(wait_until require_platform);
use Twitch::Test::Accounts qw(sql make_user api);
use Twitch::Test::Live qw(live_nginx make_source publish stop_publisher
                          publisher_alive hls_get hook_call live_media
                          have_tools);

require_platform();
plan skip_all => 'needs ffmpeg, ffprobe, curl and rtmp-hooks/twitch_transcode'
    unless have_tools();

my $p = "t052_$$";

sub key_of {
    my ($u) = @_;
    return sql("SELECT stream_key FROM channels WHERE id = $u->{channel_id}");
}

sub open_broadcast {
    my ($u) = @_;
    return sql("SELECT coalesce(max(id)::text, '') FROM streams"
               . " WHERE channel_id = $u->{channel_id} AND ended_at IS NULL");
}

sub is_live {
    my ($u) = @_;
    return sql("SELECT is_live FROM channels WHERE id = $u->{channel_id}")
           eq 't';
}

# --- the hooks, by hand (no transcoder) --------------------------------------

my $n = live_nginx(name => 't052', transcoder => 0);
$n->start;

my $a = make_user($n, "${p}_a", channel => 1);
my $b = make_user($n, "${p}_b", channel => 1);
my $key = key_of($a);

my $r = hook_call($n, call => 'publish', name => $key, clientid => 101,
                  addr => '198.51.100.7');
is $r->{status}, 302, 'publish with the key: 302';
is $r->{headers}{location}, $a->{name}, '... renamed to the channel';
unlike $r->{raw}, qr/\Q$key\E/, '... the answer does not repeat the key';

my $bid = open_broadcast($a);
like $bid, qr/^\d+$/, 'a broadcast is open';
ok is_live($a), 'the channel is live';
is sql("SELECT ingest_host IS NOT NULL AND ingest_session LIKE '%:101'"
       . " AND ingested_at IS NOT NULL FROM streams WHERE id = $bid"),
   't', 'the broadcast knows its RTMP session';

# a second publisher on the live channel (another client)
$r = hook_call($n, call => 'publish', name => $key, clientid => 102);
is $r->{status}, 409, 'a second publisher: refused';

$r = hook_call($n, call => 'update_publish', name => $key, clientid => 101);
is $r->{status}, 200, 'the heartbeat of the publisher';
$r = hook_call($n, call => 'update_publish', name => $key, clientid => 102);
is $r->{status}, 403, 'a heartbeat of an unknown session: dropped';

$r = hook_call($n, call => 'publish_done', name => $key, clientid => 101);
is $r->{status}, 200, 'publish_done';
is sql("SELECT end_reason FROM streams WHERE id = $bid"), 'publish_done',
   '... ends the broadcast';
ok !is_live($a), '... the channel is offline';

$r = hook_call($n, call => 'publish', name => $key, clientid => 103);
is $r->{status}, 302, 'publishing again: accepted';
my $bid2 = open_broadcast($a);
isnt $bid2, $bid, '... as a new broadcast';

# the reconnect of that publisher, as OBS does it, after it dropped
$r = hook_call($n, call => 'publish_done', name => $key, clientid => 103);
is $r->{status}, 200, 'it ends';

for my $bad (['live_' . ('0' x 32), 'a wrong key'],
             ['live_' . ('f' x 31), 'a short key'],
             ["$key?x", 'a malformed key'],
             ['', 'no key'],
             ['../' . $key, 'a path'])
{
    $r = hook_call($n, call => 'publish', name => $bad->[0], clientid => 104);
    is $r->{status}, 403, "$bad->[1]: refused";
}

$r = hook_call($n, call => 'publish', name => $key, clientid => 105,
               app => 'other');
is $r->{status}, 403, 'another application: refused';

$r = hook_call($n, call => 'publish', name => $key);
is $r->{status}, 400, 'no client id: refused';

# the first name= is nginx-rtmp's: a client's URL argument cannot replace it
$r = $n->request(POST => '/internal/rtmp', headers => {
        'Content-Type' => 'application/x-www-form-urlencoded' },
    body => "app=live&addr=127.0.0.1&clientid=106&call=publish&name=nope"
            . "&name=$key");
is $r->{status}, 403, 'a second name= argument is ignored';

# rotation
sql("UPDATE channels SET stream_key = DEFAULT WHERE id = $a->{channel_id}");
my $new = key_of($a);
isnt $new, $key, 'the key is rotated';
$r = hook_call($n, call => 'publish', name => $key, clientid => 107);
is $r->{status}, 403, 'the old key: refused';
$r = hook_call($n, call => 'publish', name => $new, clientid => 108);
is $r->{status}, 302, 'the new key: accepted';
$r = hook_call($n, call => 'update_publish', name => $new, clientid => 108);
is $r->{status}, 200, 'its heartbeat';

# suspending the owner drops the publisher at its next heartbeat
sql("UPDATE users SET suspended_at = now() WHERE id = $a->{id}");
$r = hook_call($n, call => 'update_publish', name => $new, clientid => 108);
is $r->{status}, 403, 'suspended owner: the heartbeat drops the publisher';
hook_call($n, call => 'publish_done', name => $new, clientid => 108);
$r = hook_call($n, call => 'publish', name => $new, clientid => 109);
is $r->{status}, 403, 'a suspended owner\'s key: refused';
sql("UPDATE users SET suspended_at = NULL WHERE id = $a->{id}");

# play: only from this host
$r = hook_call($n, call => 'play', name => $a->{name}, clientid => 110,
               addr => '203.0.113.9');
is $r->{status}, 403, 'play from another host: refused';
$r = hook_call($n, call => 'play', name => $a->{name}, clientid => 111);
is $r->{status}, 200, 'play from 127.0.0.1: allowed';

# other calls
is hook_call($n, call => 'done', clientid => 112)->{status}, 200,
   'other calls: 200';
is $n->request(GET => '/internal/rtmp')->{status}, 405, 'GET: 405';

# ... and requests that came through a proxy
for my $h ('X-Forwarded-For: 198.51.100.1', 'X-Real-IP: 198.51.100.1',
           'Forwarded: for=198.51.100.1', 'Via: 1.1 proxy')
{
    my ($k, $v) = split /: /, $h, 2;
    $r = $n->request(POST => '/internal/rtmp', body => 'call=done',
                     headers => { $k => $v, 'Content-Type' =>
                                  'application/x-www-form-urlencoded' });
    is $r->{status}, 403, "a hook call with $k: 403";
}

# the hooks location refuses clients that are not on this host
SKIP: {
    my ($ip) = grep { !/^127\./ && /^\d+\.\d+\.\d+\.\d+$/ }
               split ' ', `hostname -I 2>/dev/null` // '';
    skip 'no non-loopback IPv4 address', 1 unless $ip;
    my $s = IO::Socket::INET->new(PeerAddr => $ip, PeerPort => $n->port,
                                  Timeout => 3);
    skip "cannot connect to $ip", 1 unless $s;
    print $s "POST /internal/rtmp HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
    my $line = <$s> // '';
    like $line, qr/^HTTP\/1\.\d 403/, "a hook call from $ip: 403";
}

ok $n->stop(allow => []), 'hooks: no alerts';
sleep 0.5;

# --- over RTMP ---------------------------------------------------------------

$n = live_nginx(name => 't052', ladder => '180p30:200k');
$n->start;

my $src = make_source('320x240', 30, 40);
$key = key_of($b);

my $pub = publish('live_' . ('a' x 32), $src);
ok wait_until(sub { !publisher_alive($pub) }, 10), 'a wrong key: refused';
isnt $pub->{status}, 0, '... ffmpeg fails';
ok !is_live($b), '... nothing is live';

my $first = publish($key, $src, loop => 1);
ok wait_until(sub { hls_get($n, "/hls/$b->{name}/master.m3u8") }, 15),
   'the key: live, with HLS';
my $bid_b = open_broadcast($b);

my $second = publish($key, $src);
ok wait_until(sub { !publisher_alive($second) }, 10),
   'a second simultaneous publisher: refused';
ok publisher_alive($first), '... the first one publishes on';
is open_broadcast($b), $bid_b, '... in the same broadcast';

stop_publisher($first);
ok wait_until(sub { !is_live($b) }, 10), 'the publisher stops: offline';
is sql("SELECT end_reason FROM streams WHERE id = $bid_b"), 'publish_done',
   '... the broadcast is closed';

# reconnecting with the same key
$first = publish($key, $src, loop => 1);
ok wait_until(sub { is_live($b) && open_broadcast($b) ne $bid_b }, 15),
   'a publisher that reconnects goes live again';
ok wait_until(sub {
    my $r = live_media($n, $b->{name});
    $r && $r->{path} =~ m{/b${\ open_broadcast($b)}/};
}, 15), '... with the new broadcast\'s HLS';

# rotating the key while live: the next heartbeat (2 s here) drops it
sql("UPDATE channels SET stream_key = DEFAULT WHERE id = $b->{channel_id}");
ok wait_until(sub { !publisher_alive($first) }, 10),
   'a rotated key drops the live publisher';
ok wait_until(sub { !is_live($b) }, 10), '... and the channel goes offline';

$pub = publish($key, $src);
ok wait_until(sub { !publisher_alive($pub) }, 10),
   'the rotated key is refused';

# suspending the owner while live
$key = key_of($b);
$first = publish($key, $src, loop => 1);
ok wait_until(sub { is_live($b) }, 15), 'the new key: live';
sql("UPDATE users SET suspended_at = now() WHERE id = $b->{id}");
ok wait_until(sub { !publisher_alive($first) }, 10),
   'suspending the owner drops the publisher';
$pub = publish($key, $src);
ok wait_until(sub { !publisher_alive($pub) }, 10),
   'a suspended user\'s key is refused';
ok !is_live($b), '... nothing is live';
sql("UPDATE users SET suspended_at = NULL WHERE id = $b->{id}");

$n->stop;

# at the info level nginx-rtmp itself logs what publishers send (the key:
# production logs at notice); our own lines never do
my @ours = grep { /twitch/ && !/\] \d+#\d+: \*\d+ (?:publish|notify|relay|play):/ }
           split /\n/, $n->error_log;
ok @ours > 10, 'the module logged at the info level';
for my $k ($key, key_of($b)) {
    ok !(grep { index($_, $k) >= 0 } @ours), 'no key in our log lines';
}

done_testing;
