-- Per-matter keys for the document vault (server/src/vault). Each matter's key is wrapped
-- (XChaCha20-Poly1305) by the server's key-encryption key, which never reaches the database; each
-- document version's data key is in turn wrapped by the matter key. Destroying a matter key —
-- removing its wrapped bytes — makes every blob of the matter unreadable, in backups too.

create table matter_key (
    matter_id    uuid primary key constraint matter_key_matter_fkey references matter on delete cascade,
    -- A short, non-secret fingerprint of the key-encryption key that wrapped this key, so keys can
    -- rotate: a row whose key_id differs from the server's current one must be re-wrapped with the
    -- old key. 'none' on the tombstone of a matter destroyed before it ever had a key.
    key_id       text not null constraint matter_key_key_id_check check (length(key_id) between 1 and 64),
    -- The 32-byte matter key sealed under the KEK, bound to matter_id. Null once destroyed.
    wrapped      bytea,
    created_at   timestamptz not null default now(),
    -- When the key was destroyed (crypto-shredding). Irreversible: no new key is ever created for
    -- a matter whose key was destroyed.
    destroyed_at timestamptz,
    constraint matter_key_destroyed_check check ((wrapped is null) = (destroyed_at is not null))
);
comment on table matter_key is
    'Each matter''s document key, wrapped by the server''s key-encryption key; wiping it shreds the matter''s documents.';
comment on column matter_key.matter_id is 'The matter whose documents this key protects.';
comment on column matter_key.key_id is 'Fingerprint of the key-encryption key that wrapped the key (for rotation).';
comment on column matter_key.wrapped is 'The matter key sealed under the key-encryption key; null once destroyed.';
comment on column matter_key.created_at is 'When the key was created (on the matter''s first document).';
comment on column matter_key.destroyed_at is 'When the key was destroyed; the matter''s blobs are unreadable from then on.';

alter table matter_key enable row level security;
alter table matter_key force row level security;
-- Whoever may see any of the matter's documents may read its wrapped key (documents scope, or the
-- invoices scope for financial documents — hence any scope): it is useless without the KEK.
create policy matter_key_select on matter_key for select
    using (cardinality(docket_matter_scopes(matter_id)) > 0);
comment on policy matter_key_select on matter_key is
    'Readable by users who may see the matter; the wrapped key needs the KEK to open.';
-- The key is created on first use by a user who may see the matter; only live keys can be
-- inserted, so the runtime role cannot plant a tombstone either.
create policy matter_key_insert on matter_key for insert
    with check (cardinality(docket_matter_scopes(matter_id)) > 0
                and wrapped is not null and destroyed_at is null);
comment on policy matter_key_insert on matter_key is
    'A live key may be created for a matter the actor may see.';
-- No update or delete policy and no such grant: destroying a key is done by the owner role (the
-- retention and closure commands), never by a request of the runtime role.

grant select, insert on matter_key to docket_app;
