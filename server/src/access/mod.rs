//! Who may do what. [`authorize`] is the one policy every endpoint (and later the WebSocket) asks;
//! the database's row-level-security policies (`docket_matter_scopes` in the migrations) mirror it
//! as a second, independent wall. [`matter`] is the opening every handler acting on one matter
//! goes through: it loads the matter's facts ([`facts`]) and asks the policy. Also the per-matter
//! grant endpoints.

mod facts;
pub(crate) mod grants;
mod policy;

pub use facts::{facts, facts_of, matter, parse_scopes, MatterFacts};
pub(crate) use facts::{query_matters, MatterRow};
pub use grants::{delete_grant, router, upsert_grant};
pub use policy::{authorize, matter_scopes, Action, Actor, Resource};
