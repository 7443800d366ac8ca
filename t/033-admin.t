# /api/admin: only for role admin; listing and searching users, changing
# roles, suspending (sessions end at once, login refused, open broadcast
# ended, user_suspended on Redis "admin"), lifting a suspension, ending a
# broadcast (stream_end_requested on "admin"), and the audit log.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(require_platform);
use Twitch::Test::Accounts qw(sql make_user login api json);
use Twitch::Test::Redis;

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

my $p = "t033_$$";
my $iso = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

my $admin = make_user($n, "${p}_adm", role => 'admin');
my $gmod = make_user($n, "${p}_gmod", role => 'moderator');
my $user = make_user($n, "${p}_usr");
my $victim = make_user($n, "${p}_vic", channel => 1);
my $streamer = make_user($n, "${p}_str", channel => 1);

my $sub = Twitch::Test::Redis->new;
$sub->subscribe('admin');

sub events {
    return map { $_->[1] } $sub->drain(0.15);
}

sub err {
    my ($r, $status, $msg, $what) = @_;
    is $r->{status}, $status, "$what: $status" or diag $r->{body};
    is $r->{body}, json->encode({ error => $msg }), "$what: \"$msg\"";
}

sub me {
    my ($cookie) = @_;
    return api($n, GET => '/api/auth/me', { cookie => $cookie });
}

# --- who may use /api/admin --------------------------------------------------

my @routes = (
    [GET => '/api/admin/users'],
    [PATCH => "/api/admin/users/$user->{id}", { role => 'moderator' }],
    [POST => "/api/admin/users/$user->{id}/suspend", {}],
    [DELETE => "/api/admin/users/$user->{id}/suspend"],
    [POST => "/api/admin/streams/$streamer->{channel_id}/end"],
);

for my $rt (@routes) {
    my ($m, $path, $body) = @$rt;
    err(api($n, $m, $path, undef, $body), 401, 'Not authenticated',
        "$m $path anonymous");
    err(api($n, $m, $path, $user, $body), 403, 'Admin access required',
        "$m $path as a user");
    err(api($n, $m, $path, $gmod, $body), 403, 'Admin access required',
        "$m $path as a global moderator");
}

is sql("SELECT role || '|' || (suspended_at IS NULL) FROM users"
       . " WHERE id = $user->{id}"), 'user|true', 'nothing changed';
is_deeply [events()], [], 'nothing published';

# --- list and search users ---------------------------------------------------

my $r = api($n, GET => '/api/admin/users', $admin);
is $r->{status}, 200, 'list users' or diag $r->{body};
my @u = @{ $r->{json}{users} };
cmp_ok scalar(@u), '>=', 5, 'users are listed';
is_deeply [sort keys %{ $u[0] }],
          [sort qw(id username email displayName role suspended createdAt)],
          'documented fields';
ok !(grep { exists $_->{passwordHash} || exists $_->{password_hash} } @u),
   'no password hashes';
unlike $r->{body}, qr/\$y\$/, 'not even in passing';
like $u[0]{createdAt}, $iso, 'createdAt';
is_deeply [map { $_->{id} } @u], [sort { $a <=> $b } map { $_->{id} } @u],
          'ordered by id';

$r = api($n, GET => "/api/admin/users?q=\U${p}_VIC", $admin);
is_deeply [map { $_->{username} } @{ $r->{json}{users} }], [$victim->{name}],
          'q finds a username, ignoring case';
$r = api($n, GET => "/api/admin/users?q=${p}_str%40example.ORG", $admin);
is_deeply [map { $_->{id} } @{ $r->{json}{users} }], [$streamer->{id}],
          'q finds an email (%-decoded)';
$r = api($n, GET => "/api/admin/users?q=The+${p}_usr", $admin);
is_deeply [map { $_->{id} } @{ $r->{json}{users} }], [$user->{id}],
          'q finds a display name ("+" is a space)';
$r = api($n, GET => "/api/admin/users?q=${p}_&limit=2&offset=1", $admin);
is scalar(@{ $r->{json}{users} }), 2, 'limit and offset';
$r = api($n, GET => "/api/admin/users?q=%25$p", $admin);
is $r->{body}, '{"users":[]}', 'q is a plain substring, "%" is no wildcard';
$r = api($n, GET => "/api/admin/users?q=zz_${p}_nobody", $admin);
is $r->{body}, '{"users":[]}', 'no match';
err(api($n, GET => '/api/admin/users?q=%FF', $admin), 400,
    'q must be at most 100 characters of valid UTF-8', 'q not UTF-8');
