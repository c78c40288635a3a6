-- Milestones: each practice area's template, and each matter's own client-facing timeline.
--
-- A template is firm configuration (like practice_area itself): it names no client and no matter,
-- so it carries no RLS; only firm admins change it (checked in server/src/milestones). A matter
-- starts with a copy of its area's template (server/src/matters.rs insert_matter), which the fee
-- earner then adjusts: the copy is client data and is isolated like the channel.
--
-- Who sees what, enforced here as well as in server/src/milestones:
--   - firm users on the matter see and change every milestone;
--   - client users see the milestones only with the milestones scope, and change nothing.

create table milestone_template_item (
    practice_area_id uuid not null
        constraint milestone_template_item_practice_area_fkey references practice_area on delete cascade,
    -- 1, 2, … in timeline order.
    position         int not null constraint milestone_template_item_position_check check (position >= 1),
    -- In the client's language: "Contract drafted and sent for review", never "WIP stage 3".
    title            text not null constraint milestone_template_item_title_check check (length(title) between 1 and 200),
    note             text constraint milestone_template_item_note_check check (length(note) between 1 and 1000),
    client_action    text constraint milestone_template_item_client_action_check
        check (length(client_action) between 1 and 1000),
    constraint milestone_template_item_pkey primary key (practice_area_id, position)
);
comment on table milestone_template_item is
    'One step of a practice area''s milestone template; new matters of the area start with a copy.';
comment on column milestone_template_item.practice_area_id is 'The practice area whose template this is.';
comment on column milestone_template_item.position is '1, 2, … in timeline order.';
comment on column milestone_template_item.title is 'Client-facing title of the step.';
comment on column milestone_template_item.note is 'Optional client-facing explanation.';
comment on column milestone_template_item.client_action is
    'What the client must do at this step, if anything ("Please sign and return the contract").';

create table matter_milestone (
    milestone_id  uuid primary key,
    matter_id     uuid not null constraint matter_milestone_matter_fkey references matter on delete cascade,
    position      int not null constraint matter_milestone_position_check check (position >= 1),
    title         text not null constraint matter_milestone_title_check check (length(title) between 1 and 200),
    note          text constraint matter_milestone_note_check check (length(note) between 1 and 1000),
    status        text not null default 'upcoming' constraint matter_milestone_status_check
        check (status in ('upcoming', 'in_progress', 'done', 'skipped')),
    expected_on   date,
    completed_on  date,
    client_action text constraint matter_milestone_client_action_check check (length(client_action) between 1 and 1000),
    updated_at    timestamptz not null default now(),
    updated_by    uuid constraint matter_milestone_updated_by_fkey references user_account,
    -- Deferred: inserting or removing a milestone shifts the positions after it in one statement.
    constraint matter_milestone_position_key unique (matter_id, position) deferrable initially deferred
);
comment on table matter_milestone is
    'One step of a matter''s client-facing timeline: the matter''s own copy of its area''s template, as adjusted.';
comment on column matter_milestone.milestone_id is 'The milestone''s id (UUIDv7 from the server; v4 for copies made here).';
comment on column matter_milestone.matter_id is 'The matter whose timeline this is.';
comment on column matter_milestone.position is '1, 2, … in timeline order, without gaps.';
comment on column matter_milestone.title is 'Client-facing title ("Contract drafted and sent for review").';
comment on column matter_milestone.note is 'Optional client-facing note.';
comment on column matter_milestone.status is 'upcoming, in_progress, done or skipped.';
comment on column matter_milestone.expected_on is 'When the firm expects the step to be reached.';
comment on column matter_milestone.completed_on is 'When it was done (set to the day it is marked done, unless given).';
comment on column matter_milestone.client_action is 'What the client must do, if anything; highlighted while not done.';
comment on column matter_milestone.updated_at is 'When it last changed.';
comment on column matter_milestone.updated_by is 'Who last changed it; null while it is as copied from the template.';

