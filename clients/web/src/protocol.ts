// Generated from the Rust types in protocol/ by `make protocol-ts`. Do not edit by hand.

export const SUBPROTOCOL = "docket.v1";
export const MAX_FRAME_BYTES = 16384;
export const MAX_MESSAGE_CHARS = 8000;
export const MAX_UNREAD = 999;

export type UserId = string;

export type ClientId = string;

export type MatterId = string;

export type PracticeAreaId = string;

export type SessionId = string;

export type DeviceId = string;

export type InvitationId = string;

export type AlertId = string;

export type DocumentId = string;

export type VersionId = string;

export type MilestoneId = string;

export type Text = string;

export type ErrorCode = "invalid_input" | "malformed_json" | "payload_too_large" | "unauthenticated" | "session_expired" | "invalid_credentials" | "invalid_mfa_code" | "mfa_required" | "reauthentication_required" | "csrf_failed" | "forbidden" | "not_found" | "conflict" | "invitation_invalid" | "rate_limited" | "internal" | "unavailable" | "file_refused" | "invalid_signature";

export type ErrorBody = { 
/**
 * The stable code to branch on.
 */
code: ErrorCode, 
/**
 * A sentence for people; not stable.
 */
message: string, 
/**
 * For `file_refused`: the stable reason (`empty`, `executable`, `script`, `macro_enabled`,
 * `encrypted`, `archive`, `nested_archive`, `decompression_bomb`, `unknown_type`, `malware`).
 */
reason?: string, };

export type FirmRole = "admin" | "partner" | "fee_earner" | "staff";

export type ClientRole = "client_admin" | "member" | "finance";

export type ClientKind = "corporate" | "private";

export type Scope = "messages" | "documents" | "milestones" | "invoices";

export type MatterStatus = "open" | "closed";

export type Sensitivity = "standard" | "e2ee";

export type DetailLevel = "detailed" | "high_level";

export type UserKind = "firm" | "client" | "service";

export type UserProfile = { user_id: UserId, email: string, display_name: string, kind: UserKind, firm_role?: FirmRole | null, client_id?: ClientId | null, client_role?: ClientRole | null, };

export type PersonRef = { user_id: UserId, display_name: string, };

export type PracticeArea = { practice_area_id: PracticeAreaId, name: string, portal_enabled: boolean, detail_level: DetailLevel, show_time_entries: boolean, };

export type Client = { client_id: ClientId, kind: ClientKind, name: string, };

export type CreateClientRequest = { kind: ClientKind, name: Text, };

export type InviteClientUserRequest = { email: string, display_name: Text, role: ClientRole, };

export type Invited = { user_id: UserId, invitation_id: InvitationId, expires_at: string, };

export type MatterActivity = { 
/**
 * The seq of the newest event the viewer may see; 0 when there is none.
 */
head_seq: number, 
/**
 * How far the viewer has read; 0 when they have not.
 */
read_seq: number, 
/**
 * Messages from others after `read_seq`, not deleted; capped at [`MAX_UNREAD`].
 */
unread: number, 
/**
 * When the newest event the viewer may see was written.
 */
last_activity_at: string | null, };

export type MatterSummary = { matter_id: MatterId, reference: string, title: string, client_id: ClientId, client_name: string, practice_area: string, status: MatterStatus, sensitivity: Sensitivity, responsible_fee_earner: PersonRef, 
/**
 * What the viewer may see of this matter.
 */
scopes: Array<Scope>, opened_at: string, 
/**
 * Where the viewer stands in the matter's channel.
 */
activity: MatterActivity, 
/**
 * The title of the matter's current milestone (the first in progress, else the first
 * upcoming); none without the milestones scope or when there is none.
 */
current_stage: string | null, };

export type Grant = { user_id: UserId, display_name: string, scopes: Array<Scope>, granted_at: string, };

export type Participant = { user_id: UserId, display_name: string, kind: UserKind, };

export type MatterDetail = { team: Array<PersonRef>, grants: Array<Grant>, 
/**
 * Who takes part in the channel: the responsible fee earner and team, and the client users who
 * can see its messages. Names only, for every viewer.
 */
participants: Array<Participant>, 
/**
 * The client's message the firm has not answered yet, and how far that wait was escalated
 * (firm users only; absent when nobody waits).
 */
awaiting_reply?: AwaitingReply, matter_id: MatterId, reference: string, title: string, client_id: ClientId, client_name: string, practice_area: string, status: MatterStatus, sensitivity: Sensitivity, responsible_fee_earner: PersonRef, 
/**
 * What the viewer may see of this matter.
 */
scopes: Array<Scope>, opened_at: string, 
/**
 * Where the viewer stands in the matter's channel.
 */
activity: MatterActivity, 
/**
 * The title of the matter's current milestone (the first in progress, else the first
 * upcoming); none without the milestones scope or when there is none.
 */
current_stage: string | null, };