err(api($n, GET => '/api/admin/users?q=' . ('a' x 101), $admin), 400,
    'q must be at most 100 characters of valid UTF-8', 'q too long');
err(api($n, GET => '/api/admin/users?limit=101', $admin), 400,
    'limit must be an integer from 1 to 100', 'bad limit');

# --- roles -------------------------------------------------------------------

$r = api($n, PATCH => "/api/admin/users/$user->{id}", $admin,
         { role => 'moderator' });
is $r->{status}, 200, 'make a user a global moderator' or diag $r->{body};
is_deeply $r->{json}, { success => JSON::PP::true,
                        user => { id => $user->{id}, username => $user->{name},
                                  role => 'moderator' } }, 'answer';
is sql("SELECT role FROM users WHERE id = $user->{id}"), 'moderator',
   'stored';
like me($user->{cookie})->{body}, qr/"role":"moderator"/,
     'the user\'s session sees the new role at once';
is api($n, GET => "/api/moderation/$streamer->{channel_id}/bans", $user)
       ->{status}, 200, 'and has global moderator rights';
is sql("SELECT metadata->>'from' || '>' || (metadata->>'to') FROM audit_log"
       . " WHERE action = 'user.role_change' AND target_id = '$user->{id}'"
       . " AND actor_id = $admin->{id}"), 'user>moderator', 'audited';

is api($n, PATCH => "/api/admin/users/$user->{id}", $admin,
       { role => 'user' })->{status}, 200, 'and back';

err(api($n, PATCH => "/api/admin/users/$user->{id}", $admin,
        { role => 'root' }), 400, 'role must be user, moderator or admin',
    'an unknown role');
err(api($n, PATCH => "/api/admin/users/$user->{id}", $admin, {}), 400,
    'role is required', 'no role');
err(api($n, PATCH => "/api/admin/users/$admin->{id}", $admin,
        { role => 'user' }), 400, 'Cannot change your own role',
    'an admin demoting themselves');
err(api($n, PATCH => '/api/admin/users/999999999', $admin,
        { role => 'user' }), 404, 'User not found', 'an unknown user');
err(api($n, PATCH => '/api/admin/users/bob', $admin, { role => 'user' }),
    400, 'userId must be a positive integer', 'a bad user id');

# --- suspension --------------------------------------------------------------

my $second = login($n, $victim->{name});
is me($victim->{cookie})->{status}, 200, 'the victim has a session';
is me($second)->{status}, 200, 'and a second one';

is api($n, POST => '/api/streams/start', $victim, {})->{status}, 200,
   'and is live';
my $vch = $victim->{channel_id};

err(api($n, POST => "/api/admin/users/$admin->{id}/suspend", $admin, {}),
    400, 'Cannot suspend yourself', 'an admin suspending themselves');
err(api($n, POST => '/api/admin/users/999999999/suspend', $admin, {}),
    404, 'User not found', 'suspending an unknown user');
err(api($n, POST => "/api/admin/users/$victim->{id}/suspend", $admin,
        { reason => 5 }), 400, 'reason must be a string', 'a bad reason');
is_deeply [events()], [], 'nothing published yet';

$r = api($n, POST => "/api/admin/users/$victim->{id}/suspend", $admin,
         { reason => 'terms of service' });
is $r->{status}, 200, 'suspend' or diag $r->{body};
is $r->{json}{user}{id}, $victim->{id}, 'user.id';
is $r->{json}{user}{suspended}, JSON::PP::true, 'user.suspended';
like $r->{json}{user}{suspendedAt}, $iso, 'user.suspendedAt';

is_deeply [events()],
          ['{"type":"user_suspended","userId":' . $victim->{id}
           . ',"username":"' . $victim->{name} . '","channelId":' . $vch
           . ',"reason":"terms of service"}'],
          'user_suspended on "admin", exactly';

my $m = me($victim->{cookie});
ok $m->{status} == 401 || $m->{status} == 403,
   'the session stopped working at once' or diag $m->{body};
$m = me($second);
ok $m->{status} == 401 || $m->{status} == 403, 'so did the second one';
is sql("SELECT count(*) FROM users WHERE id = $victim->{id}"
       . " AND suspended_at IS NOT NULL"), '1', 'suspended_at is set';

my $redis = Twitch::Test::Redis->new;
is $redis->command('EXISTS', "user_sessions:$victim->{id}"), 0,
   'the session set is gone';
is $redis->command('EXISTS', "session:$second"), 0, 'and the sessions';

$r = api($n, POST => '/api/auth/login', undef,
         { username => $victim->{name}, password => 'demo1234' });
is $r->{status}, 403, 'login is refused';
is $r->{body}, '{"error":"Account suspended"}', 'Account suspended';
ok !defined $r->{headers}{'set-cookie'}, 'and no session';

