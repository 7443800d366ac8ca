# Subscriptions: subscribe (30 days), "Already subscribed", upgrades to a
# higher tier, renewal after expiry, tier validation, subscriber counts;
# Idempotency-Key: the first answer replayed verbatim, one subscription
# row, 422 for a reused key with a different request, keys scoped per
# user, concurrent retries with one key.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(require_platform);
use Twitch::Test::ApiClient;

use POSIX ();

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

my $star = $api->register("tw23s_$$");
my $fan = $api->register("tw23f_$$");
my $ch = $star->{name};
my $cid = $api->call(GET => "/api/channels/$ch")->{json}{channel}{id};

sub channel {
    my ($as) = @_;
    return $api->call(GET => "/api/channels/$ch", as => $as)
               ->{json}{channel};
}

sub active_rows {
    return sql("SELECT count(*) FROM subscriptions WHERE channel_id = $cid"
               . " AND expires_at > now()");
}

my $iso = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

# --- subscribe, again, upgrade ------------------------------------------------

is channel($fan)->{isSubscribed}, JSON::PP::false, 'not subscribed yet';

my $r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan);
is $r->{status}, 200, 'subscribe without a body';
like $r->{body}, qr/^\{"success":true,"expiresAt":"[^"]+","tier":1\}$/,
     '{success, expiresAt, tier:1}';
my $exp1 = $r->{json}{expiresAt};
like $exp1, $iso, 'expiresAt is ISO 8601';
is sql("SELECT expires_at - started_at = interval '30 days'"
       . " FROM subscriptions WHERE user_id = $fan->{id}"
       . " AND channel_id = $cid"), 't', 'for 30 days';
is sql("SELECT abs(extract(epoch FROM expires_at - now()"
       . " - interval '30 days')) < 60 FROM subscriptions"
       . " WHERE user_id = $fan->{id} AND channel_id = $cid"), 't',
   'from now';

my $c = channel($fan);
is $c->{isSubscribed}, JSON::PP::true, 'isSubscribed';
is $c->{subscriptionTier}, 1, 'subscriptionTier 1';
is $c->{subscriberCount}, 1, 'subscriberCount 1';
is channel()->{subscriptionTier}, undef, 'anonymous: tier null';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => { tier => 1 });
is $r->{status}, 200, 'subscribing again';
is $r->{body},
   qq({"success":true,"message":"Already subscribed","expiresAt":"$exp1","tier":1}),
   'is Already subscribed, with the current expiry and tier';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => { tier => 3 });
is $r->{status}, 200, 'a higher tier';
like $r->{body}, qr/^\{"success":true,"expiresAt":"[^"]+","tier":3\}$/,
     'upgrades';
my $exp3 = $r->{json}{expiresAt};

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => { tier => 2 });
is $r->{body},
   qq({"success":true,"message":"Already subscribed","expiresAt":"$exp3","tier":3}),
   'a lower tier while active: Already subscribed at tier 3';

is channel()->{subscriberCount}, 1, 'still one subscriber';
is active_rows(), '1', 'one active row';

# --- expired: renews -------------------------------------------------------------

sql("UPDATE subscriptions SET started_at = now() - interval '31 days',"
    . " expires_at = now() - interval '1 day'"
    . " WHERE user_id = $fan->{id} AND channel_id = $cid");
is sql("SELECT subscriber_count FROM channels WHERE id = $cid"), '0',
   'the expiry (a write here) took the count down';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => { tier => 1 });
is $r->{status}, 200, 'subscribing after expiry';
like $r->{body}, qr/^\{"success":true,"expiresAt":"[^"]+","tier":1\}$/,
     'renews at the asked tier';
is channel()->{subscriberCount}, 1, 'counted again';

# --- validation -----------------------------------------------------------------

my @bad = (
    [ '{"tier":0}', 'tier must be from 1 to 3' ],
    [ '{"tier":4}', 'tier must be from 1 to 3' ],
    [ '{"tier":-1}', 'tier must be from 1 to 3' ],
    [ '{"tier":"2"}', 'tier must be an integer' ],
    [ '{"tier":1.5}', 'tier must be an integer' ],
    [ '{"tier":true}', 'tier must be an integer' ],
    [ '{"tier":99999999999999999999}', 'tier must be an integer' ],
);

for my $b (@bad) {
    $r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                    body => $b->[0]);
    is $r->{status}, 400, "$b->[0] is 400";
    is $r->{json}{error}, $b->[1], "  $b->[1]";
}

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => '[1]');
is $r->{status}, 400, 'a body that is not an object is 400';

$r = $api->call(POST => '/api/channels/no_such_chan/subscribe', as => $fan);
is $r->{status}, 404, 'unknown channel: 404';
is $r->{body}, '{"error":"Channel not found"}', 'Channel not found';

$r = $api->call(POST => "/api/channels/$ch/subscribe", body => '{}');
is $r->{status}, 401, 'subscribe needs a session';

# --- Idempotency-Key ----------------------------------------------------------

my $buyer = $api->register("tw23b_$$");
my $key = "sub-$$-" . time;

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                body => { tier => 2 },
                headers => { 'Idempotency-Key' => $key });
is $r->{status}, 200, 'subscribe with an Idempotency-Key';
my $first = $r->{body};
like $first, qr/^\{"success":true,"expiresAt":"[^"]+","tier":2\}$/,
     'first answer';
ok !defined $r->{headers}{'idempotent-replayed'}, 'not a replay';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                body => { tier => 2 },
                headers => { 'Idempotency-Key' => $key });
is $r->{status}, 200, 'the same key again: 200';
is $r->{body}, $first, 'the stored first answer, verbatim';
is $r->{headers}{'idempotent-replayed'}, 'true', 'marked as a replay';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                body => '{ "tier" : 2 }',
                headers => { 'X-Idempotency-Key' => $key });