export type CreateMatterRequest = { reference: Text, title: Text, client_id: ClientId, practice_area_id: PracticeAreaId, responsible_fee_earner_id: UserId, sensitivity: Sensitivity, 
/**
 * Further firm users on the team.
 */
team: Array<UserId>, };

export type GrantRequest = { scopes: Array<Scope>, };

export type TokenDelivery = "cookie" | "bearer";

export type SignInRequest = { email: string, password: string, token_delivery: TokenDelivery, 
/**
 * For bearer clients: the device token returned by an earlier sign-in, so the device is
 * recognised. Browsers send it as a cookie instead.
 */
device_token: string | null, };

export type SessionStage = "mfa_required" | "mfa_enrolment_required" | "active";

export type SessionGrant = { stage: SessionStage, 
/**
 * Bearer delivery only: the session token. Replaced at every change of stage.
 */
token?: string | null, 
/**
 * Bearer delivery only, and only when a device was first seen: the device token to send on
 * later sign-ins.
 */
device_token?: string | null, 
/**
 * Cookie delivery only: the value to send in `X-CSRF-Token` on unsafe requests.
 */
csrf_token?: string | null, 
/**
 * When the session ends at the latest (absolute lifetime).
 */
expires_at: string, 
/**
 * Inactivity after which the server ends the session.
 */
idle_timeout_seconds: number, };

export type MfaEnrolment = { 
/**
 * Base32, for manual entry.
 */
secret: string, 
/**
 * `otpauth://totp/...` URI for a QR code.
 */
otpauth_uri: string, };

export type MfaCode = { code: string, };

export type MfaEnrolled = { recovery_codes: Array<string>, session: SessionGrant, };

export type MfaVerifyRequest = { code: string | null, recovery_code: string | null, };

export type ReauthenticateRequest = { password: string, code: string, };

export type CurrentSession = { session_id: SessionId, device_id: DeviceId, stage: SessionStage, user: UserProfile, expires_at: string, idle_timeout_seconds: number, };

export type SessionInfo = { session_id: SessionId, device_id: DeviceId, device_label: string, source_ip: string | null, created_at: string, last_seen_at: string, expires_at: string, 
/**
 * True for the session making the request.
 */
current: boolean, };

export type DeviceInfo = { device_id: DeviceId, label: string, first_seen_at: string, last_seen_at: string, current: boolean, };

export type AlertDetail = { "kind": "new_device", device_id: DeviceId, device_label: string, source_ip: string | null, } | { "kind": "client_upload", matter_id: MatterId, document_id: DocumentId, title: string, uploaded_by: string, } | { "kind": "payment", matter_id: MatterId, invoice_id: InvoiceId, invoice_number: string, status: PaymentStatus, amount_minor: number, } | { "kind": "mfa_locked", source_ip: string | null, } | { "kind": "notice", notice: NoticeKind, matter_id: MatterId | null, reference: string | null, title: string | null, count: number, } | { "kind": "escalation", matter_id: MatterId, reference: string, waiting_since: string, level: number, };

export type Alert = { alert_id: AlertId, created_at: string, read: boolean, detail: AlertDetail, };

export type AcceptInvitationRequest = { 
/**
 * The token from the invitation link.
 */
token: string, 
/**
 * The new password: 12 to 256 characters.
 */
password: string, };

export type AuditEntry = { 
/**
 * Position in the chain, gap-free across the whole trail.
 */
seq: number, occurred_at: string, actor_id: UserId | null, device_id: DeviceId | null, source_ip: string | null, matter_id: MatterId | null, client_id: ClientId | null, 
/**
 * Dotted action name, e.g. `auth.sign_in.succeeded`.
 */
action: string, 
/**
 * What was acted on, as `kind:id`.
 */
target: string | null, 
/**
 * Further facts, as a JSON text.
 */
detail: string | null, 
/**
 * Hex SHA-256 of this row's chain link.
 */
row_hash: string, };

