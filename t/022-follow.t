# Follow and unfollow: answers, isFollowing, follower counts kept by the
# database triggers, /api/following; and under concurrency (40 clients at
# once, several users, two channels, follow/unfollow mixed) the counts
# still equal the real number of follower rows.

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

my $star = $api->register("tw22s_$$");
my $fan = $api->register("tw22f_$$");
my $ch = $star->{name};

sub channel {
    my ($name, $as) = @_;
    return $api->call(GET => "/api/channels/$name", as => $as)
               ->{json}{channel};
}

sub rows {
    my ($name) = @_;
    return sql("SELECT count(*) FROM followers f JOIN channels c"
               . " ON c.id = f.channel_id WHERE c.name = '$name'");
}

# --- one user -----------------------------------------------------------------

my $c = channel($ch, $fan);
is $c->{followerCount}, 0, 'a new channel has no followers';
is $c->{isFollowing}, JSON::PP::false, 'isFollowing false';

my $r = $api->call(POST => "/api/channels/$ch/follow", as => $fan);
is $r->{status}, 200, 'follow';
is $r->{body}, '{"success":true}', 'success';

$c = channel($ch, $fan);
is $c->{followerCount}, 1, 'followerCount is 1';
is $c->{isFollowing}, JSON::PP::true, 'isFollowing true for the follower';
is channel($ch, $star)->{isFollowing}, JSON::PP::false,
   'but not for the owner';
is channel($ch)->{isFollowing}, JSON::PP::false, 'nor anonymously';

$r = $api->call(POST => "/api/channels/\U$ch\E/follow", as => $fan);
is $r->{status}, 200, 'follow again (other case)';
is $r->{body}, '{"success":true,"message":"Already following"}',
   'Already following';
is channel($ch)->{followerCount}, 1, 'still 1';
is rows($ch), '1', 'one row';

$r = $api->call(GET => '/api/following', as => $fan);
is $r->{status}, 200, '/api/following';
like $r->{body}, qr/^\{"following":\[\{"id":\d+,"name":"$ch","title":"Untitled Stream","isLive":false,"viewerCount":0,"thumbnailUrl":null,"tags":\[\],"followedAt":"\d{4}-[^"]+Z","user":\{"username":"$ch","displayName":"$ch","avatarUrl":null\},"category":null\}\]\}$/,
     'lists the followed channel';

$r = $api->call(GET => "/api/users/$fan->{name}/following");
is_deeply [map { $_->{name} } @{ $r->{json}{following} }], [$ch],
          'and so does the public list';

$r = $api->call(POST => "/api/channels/$ch/follow", as => $star);
is $r->{status}, 200, 'the owner may follow the own channel';
is channel($ch)->{followerCount}, 2, 'counted';

$r = $api->call(DELETE => "/api/channels/$ch/follow", as => $star);
is $r->{body}, '{"success":true}', 'unfollow';
is channel($ch)->{followerCount}, 1, 'count back to 1';

$r = $api->call(DELETE => "/api/channels/$ch/follow", as => $star);
is $r->{status}, 200, 'unfollowing again';
is $r->{body}, '{"success":true}', 'is still success';
is channel($ch)->{followerCount}, 1, 'and does not decrement';

$r = $api->call(DELETE => "/api/channels/$ch/follow", as => $fan);
is channel($ch)->{followerCount}, 0, 'last follower gone: 0';
is channel($ch, $fan)->{isFollowing}, JSON::PP::false, 'isFollowing false';
is $api->call(GET => '/api/following', as => $fan)->{body},
   '{"following":[]}', 'nothing followed';

for my $m (qw(POST DELETE)) {
    $r = $api->call($m => '/api/channels/no_such_chan/follow', as => $fan);
    is $r->{status}, 404, "$m follow of an unknown channel: 404";
    is $r->{body}, '{"error":"Channel not found"}', 'Channel not found';
}

$r = $api->call(POST => "/api/channels/$ch/follow");
is $r->{status}, 401, 'follow needs a session';

$r = $api->call(POST => "/api/channels/$ch/follow", as => $fan,
                headers => { Origin => 'http://evil.example' });
is $r->{status}, 403, 'a cross-site follow is refused';
is rows($ch), '0', 'and did nothing';

# --- concurrency ------------------------------------------------------------------

my @users = map { $api->register("tw22c${_}_$$") } 1 .. 6;
my @chans = map { $api->register("tw22t${_}_$$")->{name} } 1 .. 2;

my $clients = 40;
my $ops = 6;
my @pids;

for my $i (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        srand($$ ^ time);
        my $bad = 0;
        for my $j (1 .. $ops) {
            my $u = $users[($i + $j) % @users];
            my $t = $chans[int rand @chans];
            my $m = rand() < 0.55 ? 'POST' : 'DELETE';
            my $res = $api->call($m => "/api/channels/$t/follow", as => $u);
            $bad++ unless $res->{status} == 200
                          && $res->{body} =~ /^\{"success":true/;
        }
        POSIX::_exit($bad ? 1 : 0);
    }
    push @pids, $pid;
}

my $failed = 0;
for my $pid (@pids) {
    waitpid $pid, 0;
    $failed++ if $?;
}

is $failed, 0, "$clients concurrent clients x $ops follow/unfollow: all 200";

for my $t (@chans) {
    my $real = rows($t);
    is channel($t)->{followerCount}, $real,
       "$t: followerCount equals the follower rows ($real)";
    is sql("SELECT follower_count FROM channels WHERE name = '$t'"), $real,
       "$t: and so does the column";
}

# a second round that ends with everyone unfollowing: counts go to 0
@pids = ();
for my $u (@users) {
    for my $t (@chans) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $ok = 1;
            for my $m (qw(POST DELETE POST DELETE)) {
                my $res = $api->call($m => "/api/channels/$t/follow",
                                     as => $u);
                $ok = 0 unless $res->{status} == 200;
            }
            POSIX::_exit($ok ? 0 : 1);
        }
        push @pids, $pid;
    }
}

$failed = 0;
for my $pid (@pids) {
    waitpid $pid, 0;
    $failed++ if $?;
}

is $failed, 0, 'follow/unfollow pairs for every user and channel at once';

for my $t (@chans) {
    is rows($t), '0', "$t: no follower rows left";
    is channel($t)->{followerCount}, 0, "$t: followerCount 0";
}

ok $n->stop, 'nginx stops cleanly';
unlike $n->error_log, qr/\[error\]/, 'no [error] lines';

done_testing;
