-- No matter's channel is end-to-end encrypted yet: the server stores every event where it can read
-- it, so a matter marked `e2ee` promised what was not true. Until MLS carries those channels the
-- database refuses the mark, and the matters that carried it become what they always were:
-- standard. Nothing about how their data was kept changes, only the claim.
--
-- `matter` forces row-level security even on its owner; the owner lifts that for this one update,
-- inside the migration's transaction, and puts it back.
alter table matter no force row level security;
update matter set sensitivity = 'standard' where sensitivity = 'e2ee';
alter table matter force row level security;

alter table matter drop constraint matter_sensitivity_check,
    add constraint matter_sensitivity_check check (sensitivity = 'standard');
comment on column matter.sensitivity is
    'Only ''standard'' until end-to-end encrypted channels exist: the server can read this channel.';
