# The chat's JSON protocol and identity: who a connection is comes from
# the session cookie at the upgrade (never from what the client claims);
# guests read but cannot send; auth, join, leave, chat and their errors;
# the join history (last 50, oldest first, same shape as live messages);
# the chat message's shape, /me, lengths in code points; emotes found
# server-side with their tier rules; badges.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use Twitch::Test qw(require_platform wait_until);
use Twitch::Test::Chat qw(chat_server client sql redis make_user session
                          frame json_encode);

require_platform();

my $n = chat_server(workers => 2, config => <<'_EOC_');
    location = /ws/fast {
        twitch_chat;
        twitch_chat_ping_interval 1s;
    }
_EOC_
$n->start;

my $p = 't41';
my ($owner, $ch) = make_user("${p}_owner", channel => 1);
my $fan = make_user("${p}_fan");
my $sub1 = make_user("${p}_sub1");
my $sub3 = make_user("${p}_sub3");
my $mod = make_user("${p}_mod");
my $vip = make_user("${p}_vip");
my $admin = make_user("${p}_admin", role => 'admin');
my $gmod = make_user("${p}_gmod", role => 'moderator');
my $gone = make_user("${p}_suspended");
my @talk = map { make_user("${p}_talk$_") } 1 .. 3;

sql("UPDATE users SET suspended_at = now() WHERE id = $gone");
sql("INSERT INTO channel_moderators (channel_id, user_id) VALUES ($ch, $mod)"
    . " ON CONFLICT DO NOTHING");
sql("INSERT INTO channel_vips (channel_id, user_id) VALUES ($ch, $vip)"
    . " ON CONFLICT DO NOTHING");
sql("INSERT INTO subscriptions (user_id, channel_id, tier, started_at,"
    . " expires_at) VALUES ($sub1, $ch, 1, now() - interval '65 days',"
    . " now() + interval '10 days'), ($sub3, $ch, 3, now(),"
    . " now() + interval '30 days') ON CONFLICT DO NOTHING");
for my $e (['t41One', 1], ['t41Two', 2], ['t41Three', 3], ['t41Free', 0]) {
    sql("INSERT INTO emotes (channel_id, code, image_url, tier)"
        . " VALUES ($ch, '$e->[0]', '/e.svg', $e->[1])"
        . " ON CONFLICT DO NOTHING");
}

# ---- identity ------------------------------------------------------------

my $g = client($n);
my $id = $g->{identity};
ok $id, 'a connection without a cookie is answered';
is $id->{userId}, undef, 'guest: userId null';
ok $id->{isGuest}, 'guest: isGuest';
like $id->{username}, qr/^Guest_[a-z0-9]{6}$/, 'guest: Guest_xxxxxx';

my $c = client($n, user => $owner, auth => 0);
$c->json({ type => 'auth', userId => $admin, username => 'admin' });
$id = $c->wait_type('auth_success');
is $id->{userId}, $owner, 'the session decides who it is, not the client';
is $id->{username}, "${p}_owner", 'with its username';
is $id->{displayName}, "\u${p}_owner", 'display name';
is $id->{role}, 'user', 'and role';
ok !exists $id->{isGuest}, 'not a guest';

$c = client($n, cookie => 'session=' . ('x' x 43));
ok $c->{identity}{isGuest}, 'an unknown session: guest';

$c = client($n, cookie => 'session=%00%27;');
ok $c->{identity}{isGuest}, 'a malformed cookie: guest';

$c = client($n, user => $gone);
ok $c->{identity}{isGuest}, 'a suspended account: guest';

