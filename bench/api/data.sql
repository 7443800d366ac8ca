-- Benchmark data: 2000 streamers with channels, 300 of them live, spread
-- over the categories.  Applied to the benchmark's own database only.

INSERT INTO users (username, email, password_hash, display_name)
SELECT 'bench_' || g, 'bench_' || g || '@example.org',
       '$y$j9T$benchbenchbench$notarealhashnotarealhashnotarealhash1',
       'Bench Streamer ' || g
FROM generate_series(1, 2000) AS g
ON CONFLICT DO NOTHING;

INSERT INTO channels (user_id, name, title, category_id)
SELECT u.id, u.username, 'Bench stream of ' || u.username,
       (SELECT id FROM categories ORDER BY id
        OFFSET (u.id % 10) LIMIT 1)
FROM users u
WHERE u.username LIKE 'bench\_%'
ON CONFLICT DO NOTHING;

UPDATE channels
SET is_live = true,
    current_viewers = 10 + (id * 7919) % 50000
WHERE name LIKE 'bench\_%' AND (id % 20) < 3;

ANALYZE;
