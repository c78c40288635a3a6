-- One transaction of 50 rows (what a group-commit batch looks like).
insert into bench_event (matter_id, seq, body)
select gen_random_uuid(), g, '{"text": "1732838400000000", "reply_to": null}'::jsonb
from generate_series(1, 50) as g;
