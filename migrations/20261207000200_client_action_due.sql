-- What the client must do now: a fee earner may mark a step's client action as needed now, ahead of
-- its step (e.g. "arrange the deposit" weeks before exchange). Otherwise only the current step's
-- action is needed now; later ones are coming up.
alter table matter_milestone add column client_action_due boolean not null default false;
comment on column matter_milestone.client_action_due is
    'The fee earner marked the client action as needed now, ahead of its step.';
grant update (client_action_due) on matter_milestone to docket_app;