export type PresenceState = "online" | "away" | "offline";

export type ClientFrame = { "type": "subscribe", matter_id: MatterId, since?: number, } | { "type": "unsubscribe", matter_id: MatterId, } | { "type": "send", matter_id: MatterId, client_msg_id: string, text: Text, reply_to?: number, } | { "type": "edit", matter_id: MatterId, client_msg_id: string, target_seq: number, text: Text, } | { "type": "delete", matter_id: MatterId, client_msg_id: string, target_seq: number, } | { "type": "read", matter_id: MatterId, seq: number, } | { "type": "typing", matter_id: MatterId, } | { "type": "presence", state: PresenceState, } | { "type": "viewing", matter_id?: MatterId, };

export type UnsubscribeReason = "requested" | "access_revoked";

export type PresenceEntry = { user_id: UserId, state: PresenceState, };

export type ReadPosition = { user_id: UserId, seq: number, };

export type ServerFrame = { "type": "hello", protocol: string, session_id: SessionId, user_id: UserId, 
/**
 * The server pings this often; a client that hears nothing for twice as long reconnects.
 */
heartbeat_seconds: number, max_frame_bytes: number, } | { "type": "event", event: Event, } | { "type": "subscribed", matter_id: MatterId, head_seq: number, presence: Array<PresenceEntry>, reads: Array<ReadPosition>, } | { "type": "unsubscribed", matter_id: MatterId, reason: UnsubscribeReason, } | { "type": "ack", matter_id: MatterId, client_msg_id: string, seq: number, 
/**
 * True when this `client_msg_id` had already been stored (a resend).
 */
duplicate: boolean, } | { "type": "error", code: ErrorCode, message: string, matter_id?: MatterId, client_msg_id?: string, } | { "type": "presence", matter_id: MatterId, user_id: UserId, state: PresenceState, } | { "type": "typing", matter_id: MatterId, user_id: UserId, } | { "type": "read", matter_id: MatterId, user_id: UserId, seq: number, } | { "type": "alert", alert: Alert, } | { "type": "matters_changed" };

export type Event = { matter_id: MatterId, seq: number, at: string, 
/**
 * Who caused it; none for system events.
 */
author_id: UserId | null, 
/**
 * The sender's id for its own frame, so it can match the event to its optimistic copy.
 */
client_msg_id?: string, 
/**
 * For per-device delivery (end-to-end encrypted matters): the devices the event is for.
 * Absent means everyone entitled to see the matter's events.
 */
devices?: Array<DeviceId>, body: EventBody, };

export type DocumentAction = "published" | "uploaded";

export type EventBody = { "kind": "message", text: string | null, reply_to: number | null, deleted: boolean, } | { "kind": "edit", target_seq: number, text: string | null, } | { "kind": "delete", target_seq: number, } | { "kind": "system", text: string, } | { "kind": "document", document_id: DocumentId, version: number, title: string, category: Category, action: DocumentAction, } | { "kind": "milestone", milestone_id: MilestoneId, title: string, status: MilestoneStatus, client_action: string | null, } | { "kind": "invoice", invoice_id: InvoiceId, number: string, total_minor: number, amount_due_minor: number, currency: string, due_on: string, } | { "kind": "payment", invoice_id: InvoiceId, invoice_number: string, payment_id: PaymentId, status: PaymentStatus, amount_minor: number, 
/**
 * What the invoice owes after this.
 */
balance_minor: number, invoice_status: InvoiceStatus, 
/**
 * Why it failed, for the payer.
 */
failure_reason: string | null, } | { "kind": "unknown" };

export type EventPage = { events: Array<Event>, 
/**
 * The matter's newest `seq` now.
 */
head_seq: number, 
/**
 * More events follow the last one on this page.
 */
more: boolean, };

export type Category = "correspondence" | "contracts" | "court_documents" | "financial" | "identity_verification" | "other";

export type VersionState = "internal" | "pending_review" | "published";

export type VersionOrigin = "firm" | "client" | "dms";

export type DocumentVersion = { version_id: VersionId, 
/**
 * 1, 2, … per document.
 */
number: number, state: VersionState, origin: VersionOrigin, 
/**
 * The sanitised file name, with the extension that matches the content.
 */
filename: string, 
/**
 * The content's type as detected (never the name's claim).
 */
media_type: string, size_bytes: number, 
/**
 * Hex SHA-256 of the content.
 */
sha256: string, 
/**
 * Whether the browser may show it inline (PDFs and images).
 */
inline_viewable: boolean, uploaded_by: PersonRef, uploaded_at: string, 
/**
 * Firm users only: the review trail of this version.
 */
review?: ReviewTrail, published_at?: string, };

