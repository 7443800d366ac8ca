# Servers that hang instead of going away (SIGSTOP): queries and commands
# time out after twitch_postgres_query_timeout / twitch_redis_command_timeout,
# the API answers 503 in bounded time, and everything recovers after
# SIGCONT without restarting nginx.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Twitch::Test qw(wait_until require_platform);

require_platform();

my $redis_port = $ENV{TEST_NGINX_REDIS_PORT};

# the processes of the test servers, found by their ports
sub pids_of {
    my ($pattern) = @_;
    my @pids = grep { /^\d+$/ } split /\s+/, `pgrep -f '$pattern'`;
    return @pids;
}

my @redis = pids_of("redis-server 127.0.0.1:$redis_port");

plan skip_all => 'test servers not found' unless @redis;

my $n = Twitch::Test::Nginx->new(
    workers     => 1,
    http_config => <<'_EOC_',
    twitch_postgres "$TEST_NGINX_PG";
    twitch_postgres_pool 2;
    twitch_postgres_query_timeout 1s;
    twitch_redis $TEST_NGINX_REDIS;
    twitch_redis_command_timeout 1s;
_EOC_
    config      => <<'_EOC_',
    location /api/ { twitch_api; }
    location = /static { return 200 "static\n"; }
_EOC_
);

$n->start;

sub health { $n->request(GET => '/api/health', timeout => 10) }

ok wait_until(sub { health()->{status} == 200 }, 10), 'up';

# --- Redis hangs ---------------------------------------------------------------

kill 'STOP', @redis;
sleep 1.1;    # past the health round trip kept for a second

my $t0 = time;
my $r = health();
my $took = time - $t0;
is $r->{status}, 503, 'health is 503 while Redis hangs';
like $r->{body}, qr/"redis":"down"/, 'naming Redis';
cmp_ok $took, '<', 3, 'within the command timeout, not forever';
is $n->request(GET => '/static')->{status}, 200, 'the worker is not blocked';

kill 'CONT', @redis;
ok wait_until(sub { health()->{status} == 200 }, 10),
   'health is 200 again once Redis answers';
like $n->error_log, qr/redis command timed out after 1000 ms/,
     'the timeout is logged';

# --- PostgreSQL hangs ------------------------------------------------------------

# the test cluster's postmaster and its children (conf/platform.sh layout)
my $data = "$ENV{TWITCH_VAR}/pg/data";
my @pgp;
if (open my $fh, '<', "$data/postmaster.pid") {
    my $pm = <$fh>;
    chomp $pm;
    close $fh;
    @pgp = ($pm, grep { /^\d+$/ } split /\s+/, `pgrep -P $pm`);
}

SKIP: {
    skip 'cannot find the PostgreSQL processes', 5 unless @pgp;

    kill 'STOP', @pgp;
    sleep 1.1;

    $t0 = time;
    $r = health();
    $took = time - $t0;
    is $r->{status}, 503, 'health is 503 while PostgreSQL hangs';
    like $r->{body}, qr/"postgres":"down"/, 'naming PostgreSQL';
    cmp_ok $took, '<', 3, 'within the query timeout';

    kill 'CONT', @pgp;
    ok wait_until(sub { health()->{status} == 200 }, 15),
       'health is 200 again once PostgreSQL answers';
    like $n->error_log, qr/postgres query "health" timed out after 1000 ms/,
         'the query timeout is logged';
}

$n->stop;

done_testing;
