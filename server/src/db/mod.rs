//! Postgres plumbing: pools, migrations, role checks and the tenant transaction.
//!
//! Two roles, two pools. The owner (migrations, admin commands) may do anything; the runtime role
//! `docket_app` owns nothing and is subject to row-level security, so a query that forgets its filter
//! still returns nothing foreign. Every query on matter or client data runs in a [`Tenant`]
//! transaction, which tells the database's policies who is acting.

pub mod embedded;
mod tenant;

use std::time::Duration;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

pub use tenant::{RequestContext, Tenant};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens a pool. The connection string is a secret (it may hold a password) and never logged.
pub async fn connect(url: &SecretString, max_connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url
        .expose_secret()
        .parse()
        .context("the database URL is not a valid Postgres URL")?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.application_name("docket"))
        .await
        .context("connecting to Postgres")
}

/// A pool of its own for the channel writer, on the same database as `pool`: one connection per
/// writer shard, so acknowledged sends never queue for a connection behind request traffic (a
/// thousand sockets authorising their first sends at once would otherwise starve the writer, and
/// every send with it).
///
/// Its connections act as `docket_channel` for their whole session, so the writer calls
/// `channel_write` (executable by that role alone) in one round trip, with no transaction to open;
/// the request pool never holds that role outside a [`channel_transaction`].
pub fn writer_pool(pool: &PgPool, shards: usize) -> PgPool {
    let shards = u32::try_from(shards.max(1)).unwrap_or(u32::MAX);
    PgPoolOptions::new()
        .max_connections(shards)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(conn, "set role docket_channel").await?;
                Ok(())
            })
        })
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// A pool of `size` connections to the same database as `pool`, for work that holds a connection
/// while it waits on something else (the notification workers wait on push services and the mail
/// relay): it never takes connections requests need.
pub fn pool_beside(pool: &PgPool, size: usize) -> PgPool {
    PgPoolOptions::new()
        .max_connections(u32::try_from(size.max(1)).unwrap_or(u32::MAX))
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// A transaction as the narrow `docket_channel` role, for the two code paths that act for no single
/// user: the channel's batch writer (many authors' messages in one commit, each checked by the
/// database against its own author) and node-level delivery (relaying a matter's events to
/// sockets already authorised for them). Only this role may call the channel's definer functions,
/// so a query that forgot its tenant transaction cannot reach them. `set local` ends with the
/// transaction, so the pooled connection goes back as `docket_app`.
///
/// Both statements go in the one round trip that opens the transaction, so the writer's batches
/// pay nothing for the narrower role.
pub async fn channel_transaction(pool: &PgPool) -> crate::Result<Transaction<'static, Postgres>> {
    Ok(pool
        .begin_with("begin; set local role docket_channel")
        .await?)
}

/// Applies pending migrations as the owner. The owner must be a superuser or have BYPASSRLS, since
/// the access functions it owns read tables whose policies call them.
pub async fn migrate(owner: &PgPool) -> anyhow::Result<()> {
    let privileged: bool = sqlx::query_scalar!(
        r#"select (rolsuper or rolbypassrls) as "privileged!" from pg_roles where rolname = current_user"#
    )
    .fetch_one(owner)
    .await?;
    if !privileged {
        bail!(
            "migrations must run as the owner role, which needs SUPERUSER or BYPASSRLS; \
             set DOCKET_MIGRATION_DATABASE_URL to such a role"
        );
    }
    MIGRATOR.run(owner).await.context("applying migrations")?;
    Ok(())
}

/// Refuses to serve as a role that could read past row-level security.
pub async fn check_runtime_role(pool: &PgPool) -> anyhow::Result<()> {
    let row = sqlx::query!(
        r#"select r.rolname as "name!", (r.rolsuper or r.rolbypassrls) as "privileged!",
                  exists (select 1 from pg_class c where c.relowner = r.oid and c.relnamespace = 'public'::regnamespace)
                      as "owns_tables!"
           from pg_roles r where r.rolname = current_user"#
    )
    .fetch_one(pool)
    .await?;
    if row.privileged || row.owns_tables {
        bail!(
            "DATABASE_URL connects as role {:?}, which {}; the server must run as the \
             unprivileged role docket_app (see deploy/README.md)",
            row.name,
            if row.privileged {
                "bypasses row-level security"
            } else {
                "owns tables"
            }
        );
    }
    Ok(())
}

/// Creates the next months' audit partitions ahead of time.
pub async fn ensure_partitions(pool: &PgPool, now: time::OffsetDateTime) -> anyhow::Result<()> {
    sqlx::query_scalar!("select audit_event_ensure_partitions($1)", now)
        .fetch_one(pool)
        .await?;
    Ok(())
}
