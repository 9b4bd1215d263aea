INSERT INTO bench_insert (chat, body) VALUES (1, 'hello');
