-- Voiding an invoice: the billing system cancels a bill nobody has paid anything on. A void invoice
-- owes nothing; its total and credits stay for the record.
alter table invoice drop constraint invoice_balance_check;
alter table invoice add constraint invoice_balance_check check (
    (status = 'void' and balance_minor = 0 and paid_minor = 0)
    or (status <> 'void' and balance_minor = total_minor - credited_minor - paid_minor and balance_minor >= 0)
);
alter table invoice add column void_reason text
    constraint invoice_void_reason_check check (length(void_reason) between 1 and 500);
alter table invoice add constraint invoice_void_check check ((status = 'void') = (voided_at is not null));
grant update (void_reason) on invoice to docket_app;
