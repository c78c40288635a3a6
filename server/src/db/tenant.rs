//! The tenant transaction: the only way server code reaches matter and client data.

use std::net::IpAddr;

use docket_protocol::ids::{DeviceId, SessionId, UserId};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::outbox::{Announcement, Outbox, Pending};
use crate::Result;

/// Who is acting, from where. Carried into every audit row written in the transaction.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The acting user; `None` before sign-in (e.g. a failed password) and for system work.
    pub actor: Option<UserId>,
    pub session: Option<SessionId>,
    pub device: Option<DeviceId>,
    pub source_ip: Option<IpAddr>,
}

impl RequestContext {
    /// Command-line and start-up work: the system actor (the nil UUID, `docket_system_actor()` in
    /// the database), so the audit trail tells the system's acts from anonymous ones (no actor).
    pub fn system() -> Self {
        Self {
            actor: Some(UserId(uuid::Uuid::nil())),
            ..Default::default()
        }
    }

    /// The acting user, if a person (not the system actor) is acting: for columns that name who
    /// did something, such as who sent an invitation.
    pub fn person(&self) -> Option<UserId> {
        self.actor.filter(|a| !a.0.is_nil())
    }
}

/// A transaction in which the database's row-level-security policies know the acting user.
///
/// `docket.actor` is set with `set_config(..., true)`, i.e. local to this transaction, so it can
/// never leak to the next user of the pooled connection.
///
/// What the change must announce (channel events, alerts, control messages) is recorded on the
/// transaction with [`Tenant::announce`]: it goes into the outbox in the same commit and is
/// delivered only after the commit succeeded; a rolled-back transaction announces nothing.
#[derive(Debug)]
pub struct Tenant {
    tx: Transaction<'static, Postgres>,
    ctx: RequestContext,
    outbox: Outbox,
    announced: Vec<Pending>,
}

impl Tenant {
    /// Begins a transaction acting as `ctx.actor` (or as nobody, which the policies admit to no
    /// client or matter row).
    pub async fn begin(pool: &PgPool, outbox: &Outbox, ctx: RequestContext) -> Result<Self> {
        let mut tx = pool.begin().await?;
        let actor = ctx.actor.map(|a| a.to_string()).unwrap_or_default();
        sqlx::query_scalar!("select set_config('docket.actor', $1, true)", actor)
            .fetch_one(&mut *tx)
            .await?;
        Ok(Self {
            tx,
            ctx,
            outbox: outbox.clone(),
            announced: Vec::new(),
        })
    }

    /// The connection, for queries.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Who is acting.
    pub fn ctx(&self) -> &RequestContext {
        &self.ctx
    }

    /// Switches the acting user mid-transaction (or to nobody): sign-in reads the claimed user's
    /// password hash acting as that user, and records a failure acting as nobody again.
    pub async fn act_as(&mut self, actor: Option<UserId>) -> Result<()> {
        let setting = actor.map(|a| a.to_string()).unwrap_or_default();
        sqlx::query_scalar!("select set_config('docket.actor', $1, true)", setting)
            .fetch_one(&mut *self.tx)
            .await?;
        self.ctx.actor = actor;
        Ok(())
    }

    /// Records the device acting, once it is known (mid-sign-in).
    pub fn set_device(&mut self, device: DeviceId) {
        self.ctx.device = Some(device);
    }

    /// Records something to announce once this transaction commits.
    pub fn announce(&mut self, announcement: Announcement) {
        self.announced.push(Pending::new(announcement));
    }

    /// Commits, with the announcements' outbox rows, then delivers the announcements (the fast
    /// path; the outbox covers a failure or a crash from here on). Dropping a `Tenant` without
    /// committing rolls everything back and announces nothing.
    pub async fn commit(mut self) -> Result<()> {
        self.outbox.write(&mut self.tx, &self.announced).await?;
        self.tx.commit().await?;
        if !self.announced.is_empty() {
            self.outbox.after_commit(self.announced).await;
        }
        Ok(())
    }
}
