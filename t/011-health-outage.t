# PostgreSQL and Redis stopped and started again under a running nginx:
# health turns 503 naming what is down, other requests are still served at
# once (no worker blocks), and health is 200 again once the server is back,
# without restarting nginx.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use Twitch::Test qw(service wait_until require_platform);

require_platform();

my $n = Twitch::Test::Nginx->new(
    workers     => 2,
    http_config => <<'_EOC_',
    twitch_postgres "$TEST_NGINX_PG";
    twitch_postgres_pool 2;
    twitch_redis $TEST_NGINX_REDIS;
_EOC_
    config      => <<'_EOC_',
    location /api/ { twitch_api; }
    location = /static { return 200 "static\n"; }
_EOC_
);

$n->start;

sub health { $n->request(GET => '/api/health') }

ok wait_until(sub { health()->{status} == 200 }, 10),
   'health is 200 once the workers have connected';

# Both workers answer: several requests spread over them.
for my $i (1 .. 6) {
    my $r = health();
    is $r->{status}, 200, "health 200, request $i";
    is $r->{body}, '{"status":"ok","postgres":"up","redis":"up"}',
       "health body, request $i";
}

sub served_while_down {
    my ($what) = @_;
    my $t0 = time;
    my $s = $n->request(GET => '/static');
    my $r = $n->request(GET => '/api/no/such');
    is $s->{status}, 200, "static location served while $what is down";
    is $r->{status}, 404, "API 404 served while $what is down";
    cmp_ok time - $t0, '<', 2, "answered without waiting on $what";
}

# --- Redis --------------------------------------------------------------

ok service('redis', 'stop'), 'redis stopped';

ok wait_until(sub { health()->{status} == 503 }, 5),
   'health turns 503 with redis down';
my $r;
ok wait_until(sub {
       $r = health();
       $r->{body}
           eq '{"status":"unavailable","postgres":"up","redis":"down"}' },
       8),
   'the 503 names redis';
is $r->{headers}{'content-type'}, 'application/json', 'as JSON';
served_while_down('redis');

ok service('redis', 'start'), 'redis started';
ok wait_until(sub { health()->{status} == 200 }, 10),
   'health 200 again after redis is back';
ok wait_until(sub {
       my $ok = 1;
       for (1 .. 4) { $ok &&= health()->{status} == 200 }
       $ok }, 10),
   'every worker reconnected to redis';

# --- PostgreSQL ----------------------------------------------------------

ok service('pg', 'stop'), 'postgres stopped';

ok wait_until(sub { health()->{status} == 503 }, 5),
   'health turns 503 with postgres down';

# a worker may still be in its reconnect backoff to Redis (up to 3 s)
ok wait_until(sub {
       health()->{body}
           eq '{"status":"unavailable","postgres":"down","redis":"up"}' },
       8),
   'the 503 names postgres';
served_while_down('postgres');

ok service('pg', 'start'), 'postgres started';
ok wait_until(sub { health()->{status} == 200 }, 10),
   'health 200 again after postgres is back';
ok wait_until(sub {
       my $ok = 1;
       for (1 .. 4) { $ok &&= health()->{status} == 200 }
       $ok }, 10),
   'every worker reconnected to postgres (statements prepared again)';

# --- both at once ----------------------------------------------------------

ok service('redis', 'stop') && service('pg', 'stop'), 'both stopped';
ok wait_until(sub {
       health()->{body} eq
           '{"status":"unavailable","postgres":"down","redis":"down"}' }, 5),
   'the 503 names both';
ok service('pg', 'start') && service('redis', 'start'), 'both started';
ok wait_until(sub { health()->{status} == 200 }, 10), 'health 200 again';

like $n->error_log, qr/postgres connection restored/,
     'the reconnect is logged';
like $n->error_log, qr/redis connection restored/,
     'the redis reconnect is logged';

$n->stop;

done_testing;
