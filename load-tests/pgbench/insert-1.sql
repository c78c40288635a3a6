-- One transaction per row (what one-commit-per-message looks like).
insert into bench_event (matter_id, seq, body)
values (gen_random_uuid(), 1, '{"text": "1732838400000000", "reply_to": null}'::jsonb);