{
    my $r = $n->request(POST => '/api/auth/login',
                        headers => { 'Content-Type' => 'application/json' },
                        body => '{"username":"pokimane",'
                                . '"password":"demo1234"}');
    my ($cookie) = ($r->{headers}{'set-cookie'} // '') =~ /^(session=[^;]+)/;
    ok $cookie, 'a real login';
    $c = client($n, cookie => $cookie);
    is $c->{identity}{username}, 'pokimane',
       'its session cookie is the chat identity';
}

{
    # the session is checked again every two ping intervals
    my $cookie = session($fan);
    my $sc = client($n, cookie => $cookie, path => '/ws/fast');
    is $sc->{identity}{userId}, $fan, 'signed in';
    ok !defined $sc->recv_text(2.5), 'the session still holds: open';
    ok !defined $sc->{close_code}, 'no close yet';

    redis('DEL', 'session:' . substr($cookie, length 'session='));
    ok !defined $sc->recv_text(5), 'the user logged out elsewhere ...';
    is $sc->{close_code}, 1008, '... the socket is closed with 1008';
}

# ---- messages and their errors ---------------------------------------------

$c = client($n, user => $fan);

sub error_of {
    my ($cl, $msg) = @_;
    $cl->json($msg);
    return $cl->wait_type('error', 3);
}

my $e = error_of($c, '{"type":');
is $e->{code}, 'invalid_message', 'bad JSON: invalid_message';
is $e->{message}, 'Invalid message format', 'with a readable text';
is error_of($c, '[1,2]')->{code}, 'invalid_message', 'an array';
is error_of($c, '{"type":"dance"}')->{code}, 'unknown_type', 'unknown type';
is error_of($c, '{"type":"join"}')->{code}, 'invalid_message',
   'join without channelId';
is error_of($c, '{"type":"join","channelId":"abc"}')->{code},
   'invalid_message', 'join with a bad channelId';
is error_of($c, '{"type":"join","channelId":-1}')->{code},
   'invalid_message', 'join with a negative channelId';

$e = error_of($c, { type => 'join', channelId => 987654321 });
is $e->{code}, 'unknown_channel', 'an unknown channel';
is $e->{channelId}, 987654321, 'names the channel';

$e = error_of($c, { type => 'chat', channelId => $ch + 0, text => 'hi' });
is $e->{code}, 'not_joined', 'chat before join: not_joined';

my $j = $c->join_room($ch);
ok $j, 'join answers joined';
is $j->{channelId}, $ch, 'joined: channelId';
is ref $j->{recentMessages}, 'ARRAY', 'joined: recentMessages';
cmp_ok $j->{viewerCount}, '>=', 1, 'joined: viewerCount';
my $no = JSON::PP::false;
is_deeply $j->{settings}, { slowModeSeconds => 0, followersOnly => $no,
                            followersOnlyMinutes => 0,
                            subscribersOnly => $no, emoteOnly => $no,
                            uniqueChat => $no },
          'joined: the room modes';
is_deeply $j->{badges}, [], 'joined: the user\'s badges';

is error_of($c, { type => 'join', channelId => $ch + 0 })->{code},
   'already_joined', 'joining twice';

$c->json({ type => 'leave', channelId => $ch + 0 });
is $c->wait_type('left')->{channelId}, $ch, 'leave answers left';
is error_of($c, { type => 'chat', channelId => $ch + 0, text => 'x' })->{code},
   'not_joined', 'chat after leave: not_joined';
$c->json({ type => 'leave', channelId => $ch + 0 });
ok $c->wait_type('left'), 'leaving again is harmless';

my @ch6 = (1, 2, 3, 4, $ch, (make_user("${p}_six", channel => 1))[1]);
$c->join_room($_) for @ch6[0 .. 4];
is error_of($c, { type => 'join', channelId => $ch6[5] + 0 })->{code},
   'too_many_rooms', 'at most 5 rooms per connection';
$c->json({ type => 'leave', channelId => $_ }) for @ch6[0 .. 3];
$c->wait_type('left') for 1 .. 4;

$c->json('{"type":"ping"}');
ok $c->wait_type('pong'), 'a JSON ping is answered';

# ---- guests read, users chat -----------------------------------------------

$g->join_room($ch);
$e = error_of($g, { type => 'chat', channelId => $ch + 0, text => 'hello' });
is $e->{code}, 'not_authenticated', 'a guest cannot send';
is $e->{message}, 'Log in to chat', 'readable';

my $t0 = time * 1000;
my $m = $c->say_and_wait($ch, 'hello from the fan');
is $m->{type}, 'chat', 'a user can chat';
like $m->{id}, qr/^[1-9][0-9]*$/, 'chat: a string id';
is $m->{channelId}, $ch, 'chat: channelId';
is $m->{userId}, $fan, 'chat: userId';
is $m->{username}, "${p}_fan", 'chat: username';
is $m->{displayName}, "\u${p}_fan", 'chat: displayName';
is $m->{message}, 'hello from the fan', 'chat: message';
ok !$m->{action}, 'chat: action false';
is_deeply $m->{badges}, [], 'chat: badges';
is_deeply $m->{emotes}, [], 'chat: emotes';
cmp_ok abs($m->{timestamp} - $t0), '<', 5000, 'chat: timestamp in ms';

my $gm = $g->wait_type('chat', 3, id => $m->{id});
is_deeply $gm, $m, 'the guest reads the same message';

$m = $c->say_and_wait($ch, '/me waves');
is $m->{message}, 'waves', '/me: the text without the command';
ok $m->{action}, '/me: action true';

{
    # what arrives while a message waits for PostgreSQL or Redis waits
    # its turn (in a buffer of the connection's own)
    my $q = client($n, user => make_user("${p}_queue"));
    $q->raw(join '', map { frame(1, json_encode($_)) }
            { type => 'join', channelId => $ch + 0 },
            map { { type => 'chat', channelId => $ch + 0,
                    text => "queued $_" } } 1 .. 3);
    ok $q->wait_type('joined'), 'a join and three messages in one write';
    my @q = map { my $v = $q->wait_type('chat', 5); $v ? $v->{message} : '' }
            1 .. 3;
    is_deeply \@q, [map { "queued $_" } 1 .. 3],
              'the three messages follow, in order';
    $q->close;
}

for my $bad (['   ', 'blank'], ["a\x01b", 'a control character'],
             ["line\nbreak", 'a newline'], ['/me   ', '/me alone'])
{
    $e = error_of($c, { type => 'chat', channelId => $ch + 0,
                        text => $bad->[0] });
    is $e->{code}, 'invalid_message', "refused: $bad->[1]";
}

$c->say($ch, '  trimmed  ');
$m = $c->wait_type('chat', 3, message => 'trimmed');
ok $m, 'spaces around are trimmed';

{
    my $emoji = "\x{1F600}";
    $e = error_of($c, { type => 'chat', channelId => $ch + 0,
                        text => $emoji x 501 });
    is $e->{code}, 'too_long', '501 code points: too_long';
    like $e->{message}, qr/500 characters/, 'says 500 characters';

    $m = $c->say_and_wait($ch, $emoji x 500);
    is $m && $m->{type}, 'chat', '500 code points (2000 bytes) are fine';
}

# ---- emotes ----------------------------------------------------------------

sub emotes_of {
    my ($cl, $text) = @_;
    my $r = $cl->say_and_wait($ch, $text);
    return undef unless $r && $r->{type} eq 'chat';
    return [map { [$_->{code}, $_->{start}, $_->{end}] } @{ $r->{emotes} }];
}

is_deeply emotes_of($c, 'Kappa hi PogChamp'),
          [['Kappa', 0, 5], ['PogChamp', 9, 17]],
          'global emotes, code point positions, end exclusive';
is_deeply emotes_of($c, "h\x{e9}llo \x{1F600} Kappa"),
          [['Kappa', 8, 13]], 'positions count code points, not bytes';
is_deeply emotes_of($c, 'Kappa, kappa xKappa KappaKappa'), [],
          'whole words only, case-sensitive';
is_deeply emotes_of($c, 't41Free t41One'), [['t41Free', 0, 7]],
          'a tier-0 channel emote for everyone; tier 1 needs a sub';

my $s1 = client($n, user => $sub1);
$s1->join_room($ch);
is_deeply emotes_of($s1, 't41One t41Two t41Free'),
          [['t41One', 0, 6], ['t41Free', 14, 21]],
          'a tier-1 subscriber: tier 1, not tier 2';

my $s3 = client($n, user => $sub3);
$s3->join_room($ch);
is_deeply emotes_of($s3, 't41Three t41One'),
          [['t41Three', 0, 8], ['t41One', 9, 15]],
          'a tier-3 subscriber: every tier';

my $o = client($n, user => $owner);
$o->join_room($ch);
is_deeply emotes_of($o, 't41Three Kappa'),
          [['t41Three', 0, 8], ['Kappa', 9, 14]],
          'the broadcaster has all of the channel\'s emotes';

# ---- badges ----------------------------------------------------------------

sub badges_of {
    my ($user, $text) = @_;
    my $cl = client($n, user => $user);
    my $jr = $cl->join_room($ch);
    my $r = $cl->say_and_wait($ch, $text);
    return [$jr->{badges}, $r->{badges}];
}

my $b = badges_of($owner, 'badge owner');
is_deeply $b->[1], [{ type => 'broadcaster' }], 'broadcaster badge';
is_deeply $b->[0], $b->[1], 'the same badges in joined';
is_deeply badges_of($mod, 'badge mod')->[1], [{ type => 'moderator' }],
          'moderator badge';
is_deeply badges_of($vip, 'badge vip')->[1], [{ type => 'vip' }],
          'vip badge';
is_deeply badges_of($sub1, 'badge sub')->[1],
          [{ type => 'subscriber', tier => 1, months => 3 }],
          'subscriber badge with tier and months';
is_deeply badges_of($admin, 'badge admin')->[1], [{ type => 'admin' }],
          'admin badge';
is_deeply badges_of($gmod, 'badge gmod')->[1], [{ type => 'moderator' }],
          'a global moderator has the moderator badge';

# ---- the join history ------------------------------------------------------

{
    my ($howner, $hch) = make_user("${p}_hist", channel => 1);
    redis('DEL', "chat:history:$hch");
    my @cl = map { my $x = client($n, user => $_); $x->join_room($hch); $x }
             @talk;

    my @sent;
    for my $i (1 .. 55) {
        my $who = $cl[int(($i - 1) / 20)];
        my $r = $who->say_and_wait($hch, "history line $i");
        push @sent, $r;
        sleep 0.08;
    }
    is scalar(grep { $_ && $_->{type} eq 'chat' } @sent), 55,
       '55 messages sent by three users';

    my $late = client($n, user => $fan);
    my $hj = $late->join_room($hch);
    my @h = @{ $hj->{recentMessages} };
    is scalar @h, 50, 'joined carries the last 50';
    is $h[0]{message}, 'history line 6', 'oldest first';
    is $h[-1]{message}, 'history line 55', 'newest last';
    is_deeply $h[-1], $sent[-1], 'the same shape as the live message';

    my $guest = client($n);
    is scalar @{ $guest->join_room($hch)->{recentMessages} }, 50,
       'guests get the history too';
}

$n->stop;

done_testing;
