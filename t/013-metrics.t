# Observability: Prometheus metrics summed over the workers (requests by
# route and status, latency histogram, PostgreSQL pool, Redis), and a
# request id on every API response.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(wait_until require_platform);

require_platform();

my $n = Twitch::Test::Nginx->new(
    workers     => 2,
    http_config => <<'_EOC_',
    twitch_postgres "$TEST_NGINX_PG";
    twitch_postgres_pool 3;
    twitch_redis $TEST_NGINX_REDIS;
_EOC_
    config      => <<'_EOC_',
    location /api/ { twitch_api; }
    location = /metrics { twitch_metrics; }
_EOC_
);

$n->start;

ok wait_until(sub { $n->request(GET => '/api/health')->{status} == 200 },
              10), 'up';

my $r = $n->request(GET => '/api/health');
like $r->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/,
     'API responses carry X-Request-Id';
my $r2 = $n->request(GET => '/api/health');
isnt $r2->{headers}{'x-request-id'}, $r->{headers}{'x-request-id'},
     'a different id per request';
like $n->request(GET => '/api/nope')->{headers}{'x-request-id'} // '',
     qr/^[0-9a-f]{32}$/, 'errors carry it too';

$n->request(GET => '/api/health') for 1 .. 10;
$n->request(GET => '/api/auth/me') for 1 .. 3;
$n->request(DELETE => '/api/health');

sub metrics {
    my $m = $n->request(GET => '/metrics');
    return $m;
}

# the gauges are refreshed each second by every worker
sleep 1.2;

my $m = metrics();
is $m->{status}, 200, 'metrics 200';
like $m->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     'Prometheus text format';

my $body = $m->{body};

my ($health) = $body =~ /^twitch_http_requests_total\{method="GET",route="\/api\/health",status="200"\} (\d+)$/m;
cmp_ok $health // 0, '>=', 13, 'health requests counted across workers';
like $body, qr/^twitch_http_requests_total\{method="GET",route="\/api\/auth\/me",status="401"\} 3$/m,
     'requests by route and status';
like $body, qr/^twitch_http_requests_total\{method="any",route="unmatched",status="404"\} 1$/m,
     'unmatched routes';
like $body, qr/^twitch_http_requests_total\{method="GET",route="\/api\/health",status="405"\} 1$/m,
     'a 405 is counted on its route';
like $body, qr/^twitch_http_request_duration_seconds_bucket\{method="GET",route="\/api\/health",le="\+Inf"\} \d+$/m,
     'latency histogram';
like $body, qr/^twitch_http_request_duration_seconds_count\{method="GET",route="\/api\/health"\} \d+$/m,
     'histogram count';
like $body, qr/^twitch_postgres_connections 6$/m,
     'pool connections of both workers (2 x 3)';
like $body, qr/^twitch_postgres_connections_in_use \d+$/m, 'in use';
like $body, qr/^twitch_postgres_queries_waiting 0$/m, 'waiting';
like $body, qr/^twitch_redis_up 2$/m, 'redis up in both workers';
like $body, qr/^twitch_workers 2$/m, 'two workers report';

my $login = $n->request(POST => '/api/auth/login',
                        body => '{"username":"pokimane","password":"demo1234"}',
                        headers => { 'Content-Type' => 'application/json' });
is $login->{status}, 200, 'a login';
ok wait_until(sub {
       my ($s) = metrics()->{body} =~ /^twitch_sessions_active (\d+)$/m;
       defined $s && $s >= 1 }, 8, 0.5),
   'the session is counted in twitch_sessions_active';

my ($b1) = $body =~ /route="\/api\/health",le="0.001"\} (\d+)/;
my ($b2) = $body =~ /route="\/api\/health",le="5"\} (\d+)/;
cmp_ok $b1, '<=', $b2, 'buckets are cumulative';

$n->stop;

done_testing;
