//! Who may do what. [`authorize`] is the one policy every endpoint (and later the WebSocket) asks;
//! the database's row-level-security policies (`docket_matter_scopes` in the migrations) mirror it
//! as a second, independent wall. Also the per-matter grant endpoints.

pub(crate) mod grants;
mod policy;

pub use grants::{delete_grant, router, upsert_grant};
pub use policy::{authorize, matter_scopes, Action, Actor, MatterFacts, Resource};