export type ReviewTrail = { submitted_by?: PersonRef, submitted_at?: string, reviewed_by?: PersonRef, reviewed_at?: string, 
/**
 * Why the reviewer sent it back, if they did (the latest time).
 */
sent_back_reason?: string, };

export type Document = { document_id: DocumentId, matter_id: MatterId, title: string, category: Category, 
/**
 * The DMS's id for it, when the DMS put it here.
 */
external_id?: string, 
/**
 * The version shown by default: the latest published one (for firm users, the latest of all
 * when none is published yet).
 */
current: DocumentVersion, 
/**
 * Every version the viewer may open, newest first (including `current`).
 */
versions: Array<DocumentVersion>, };

export type UploadParams = { 
/**
 * The name the file had on the uploader's device (sanitised before use).
 */
filename: Text, 
/**
 * New documents only.
 */
category?: Category, 
/**
 * New documents only; defaults to the file name without its extension.
 */
title?: Text, };

export type DmsParams = { filename: Text, category: Category, title: Text, };

export type SendBackRequest = { 
/**
 * Why, for the fee earner: 1 to 2,000 characters.
 */
reason: Text, };

export type ReviewItem = { matter_id: MatterId, matter_reference: string, matter_title: string, document_id: DocumentId, title: string, category: Category, version: DocumentVersion, 
/**
 * Whether the viewer may publish it (four-eyes areas need someone other than the submitter).
 */
can_publish: boolean, };

export type MilestoneStatus = "upcoming" | "in_progress" | "done" | "skipped";

export type Milestone = { milestone_id: MilestoneId, 
/**
 * 1, 2, … in timeline order, without gaps.
 */
position: number, 
/**
 * Client-facing: "Contract drafted and sent for review".
 */
title: string, note: string | null, status: MilestoneStatus, 
/**
 * When the firm expects it, `YYYY-MM-DD`.
 */
expected_on: string | null, 
/**
 * When it was done, `YYYY-MM-DD`.
 */
completed_on: string | null, 
/**
 * What the client must do, if anything: "Please sign and return the contract".
 */
client_action: string | null, 
/**
 * The fee earner marked the client action as needed now, ahead of its step.
 */
client_action_due: boolean, 
/**
 * The client action is needed now (what the client is asked and reminded of): the step is in
 * progress, or is the matter's current step, or the fee earner marked it due. Actions of later
 * steps are "coming up".
 */
action_needed_now: boolean, updated_at: string, 
/**
 * Who last changed it; none while it is as copied from the template.
 */
updated_by: PersonRef | null, };

export type MilestoneTemplateItem = { title: Text, note?: Text | null, client_action?: Text | null, };

export type MilestoneTemplate = { practice_area_id: PracticeAreaId, detail_level: DetailLevel, items: Array<MilestoneTemplateItem>, };

export type UpdateMilestoneTemplateRequest = { items: Array<MilestoneTemplateItem>, };

export type Timeline = { matter_id: MatterId, 
/**
 * The matter's practice area's detail level.
 */
detail_level: DetailLevel, 
/**
 * In timeline order (by `position`).
 */
milestones: Array<Milestone>, 
/**
 * The milestone the matter is at: the first in progress, else the first upcoming.
 */
current: MilestoneId | null, };

export type NewMilestoneRequest = { title: Text, note?: Text | null, client_action?: Text | null, 
/**
 * `YYYY-MM-DD`.
 */
expected_on?: string | null, 
/**
 * Where to insert it (1 is first); later milestones move down. Default: last. A position
 * past the end means last.
 */
position?: number | null, };

export type UpdateMilestoneRequest = { status?: MilestoneStatus, title?: Text, note?: Text, client_action?: Text, 
/**
 * Marks the client action as needed now, ahead of its step (or not).
 */
client_action_due?: boolean, expected_on?: string, completed_on?: string, };

export type InvoiceId = string;

export type CreditNoteId = string;

export type PaymentId = string;

export type TimeEntryId = string;

export type InvoiceKind = "bill" | "on_account";

export type LineKind = "fee" | "disbursement" | "vat";

export type InvoiceStatus = "issued" | "part_paid" | "paid" | "void";

