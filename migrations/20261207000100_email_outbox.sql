-- E-mail joins the outbox's consumers: a security notice is written with the change that causes
-- it and sent by a dispatcher once it committed (at least once; a node that dies mid-send leaves the
-- row to another).
alter table outbox drop constraint outbox_consumer_check;
alter table outbox add constraint outbox_consumer_check check (consumer in ('live', 'email'));
comment on column outbox.consumer is
    'Who delivers it: live (sockets on every node) or email (the mail transport, dispatchers only).';