alter table matter_milestone enable row level security;
alter table matter_milestone force row level security;
-- Firm users on a matter hold every scope, so one rule serves both sides: the milestones scope.
create policy matter_milestone_select on matter_milestone for select
    using ('milestones' = any(docket_matter_scopes(matter_id)));
create policy matter_milestone_insert on matter_milestone for insert
    with check (docket_actor_firm_role() is not null and 'milestones' = any(docket_matter_scopes(matter_id)));
create policy matter_milestone_update on matter_milestone for update
    using (docket_actor_firm_role() is not null and 'milestones' = any(docket_matter_scopes(matter_id)))
    with check (docket_actor_firm_role() is not null and 'milestones' = any(docket_matter_scopes(matter_id)));
create policy matter_milestone_delete on matter_milestone for delete
    using (docket_actor_firm_role() is not null and 'milestones' = any(docket_matter_scopes(matter_id)));

-- The default template of a new practice area, by detail level: a step-by-step conveyancing path,
-- or four high-level stages. One definition for this migration and server/src/practice_areas.rs.
create function docket_default_milestones(p_detail_level text)
    returns table (step int, title text, note text, client_action text)
    language sql immutable set search_path = public, pg_temp
as $$
    select t.step, t.title, t.note, t.client_action
    from (values
        ('detailed', 1, 'We have your instructions and have checked your identity',
            'We need to confirm who you are before we can act for you.', 'Please send two forms of ID'),
        ('detailed', 2, 'Searches ordered',
            'We have asked the local authority and others for the searches on the property.', null),
        ('detailed', 3, 'Search results received',
            'The search results are back and we are reviewing them.', null),
        ('detailed', 4, 'Contract drafted and sent for review',
            'The draft contract has been sent to the other side''s solicitors.', null),
        ('detailed', 5, 'Questions to the other side answered',
            'We raise enquiries about the property and check the replies.', null),
        ('detailed', 6, 'Mortgage offer received',
            'Your lender has issued its mortgage offer.', 'Please send us a copy of your mortgage offer'),
        ('detailed', 7, 'Report on the property sent to you',
            'Our report explains what we found; we will go through it with you.',
            'Please sign and return the contract'),
        ('detailed', 8, 'Contracts exchanged',
            'Both sides are now legally committed and the completion date is fixed.',
            'Please arrange the deposit'),
        ('detailed', 9, 'Completion',
            'The money has been paid and the property is yours.', null),
        ('detailed', 10, 'Registered at the Land Registry',
            'We pay the tax due and register you as the owner.', null),
        ('high_level', 1, 'We have your instructions', null, null),
        ('high_level', 2, 'We are reviewing the documents', null, null),
        ('high_level', 3, 'We are negotiating the terms', null, null),
        ('high_level', 4, 'Completed', null, null)
    ) as t (detail_level, step, title, note, client_action)
    where t.detail_level = p_detail_level
    order by t.step
$$;
comment on function docket_default_milestones(text) is
    'The template a new practice area starts with: detailed (conveyancing path) or high_level (four stages).';

-- Existing practice areas get their default template, existing matters a copy of their area's.
insert into milestone_template_item (practice_area_id, position, title, note, client_action)
select pa.practice_area_id, d.step, d.title, d.note, d.client_action
from practice_area pa, docket_default_milestones(pa.detail_level) d;

insert into matter_milestone (milestone_id, matter_id, position, title, note, client_action)
select gen_random_uuid(), m.matter_id, t.position, t.title, t.note, t.client_action
from matter m join milestone_template_item t on t.practice_area_id = m.practice_area_id;

grant select, insert, delete on milestone_template_item to docket_app;
grant select, insert, delete on matter_milestone to docket_app;
grant update (position, title, note, status, expected_on, completed_on, client_action, updated_at, updated_by)
    on matter_milestone to docket_app;
