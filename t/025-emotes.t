# Emotes a viewer may use in a channel: "locked" when the emote's tier is
# above the viewer's active subscription tier to that channel; global
# emotes are never locked; the broadcaster has every emote; an expired
# subscription counts as none.  Channel emotes are ordered by tier, code.

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

my $star = $api->register("tw25s_$$");
my $fan = $api->register("tw25f_$$");
my $ch = $star->{name};
my $cid = $api->call(GET => "/api/channels/$ch")->{json}{channel}{id};
my $p = "e$$";

# emote codes are 2..25 of [A-Za-z0-9_]
sql("INSERT INTO emotes (channel_id, code, image_url, tier) VALUES"
    . " ($cid, '${p}bb', '/emotes/${p}bb.svg', 2),"
    . " ($cid, '${p}zz', '/emotes/${p}zz.svg', 1),"
    . " ($cid, '${p}aa', '/emotes/${p}aa.svg', 1),"
    . " ($cid, '${p}cc', '/emotes/${p}cc.svg', 3)");

my $r = $api->call(GET => "/api/emotes/channel/$cid");
is $r->{status}, 200, 'channel emotes';
is_deeply [map { "$_->{tier}:$_->{code}" } @{ $r->{json}{emotes} }],
          ["1:${p}aa", "1:${p}zz", "2:${p}bb", "3:${p}cc"],
          'by tier, then code';
like $r->{body}, qr/^\{"emotes":\[\{"id":\d+,"code":"${p}aa","imageUrl":"\/emotes\/${p}aa\.svg","tier":1,"isGlobal":false\},/,
     'emote shape';

sub locks {
    my ($as) = @_;
    my $res = $api->call(GET => "/api/emotes/available/$cid", as => $as);
    return undef unless $res->{status} == 200;
    my @g = grep { $_->{isGlobal} } @{ $res->{json}{emotes} };
    my @c = grep { !$_->{isGlobal} } @{ $res->{json}{emotes} };
    return {
        global => scalar @g,
        global_locked => scalar(grep { $_->{locked} } @g),
        channel => join(',', map { "$_->{code}="
                                   . ($_->{locked} ? 'L' : 'U') } @c),
        order => join(',', map { $_->{isGlobal} ? 'g' : 'c' }
                               @{ $res->{json}{emotes} }),
    };
}

my $l = locks(undef);
ok $l, 'available emotes, anonymously';
cmp_ok $l->{global}, '>=', 10, 'the global emotes are included';
is $l->{global_locked}, 0, 'none of them locked';
is $l->{channel}, "${p}aa=L,${p}zz=L,${p}bb=L,${p}cc=L",
   'every channel emote locked';
like $l->{order}, qr/^g(,g)*(,c)+$/, 'global emotes first';

is locks($fan)->{channel}, "${p}aa=L,${p}zz=L,${p}bb=L,${p}cc=L",
   'a viewer without a subscription: all locked';

is locks($star)->{channel}, "${p}aa=U,${p}zz=U,${p}bb=U,${p}cc=U",
   'the broadcaster: all unlocked';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => { tier => 2 });
is $r->{status}, 200, 'the viewer subscribes at tier 2';
is locks($fan)->{channel}, "${p}aa=U,${p}zz=U,${p}bb=U,${p}cc=L",
   'tier 2: tiers 1 and 2 unlocked, tier 3 locked';

$r = $api->call(POST => "/api/channels/$ch/subscribe", as => $fan,
                body => { tier => 3 });
is locks($fan)->{channel}, "${p}aa=U,${p}zz=U,${p}bb=U,${p}cc=U",
   'tier 3: all unlocked';

sql("UPDATE subscriptions SET started_at = now() - interval '40 days',"
    . " expires_at = now() - interval '10 days'"
    . " WHERE user_id = $fan->{id} AND channel_id = $cid");
is locks($fan)->{channel}, "${p}aa=L,${p}zz=L,${p}bb=L,${p}cc=L",
   'an expired subscription: all locked again';

is locks('A' x 43)->{channel}, "${p}aa=L,${p}zz=L,${p}bb=L,${p}cc=L",
   'an expired session is anonymous';

my $other = $api->register("tw25o_$$");
$r = $api->call(POST => '/api/channels/shroud/subscribe', as => $other,
                body => { tier => 3 });
is locks($other)->{channel}, "${p}aa=L,${p}zz=L,${p}bb=L,${p}cc=L",
   'a subscription to another channel does not count';

$r = $api->call(GET => '/api/emotes/available/1', as => $other);
ok !(grep { $_->{locked} } @{ $r->{json}{emotes} }),
   'but unlocks that channel\'s emotes';

$r = $api->call(GET => '/api/emotes/available/0', as => $other);
is $r->{status}, 404, 'channel id 0: 404';

ok $n->stop, 'nginx stops cleanly';
unlike $n->error_log, qr/\[error\]/, 'no [error] lines';

done_testing;