is sql("SELECT is_live || '|' || current_viewers FROM channels"
       . " WHERE id = $vch"), 'false|0', 'the channel went offline';
is sql("SELECT end_reason FROM streams WHERE channel_id = $vch"),
   'admin', 'the broadcast ended with end_reason admin';
is sql("SELECT reason FROM audit_log WHERE action = 'user.suspend'"
       . " AND target_id = '$victim->{id}'"), 'terms of service', 'audited';

my $when = sql("SELECT suspended_at FROM users WHERE id = $victim->{id}");
$r = api($n, POST => "/api/admin/users/$victim->{id}/suspend", $admin, {});
is $r->{status}, 200, 'suspending again is fine';
is sql("SELECT suspended_at FROM users WHERE id = $victim->{id}"), $when,
   'and keeps the first time';
events();

# a suspension written elsewhere (not through this API) also ends the
# sessions of the user at their next request
my $c = login($n, $streamer->{name});
is me($c)->{status}, 200, 'a session';
sql("UPDATE users SET suspended_at = now() WHERE id = $streamer->{id}");
$r = me($c);
is $r->{status}, 403, 'a suspended user\'s session answers 403 at once';
is $r->{body}, '{"error":"Account suspended"}', 'Account suspended';
is me($c)->{status}, 401, 'then it is gone';
sql("UPDATE users SET suspended_at = NULL WHERE id = $streamer->{id}");
$streamer->{cookie} = login($n, $streamer->{name});

# --- lifting -----------------------------------------------------------------

$r = api($n, DELETE => "/api/admin/users/$victim->{id}/suspend", $admin);
is $r->{status}, 200, 'lift the suspension' or diag $r->{body};
is_deeply $r->{json}{user}, { id => $victim->{id},
                              username => $victim->{name},
                              suspended => JSON::PP::false,
                              suspendedAt => undef }, 'answer';
is sql("SELECT suspended_at IS NULL FROM users WHERE id = $victim->{id}"),
   't', 'stored';
$c = eval { login($n, $victim->{name}) };
ok defined $c, 'the user logs in again';
is me($c)->{status}, 200, 'with a working session';
is api($n, DELETE => "/api/admin/users/$victim->{id}/suspend", $admin)
       ->{status}, 200, 'lifting again is fine';
err(api($n, DELETE => '/api/admin/users/999999999/suspend', $admin), 404,
    'User not found', 'lifting for an unknown user');
is sql("SELECT count(*) FROM audit_log WHERE action = 'user.unsuspend'"
       . " AND target_id = '$victim->{id}'"), '1',
   'one audit row (nothing to lift the second time)';

# --- ending a broadcast ------------------------------------------------------

my $sch = $streamer->{channel_id};
err(api($n, POST => "/api/admin/streams/$sch/end", $admin), 404,
    'No active stream found', 'nothing to end');
err(api($n, POST => '/api/admin/streams/999999999/end', $admin), 404,
    'Channel not found', 'an unknown channel');
err(api($n, POST => '/api/admin/streams/x1/end', $admin), 400,
    'channelId must be a positive integer', 'a bad channel id');
is_deeply [events()], [], 'nothing published';

$r = api($n, POST => '/api/streams/start', $streamer, { title => 'live' });
is $r->{status}, 200, 'the streamer goes live';
my $sid = $r->{json}{streamId};

$r = api($n, POST => "/api/admin/streams/$sch/end", $admin);
is $r->{status}, 200, 'an admin ends the broadcast' or diag $r->{body};
is $r->{json}{streamId}, $sid, 'streamId';
like $r->{json}{endedAt}, $iso, 'endedAt';
is_deeply [events()],
          ['{"type":"stream_end_requested","channelId":' . $sch
           . ',"streamId":' . $sid . '}'],
          'stream_end_requested on "admin"';
is sql("SELECT end_reason FROM streams WHERE id = $sid"), 'admin',
   'end_reason admin';
is sql("SELECT is_live || '|' || current_viewers FROM channels"
       . " WHERE id = $sch"), 'false|0', 'the channel is offline';
err(api($n, POST => "/api/admin/streams/$sch/end", $admin), 404,
    'No active stream found', 'ending again');
is sql("SELECT count(*) FROM audit_log WHERE action = 'stream.end'"
       . " AND channel_id = $sch AND actor_id = $admin->{id}"), '1',
   'audited';
is api($n, POST => '/api/streams/start', $streamer, {})->{status}, 200,
   'the streamer can start again';

$sub->disconnect;
$redis->disconnect;
$n->stop;

done_testing;
