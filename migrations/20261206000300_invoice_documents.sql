-- Bills as documents, and each service account's documents narrowed to what its scopes imply.
--
-- The billing system attaches an invoice's PDF as a `financial` document, published at once. A
-- service account is on the firm's side of a document (it sees it before publication) but only for
-- the documents its matter scopes reach, as a client's scopes would: the DMS (documents) every
-- category, the billing system (invoices) financial documents only. Firm users are unchanged.

drop policy document_select on document;
create policy document_select on document for select
    using (case when docket_actor_firm_role() is not null
                    then cardinality(docket_matter_scopes(matter_id)) > 0
                when cardinality(docket_actor_service_scopes()) > 0
                    then docket_client_sees_category(matter_id, category)
                else published_number is not null and docket_client_sees_category(matter_id, category)
           end);

-- The billing system adds financial documents; everyone else as before (documents scope).
drop policy document_insert on document;
create policy document_insert on document for insert
    with check (created_by = docket_actor()
                and ('documents' = any(docket_matter_scopes(matter_id))
                     or (category = 'financial' and docket_actor_bills()
                         and 'invoices' = any(docket_matter_scopes(matter_id)))));

drop policy document_update on document;
create policy document_update on document for update
    using (docket_actor_firm_side()
           and ('documents' = any(docket_matter_scopes(matter_id))
                or (category = 'financial' and docket_actor_bills()
                    and 'invoices' = any(docket_matter_scopes(matter_id)))))
    with check (docket_actor_firm_side());

-- Versions: a service sees the versions of the documents it sees (the document's policy decides).
drop policy document_version_select on document_version;
create policy document_version_select on document_version for select
    using (case when docket_actor_firm_role() is not null
                    then cardinality(docket_matter_scopes(matter_id)) > 0
                when cardinality(docket_actor_service_scopes()) > 0
                    then exists (select 1 from document d where d.document_id = document_version.document_id)
                else state = 'published'
                     and exists (select 1 from document d where d.document_id = document_version.document_id)
           end);

drop policy document_version_insert on document_version;
create policy document_version_insert on document_version for insert
    with check (uploaded_by = docket_actor()
                and ('documents' = any(docket_matter_scopes(matter_id))
                     or (docket_actor_bills() and 'invoices' = any(docket_matter_scopes(matter_id))
                         and exists (select 1 from document d
                                     where d.document_id = document_version.document_id
                                       and d.category = 'financial')))
                and (origin = 'client') = not docket_actor_firm_side()
                and (origin <> 'dms' or 'dms' = any(docket_actor_service_scopes())));
