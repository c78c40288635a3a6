-- Documents: one row per document, one per version. Content lives in the blob store, encrypted
-- (see server/src/vault); the database holds the metadata, the wrapped data key of each version
-- and the review trail.
--
-- Who sees what, enforced here as well as in server/src/documents:
--   - firm users on the matter see every document and every version, whatever its state;
--   - client users see only published versions, and only of documents whose category their scopes
--     reach: the documents scope for every category, or the invoices scope (finance users) for
--     financial documents only;
--   - nobody sees a version before its content has been stored and scanned: rows are written only
--     after a clean scan, in the same transaction as the audit row and the channel event.

-- Four-eyes review: when set, a version must be published by someone other than its submitter.
alter table practice_area add column review_four_eyes boolean not null default false;
comment on column practice_area.review_four_eyes is
    'Publishing needs a second person: the reviewer may not be the one who submitted the version.';

create table document (
    document_id        uuid primary key,
    matter_id          uuid not null constraint document_matter_fkey references matter on delete cascade,
    title              text not null constraint document_title_check check (length(title) between 1 and 300),
    category           text not null constraint document_category_check check (category in
        ('correspondence', 'contracts', 'court_documents', 'financial', 'identity_verification', 'other')),
    -- The newest published version's number; null until one is published. Client visibility
    -- follows from it without this table's policy reading document_version (no policy cycle).
    published_number   int,
    -- The firm's document-management system's id, when the DMS pushed it: the portal mirrors the
    -- DMS rather than duplicating its documents.
    external_id        text constraint document_external_id_check check (length(external_id) between 1 and 200),
    created_by         uuid not null constraint document_created_by_fkey references user_account,
    created_at         timestamptz not null default now(),
    constraint document_external_key unique (matter_id, external_id)
);
comment on table document is 'A document on a matter; its content is in its versions.';
create index document_matter_idx on document (matter_id, category);

create table document_version (
    version_id        uuid primary key,
    document_id       uuid not null constraint document_version_document_fkey references document on delete cascade,
    -- Denormalised from document for the policies and the review queue.
    matter_id         uuid not null constraint document_version_matter_fkey references matter on delete cascade,
    number            int not null constraint document_version_number_check check (number >= 1),
    state             text not null constraint document_version_state_check
        check (state in ('internal', 'pending_review', 'published')),
    origin            text not null constraint document_version_origin_check check (origin in ('firm', 'client', 'dms')),
    -- The DMS's version number, with document.external_id the idempotency key of a DMS push.
    external_version  int,
    -- Sanitised; display only, never a storage path.
    filename          text not null constraint document_version_filename_check check (length(filename) between 1 and 255),
    -- The kind detected from the content (server/src/intake), and its media type.
    file_kind         text not null,
    media_type        text not null,
    size_bytes        bigint not null constraint document_version_size_check check (size_bytes > 0),
    sha256            bytea not null constraint document_version_sha256_check check (length(sha256) = 32),
    -- Where the ciphertext is (ids only) and the version's data key, wrapped by the matter key.
    blob_key          text not null,
    wrapped_data_key  bytea not null,
    uploaded_by       uuid not null constraint document_version_uploaded_by_fkey references user_account,
    uploaded_at       timestamptz not null,
    submitted_by      uuid constraint document_version_submitted_by_fkey references user_account,
    submitted_at      timestamptz,
    reviewed_by       uuid constraint document_version_reviewed_by_fkey references user_account,
    reviewed_at       timestamptz,
    sent_back_reason  text constraint document_version_reason_check check (length(sent_back_reason) between 1 and 2000),
    published_at      timestamptz,
    constraint document_version_number_key unique (document_id, number),
    constraint document_version_external_key unique (document_id, external_version),
    constraint document_version_published_check check ((state = 'published') = (published_at is not null))
);
comment on table document_version is 'One version of a document: encrypted content reference, state and review trail.';
create index document_version_review_idx on document_version (matter_id) where state = 'pending_review';

-- Whether the acting user is a client user who may see a document of this category on this
-- matter once published.
create function docket_client_sees_category(p_matter uuid, p_category text) returns boolean
    language sql stable security definer set search_path = public, pg_temp
as $$
    select 'documents' = any(s) or (p_category = 'financial' and 'invoices' = any(s))
    from docket_matter_scopes(p_matter) as s
$$;
comment on function docket_client_sees_category(uuid, text) is
    'Client users: documents scope sees every category, invoices scope (finance) financial documents only.';

alter table document enable row level security;
alter table document force row level security;
create policy document_select on document for select
    using (case when docket_actor_firm_role() is not null
                then cardinality(docket_matter_scopes(matter_id)) > 0
                else published_number is not null and docket_client_sees_category(matter_id, category)
           end);
-- Firm users on the matter add documents; client users add them to matters whose documents they
-- see (their uploads), always as themselves.
create policy document_insert on document for insert
    with check (created_by = docket_actor() and 'documents' = any(docket_matter_scopes(matter_id)));
-- A client's upload is inserted already published (it is shared by the act of uploading), so
-- only the firm ever updates a document.
create policy document_update on document for update
    using (docket_actor_firm_role() is not null and 'documents' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_firm_role() is not null);

alter table document_version enable row level security;
alter table document_version force row level security;
create policy document_version_select on document_version for select
    using (case when docket_actor_firm_role() is not null
                then cardinality(docket_matter_scopes(matter_id)) > 0
                -- The document's own policy decides the category; this one the state.
                else state = 'published'
                     and exists (select 1 from document d where d.document_id = document_version.document_id)
           end);
create policy document_version_insert on document_version for insert
    with check (uploaded_by = docket_actor()
                and 'documents' = any(docket_matter_scopes(matter_id))
                and (origin = 'client') = (docket_actor_firm_role() is null));
-- State changes (submit, publish, send back) are the firm's.
create policy document_version_update on document_version for update
    using (docket_actor_firm_role() is not null and 'documents' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_firm_role() is not null);

-- Document cards in the channel: uploads by clients join the published cards.
alter table channel_event drop constraint channel_event_kind_check;
alter table channel_event add constraint channel_event_kind_check
    check (kind in ('message', 'edit', 'delete', 'system', 'document_published', 'document_uploaded',
                    'milestone', 'invoice', 'payment', 'mls'));

grant select, insert on document to docket_app;
grant update (published_number, title) on document to docket_app;
grant select, insert on document_version to docket_app;
grant update (state, submitted_by, submitted_at, reviewed_by, reviewed_at, sent_back_reason, published_at)
    on document_version to docket_app;
grant execute on function docket_client_sees_category(uuid, text) to docket_app;

-- Fee earners are alerted when a client uploads a document on their matter.
alter table user_alert drop constraint user_alert_kind_check;
alter table user_alert add constraint user_alert_kind_check check (kind in ('new_device', 'client_upload'));