export type PaymentMethod = "card" | "bank" | "transfer";

export type PaymentStatus = "processing" | "succeeded" | "failed" | "refunded" | "disputed";

export type ScheduleKind = "retainer" | "phase" | "bill";

export type ScheduleStatus = "planned" | "billed" | "cancelled";

export type NewInvoiceLine = { kind: LineKind, description: Text, 
/**
 * Pence, not negative.
 */
amount_minor: number, 
/**
 * Disbursements only: whether the firm has already paid it. An unpaid disbursement is client
 * money. Defaults to true.
 */
paid?: boolean, };

export type Amendment = { 
/**
 * Why it changed, for the record.
 */
reason: Text, };

export type VoidInvoice = { 
/**
 * Why, for the record and the client.
 */
reason: Text, };

export type NewInvoice = { matter_id: MatterId, kind: InvoiceKind, issued_on: string, due_on: string, 
/**
 * `GBP`, the only currency; may be omitted.
 */
currency?: string, lines: Array<NewInvoiceLine>, amendment?: Amendment, };

export type InvoiceLine = { position: number, kind: LineKind, description: string, amount_minor: number, 
/**
 * For disbursements: whether the firm has already paid it.
 */
paid: boolean, };

export type NewCreditNote = { number: Text, issued_on: string, amount_minor: number, reason: Text, };

export type CreditNote = { credit_note_id: CreditNoteId, number: string, issued_on: string, amount_minor: number, reason: string, };

export type NewTransfer = { invoice_number: Text, amount_minor: number, };

export type Payment = { payment_id: PaymentId, invoice_id: InvoiceId, invoice_number: string, matter_id: MatterId, method: PaymentMethod, status: PaymentStatus, amount_minor: number, refunded_minor: number, 
/**
 * Why it failed, in words for the payer.
 */
failure_reason: string | null, created_at: string, updated_at: string, };

export type Invoice = { invoice_id: InvoiceId, matter_id: MatterId, matter_reference: string, number: string, kind: InvoiceKind, issued_on: string, due_on: string, currency: string, total_minor: number, credited_minor: number, paid_minor: number, 
/**
 * What is owed now.
 */
balance_minor: number, status: InvoiceStatus, 
/**
 * 1 as issued, then one more for each amendment.
 */
revision: number, lines: Array<InvoiceLine>, credit_notes: Array<CreditNote>, payments: Array<Payment>, 
/**
 * The bill as a PDF, a `financial` document of the matter.
 */
document_id: DocumentId | null, 
/**
 * Whether it can be paid by card in the portal now; if not, `not_payable` says why.
 */
payable: boolean, not_payable: string | null, 
/**
 * Why the firm cancelled it, when it is void.
 */
void_reason?: string, };

export type NewTimeEntry = { matter_id: MatterId, 
/**
 * The invoice it was billed on, if it has been.
 */
invoice_number?: Text, worked_on: string, fee_earner: Text, description: Text, minutes: number, value_minor: number, };

export type TimeEntry = { time_entry_id: TimeEntryId, matter_id: MatterId, invoice_number: string | null, worked_on: string, fee_earner: string, description: string, minutes: number, value_minor: number, };

export type NewScheduleItem = { matter_id: MatterId, planned_on: string, amount_minor: number, description: Text, kind: ScheduleKind, status?: ScheduleStatus, 
/**
 * The invoice that billed it, once it has been.
 */
invoice_number?: Text, };

export type ScheduleItem = { matter_id: MatterId, planned_on: string, amount_minor: number, description: string, kind: ScheduleKind, status: ScheduleStatus, invoice_number: string | null, };

export type BillingSummary = { currency: string, 
/**
 * Owed now, over every invoice listed.
 */
balance_minor: number, 
/**
 * Of that, past its due date.
 */
overdue_minor: number, 
/**
 * Newest first.
 */
invoices: Array<Invoice>, 
/**
 * Every payment, newest first.
 */
payments: Array<Payment>, 
/**
 * Planned bills, soonest first.
 */
schedule: Array<ScheduleItem>, 
/**
 * Absent where the practice area does not show time entries to clients.
 */
time_entries: Array<TimeEntry> | null, };

export type StatementEntry = "invoice" | "credit_note" | "payment" | "refund";

export type StatementLine = { date: string, entry: StatementEntry, matter_reference: string, 
/**
 * The invoice's or credit note's number; for a payment, the invoice it paid.
 */
reference: string, description: string, debit_minor: number, credit_minor: number, balance_minor: number, };

