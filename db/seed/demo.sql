-- Demo data.  Applied by db/seed.sh in one transaction; every statement
-- skips rows that already exist, so running it again changes nothing.
--
-- Accounts (password "demo1234" for all, yescrypt hashes made with
-- libxcrypt's crypt(3), one random salt each):
--   shroud, pokimane, xqc, ninja  - streamers with a channel each
--   admin                         - role admin, no channel
-- No channel is live: live state comes from real ingest only.
-- follower_count / subscriber_count are not written here; the triggers
-- derive them from the followers / subscriptions rows below.
--
-- Images referenced (served by the web root, made elsewhere):
--   /categories/<slug>.svg, /emotes/<lower-case code>.svg


-- categories, in the original's order (ids 1..10 on a fresh database)
INSERT INTO categories (name, slug, image_url)
SELECT v.name, v.slug, '/categories/' || v.slug || '.svg'
  FROM (VALUES
        (1,  'Just Chatting',               'just-chatting'),
        (2,  'Fortnite',                    'fortnite'),
        (3,  'League of Legends',           'league-of-legends'),
        (4,  'Minecraft',                   'minecraft'),
        (5,  'Valorant',                    'valorant'),
        (6,  'Grand Theft Auto V',          'gtav'),
        (7,  'Counter-Strike 2',            'cs2'),
        (8,  'Music',                       'music'),
        (9,  'Art',                         'art'),
        (10, 'Software & Game Development', 'software-dev')
       ) AS v (ord, name, slug)
 ORDER BY v.ord
ON CONFLICT DO NOTHING;


-- global emotes
INSERT INTO emotes (channel_id, code, image_url, tier, is_global)
SELECT NULL, v.code, '/emotes/' || lower(v.code) || '.svg', 0, true
  FROM (VALUES
        (1,  'Kappa'),
        (2,  'PogChamp'),
        (3,  'LUL'),
        (4,  'KEKW'),
        (5,  'monkaS'),
        (6,  'PepeHands'),
        (7,  'FeelsGoodMan'),
        (8,  'FeelsBadMan'),
        (9,  'EZ'),
        (10, 'OMEGALUL')
       ) AS v (ord, code)
 ORDER BY v.ord
ON CONFLICT DO NOTHING;


-- users (ids 1..5 on a fresh database)
INSERT INTO users (username, email, password_hash, display_name, bio, role)
SELECT v.username, v.username || '@example.com', v.hash, v.display_name, v.bio, v.role
  FROM (VALUES
        (1, 'shroud',   'shroud',   'Professional gamer and streamer', 'user',
            '$y$j9T$HT4ORd5dGYPeWnXk$NqIEbxzgowbSQZGYUAStcGkVxW/KGxN9grJ/xIls/n0'),
        (2, 'pokimane', 'Pokimane', 'Content creator and gamer',       'user',
            '$y$j9T$mLS/jscCRzGrlwjF$3tc.8GENW0MXtTZm2BoWwLWy5CJD0bi/Y6zYFPpmvS8'),
        (3, 'xqc',      'xQc',      'Variety streamer',                'user',
            '$y$j9T$T9.EVEGblk24oIkt$6x32d01DYlsYmifqtLAAZLNIOAVJwxHkI.t3nEd7FyD'),
        (4, 'ninja',    'Ninja',    'Gaming and entertainment',        'user',
            '$y$j9T$IOVukbbwJkUlVjD/$TV8sVdCUOSUnWHmMNrikblQtWkqt6av97IH5bh7Lnk/'),
        (5, 'admin',    'Admin',    'Platform administrator',          'admin',
            '$y$j9T$ON2AK8PvZYkY68QF$218f/pGgbBBM/l8aKfqKQ2Br9aceDWTddJpZGCGGwl8')
       ) AS v (ord, username, display_name, bio, role, hash)
 ORDER BY v.ord
ON CONFLICT DO NOTHING;


-- channels (ids 1..4 on a fresh database); chat_settings rows come from
-- the channels_create_chat_settings trigger
INSERT INTO channels (user_id, name, stream_key, title, description, category_id, tags)
SELECT u.id, u.username, v.stream_key, v.title, v.description, c.id, v.tags
  FROM (VALUES
        (1, 'shroud',   'live_0d9643cc901e20f51fec3828b602aed7',
            'FPS Games with shroud',         'Aim, movement and the occasional clutch.',
            'cs2',           ARRAY['FPS', 'English']),
        (2, 'pokimane', 'live_bc807a545996e282cd6374a5636e5ebd',
            'Just Chatting with Poki',       'Chatting, games and good vibes.',
            'just-chatting', ARRAY['English', 'Chatting']),
        (3, 'xqc',      'live_bb39557917e9c3815c8fe2d1d6429f90',
            'xQc is LIVE - Variety Gaming',  'Variety: games, videos, reactions.',
            'just-chatting', ARRAY['English', 'Variety']),
        (4, 'ninja',    'live_57a296d4299cc4c2162862074b05a449',
            'Fortnite Champion',             'Fortnite at the highest level.',
            'fortnite',      ARRAY['Fortnite', 'English'])
       ) AS v (ord, username, stream_key, title, description, category_slug, tags)
  JOIN users u      ON lower(u.username) = v.username
  JOIN categories c ON c.slug = v.category_slug
 ORDER BY v.ord
ON CONFLICT DO NOTHING;


-- channel emotes (tiers 1..3 = minimum subscription tier)
INSERT INTO emotes (channel_id, code, image_url, tier, is_global)
SELECT ch.id, v.code, '/emotes/' || lower(v.code) || '.svg', v.tier, false
  FROM (VALUES
        (1, 'shroud',   'shroudHi',  1),
        (2, 'shroud',   'shroudAim', 2),
        (3, 'shroud',   'shroudGG',  3),
        (4, 'pokimane', 'pokiWave',  1),
        (5, 'pokimane', 'pokiLove',  2),
        (6, 'pokimane', 'pokiCozy',  3)
       ) AS v (ord, channel, code, tier)
  JOIN channels ch ON lower(ch.name) = v.channel
 ORDER BY v.ord
ON CONFLICT DO NOTHING;


-- follows (channels.follower_count follows from these rows:
-- shroud 3, pokimane 3, xqc 3, ninja 2)
INSERT INTO followers (user_id, channel_id, followed_at)
SELECT u.id, ch.id, now() - v.age
  FROM (VALUES
        ('shroud',   'xqc',      interval '200 days'),
        ('shroud',   'ninja',    interval '400 days'),
        ('pokimane', 'shroud',   interval '300 days'),
        ('pokimane', 'xqc',      interval '90 days'),
        ('xqc',      'pokimane', interval '120 days'),
        ('ninja',    'shroud',   interval '500 days'),
        ('ninja',    'pokimane', interval '60 days'),
        ('admin',    'shroud',   interval '30 days'),
        ('admin',    'pokimane', interval '30 days'),
        ('admin',    'xqc',      interval '30 days'),
        ('admin',    'ninja',    interval '30 days')
       ) AS v (follower, channel, age)
  JOIN users u     ON lower(u.username) = v.follower
  JOIN channels ch ON lower(ch.name) = v.channel
ON CONFLICT DO NOTHING;


-- subscriptions, active for 30 days from seeding (subscriber_count:
-- shroud 1, pokimane 1, xqc 1, ninja 0)
INSERT INTO subscriptions (user_id, channel_id, tier, is_gift, gifted_by)
SELECT u.id, ch.id, v.tier, g.id IS NOT NULL, g.id
  FROM (VALUES
        ('xqc',   'pokimane', 1, NULL),
        ('ninja', 'shroud',   2, NULL),
        ('admin', 'xqc',      1, 'pokimane')
       ) AS v (subscriber, channel, tier, gifter)
  JOIN users u     ON lower(u.username) = v.subscriber
  JOIN channels ch ON lower(ch.name) = v.channel
  LEFT JOIN users g ON lower(g.username) = v.gifter
ON CONFLICT DO NOTHING;


-- channel roles: xqc moderates pokimane's chat, ninja is a VIP at shroud's
INSERT INTO channel_moderators (channel_id, user_id, added_by)
SELECT ch.id, u.id, ch.user_id
  FROM channels ch
  JOIN users u ON lower(u.username) = 'xqc'
 WHERE lower(ch.name) = 'pokimane'
ON CONFLICT DO NOTHING;

INSERT INTO channel_vips (channel_id, user_id, added_by)
SELECT ch.id, u.id, ch.user_id
  FROM channels ch
  JOIN users u ON lower(u.username) = 'ninja'
 WHERE lower(ch.name) = 'shroud'
ON CONFLICT DO NOTHING;