is $r->{body}, $first, 'X-Idempotency-Key, same request spelled otherwise';

is sql("SELECT count(*) FROM subscriptions WHERE user_id = $buyer->{id}"),
   '1', 'one subscription row';
is sql("SELECT status_code || ' ' || endpoint FROM idempotency_keys"
       . " WHERE user_id = $buyer->{id}"), "200 subscribe:$cid",
   'one stored key with its answer';

# without the key, the same request is a new one
$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                body => { tier => 3 });
like $r->{body}, qr/"tier":3/, 'an upgrade without a key';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                body => { tier => 2 },
                headers => { 'Idempotency-Key' => $key });
is $r->{body}, $first, 'the key still replays the first answer (tier 2)';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                body => { tier => 1 },
                headers => { 'Idempotency-Key' => $key });
is $r->{status}, 422, 'the key with a different body: 422';
is $r->{body},
   '{"error":"Idempotency-Key reused with a different request"}',
   'Idempotency-Key reused with a different request';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                headers => { 'Idempotency-Key' => $key });
is $r->{status}, 422, 'no body means tier 1: different too';

$r = $api->call(POST => '/api/channels/shroud/subscribe', as => $buyer,
                body => { tier => 2 },
                headers => { 'Idempotency-Key' => $key });
is $r->{status}, 422, 'the key for another channel: 422';
is sql("SELECT count(*) FROM subscriptions WHERE user_id = $buyer->{id}"),
   '1', 'and no subscription was made';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => { tier => 2 },
                headers => { 'Idempotency-Key' => $key });
is $r->{status}, 200, 'the same key from another user is that user\'s own';
ok !defined $r->{headers}{'idempotent-replayed'}, 'not a replay';
is $r->{json}{tier}, 2, 'upgraded the other user';

for my $bad ('k' x 129, "caf\x{c3}\x{a9}") {
    $r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                    headers => { 'Idempotency-Key' => $bad });
    is $r->{status}, 400, 'a bad Idempotency-Key is 400';
    is $r->{body},
       '{"error":"Idempotency-Key must be 1 to 128 printable characters"}',
       'with a message';
}

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $buyer,
                body => { tier => 2 },
                headers => { 'Idempotency-Key' => 'k' x 128 });
is $r->{status}, 200, 'a 128-character key is fine';

# keys live 24 hours: an old one (not purged yet) is a new request
sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
    . " WHERE user_id = $buyer->{id} AND key = '$key'");
$r = $api->call(POST => '/api/channels/shroud/subscribe', as => $buyer,
                body => { tier => 1 },
                headers => { 'Idempotency-Key' => $key });
is $r->{status}, 200, 'a key older than 24 hours can be used again';
ok !defined $r->{headers}{'idempotent-replayed'}, 'as a new request';
is sql("SELECT endpoint FROM idempotency_keys WHERE user_id = $buyer->{id}"
       . " AND key = '$key'"), 'subscribe:1', 'the key now names shroud';
$r = $api->call(POST => '/api/channels/shroud/subscribe', as => $buyer,
                body => { tier => 1 },
                headers => { 'Idempotency-Key' => $key });
is $r->{headers}{'idempotent-replayed'}, 'true', 'and replays from then on';

# --- concurrent retries with one key -----------------------------------------------

my $late = $api->register("tw23l_$$");
my $ckey = "concurrent-$$";
my $out = "$ENV{TEST_NGINX_SERVROOT}_023.$$";
my @pids;

for my $i (1 .. 10) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $res = $api->call(POST => "/api/channels/$ch/subscribe",
                             as => $late, body => { tier => 1 },
                             headers => { 'Idempotency-Key' => $ckey });
        open my $fh, '>', "$out.$i" or POSIX::_exit(2);
        print $fh "$res->{status} $res->{body}";
        close $fh;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid $_, 0 for @pids;

my %answers;
for my $i (1 .. 10) {
    my $t = do { local (@ARGV, $/) = ("$out.$i"); <> } // '';
    $answers{$t}++;
    unlink "$out.$i";
}
is scalar keys %answers, 1, '10 concurrent retries: one answer for all';
like((keys %answers)[0], qr/^200 \{"success":true,"expiresAt":"[^"]+","tier":1\}$/,
     'the subscription');
is sql("SELECT count(*) FROM subscriptions WHERE user_id = $late->{id}"),
   '1', 'one row';

is channel()->{subscriberCount}, active_rows(),
   'subscriberCount equals the active subscriptions';

# --- many users subscribing to one channel at once ----------------------------

my @crowd = map { $api->register("tw23c${_}_$$") } 1 .. 8;
@pids = ();
for my $u (@crowd) {
    for my $tier (1, 2) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $res = $api->call(POST => "/api/channels/$ch/subscribe",
                                 as => $u, body => { tier => $tier });
            POSIX::_exit($res->{status} == 200 ? 0 : 1);
        }
        push @pids, $pid;
    }
}
my $failed = 0;
for my $pid (@pids) {
    waitpid $pid, 0;
    $failed++ if $?;
}
is $failed, 0, '16 concurrent subscribes by 8 users: all 200';
is sql("SELECT count(*) FROM subscriptions s JOIN users u"
       . " ON u.id = s.user_id WHERE s.channel_id = $cid"
       . " AND u.username LIKE 'tw23c%\\_$$' AND s.tier = 2"), '8',
   'each ends at tier 2 (an upgrade or a new tier-2 subscription)';
is channel()->{subscriberCount}, active_rows(),
   'subscriberCount still equals the active subscriptions';

ok $n->stop, 'nginx stops cleanly';
unlike $n->error_log, qr/\[error\]/, 'no [error] lines';

done_testing;