export type PaymentSheet = { invoice_id: InvoiceId, payment_intent_id: string, 
/**
 * For Stripe.js only; never logged or stored by the portal.
 */
client_secret: string, amount_minor: number, currency: string, publishable_key: string, 
/**
 * Test keys, or the offline stand-in: the page must say "test mode".
 */
test_mode: boolean, 
/**
 * The offline stand-in for Stripe.js to talk to instead of Stripe (the demo and the tests);
 * absent with the firm's real account.
 */
stand_in?: string, };

export type UpdatePracticeAreaRequest = { 
/**
 * Whether clients with the invoices scope see the time entries of the area's matters.
 */
show_time_entries: boolean, };

export type ServiceScope = "billing" | "dms" | "payments";

export type NewServiceAccountRequest = { 
/**
 * How audit rows and cards name it, e.g. "Billing system".
 */
name: Text, scopes: Array<ServiceScope>, 
/**
 * When the token stops working (RFC 3339); none for no expiry.
 */
expires_at?: string, };

export type ServiceAccount = { service_id: UserId, name: string, scopes: Array<ServiceScope>, created_at: string, expires_at?: string, revoked_at?: string, 
/**
 * To the nearest minute or so: the token's use is written back at most that often.
 */
last_used_at?: string, };

export type NewServiceAccount = { account: ServiceAccount, 
/**
 * `Authorization: Bearer <token>` on the integration endpoints. Stored only as a digest.
 */
token: string, };

export type AwaitingReply = { 
/**
 * When the first unanswered client message came.
 */
since: string, 
/**
 * Its seq in the channel.
 */
since_seq: number, 
/**
 * 0 waiting; 1 the responsible fee earner was reminded; 2 the supervising partner was told.
 */
escalation_level: number, };

export type NoticeKind = "message" | "document" | "client_upload" | "review" | "client_action" | "invoice" | "payment" | "security";

export type NoticeChannel = "in_app" | "push" | "email";

export type Frequency = "immediate" | "digest" | "off";

export type PreferenceSource = "user" | "firm" | "built_in" | "fixed";

export type Preference = { kind: NoticeKind, channel: NoticeChannel, frequency: Frequency, source: PreferenceSource, };

export type QuietHours = { start: string, end: string, };

export type PushState = { 
/**
 * The server's VAPID public key (RFC 8292), base64url: the browser's
 * `applicationServerKey`. Absent when this server cannot push now.
 */
vapid_public_key: string | null, 
/**
 * Whether this device has a subscription.
 */
subscribed: boolean, };

export type NotificationSettings = { 
/**
 * The kinds this user can receive, each with every channel.
 */
preferences: Array<Preference>, 
/**
 * An IANA time zone name, e.g. `Europe/London`.
 */
time_zone: string, 
/**
 * Firm users only.
 */
quiet_hours: QuietHours | null, 
/**
 * Whether this user may set quiet hours (firm users).
 */
quiet_hours_allowed: boolean, 
/**
 * The hour (0–23, in `time_zone`) at which the daily digest goes.
 */
digest_hour: number, 
/**
 * Web Push on the device making the request.
 */
push: PushState, };

export type PreferenceChange = { kind: NoticeKind, channel: NoticeChannel, frequency?: Frequency, };

export type UpdateNotificationSettings = { preferences?: Array<PreferenceChange>, time_zone?: string, 
/**
 * Set quiet hours; see `clear_quiet_hours` to remove them.
 */
quiet_hours?: QuietHours, clear_quiet_hours?: boolean, digest_hour?: number, };

export type PushKeys = { p256dh: string, auth: string, };

export type PushSubscriptionRequest = { endpoint: string, keys: PushKeys, };

export type Audience = "firm" | "client";

export type NotificationDefault = { audience: Audience, kind: NoticeKind, channel: NoticeChannel, frequency?: Frequency, };

export type PracticeAreaNotifications = { defaults: Array<NotificationDefault>, 
/**
 * Working hours a client message may wait for the firm's answer before the fee earner, then
 * the supervising partner, is alerted (1–400); absent turns escalation off.
 */
escalation_working_hours?: number, };

export type PracticeAreaNotificationsView = { practice_area_id: PracticeAreaId, defaults: Array<NotificationDefault>, escalation_working_hours: number | null, };
