//! The access policy, as pure functions over facts loaded by the caller, so it can be tested
//! exhaustively without a database.
//!
//! Matter visibility:
//! - firm admins and partners see every matter; other firm users see the matters they are
//!   responsible for or on the team of;
//! - client users see only their own client's matters, and only while the matter's practice area
//!   has the portal enabled: a client admin in every scope, finance in the invoices scope, a member
//!   in the scopes granted to them on that matter.
//!
//! - service accounts (the firm's systems) act on every matter, but only through their own
//!   actions: the DMS pushes documents, the billing system issues invoices, Stripe's webhooks
//!   record payments. Nothing else is theirs, whatever the scopes they imply.
//!
//! An invisible matter is `NotFound`, never `Forbidden`, so existence does not leak.

use docket_protocol::directory::{ClientRole, FirmRole, Scope};
use docket_protocol::documents::Category;
use docket_protocol::ids::{ClientId, UserId};
use docket_protocol::integrations::ServiceScope;

use super::facts::MatterFacts;
use crate::{Error, Result};

/// The acting user, as the policy sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Firm {
        user_id: UserId,
        role: FirmRole,
    },
    Client {
        user_id: UserId,
        client_id: ClientId,
        role: ClientRole,
    },
    /// One of the firm's systems, through its service account.
    Service {
        user_id: UserId,
        scopes: Vec<ServiceScope>,
    },
}

impl Actor {
    /// The acting user's id (a service account's, for a service).
    pub fn user_id(&self) -> UserId {
        match self {
            Self::Firm { user_id, .. }
            | Self::Client { user_id, .. }
            | Self::Service { user_id, .. } => *user_id,
        }
    }

    /// The firm role, for firm users.
    pub fn firm_role(&self) -> Option<FirmRole> {
        match self {
            Self::Firm { role, .. } => Some(*role),
            Self::Client { .. } | Self::Service { .. } => None,
        }
    }

    /// Acting for the firm: a firm user or one of the firm's systems. They see documents
    /// unpublished, with their review trail.
    pub fn is_firm_side(&self) -> bool {
        !matches!(self, Self::Client { .. })
    }

    /// Whether a service account holds `scope`.
    fn serves(&self, scope: ServiceScope) -> bool {
        matches!(self, Self::Service { scopes, .. } if scopes.contains(&scope))
    }

    /// Admins and partners: they see every matter and may review any document.
    pub fn is_supervisor(&self) -> bool {
        matches!(self.firm_role(), Some(FirmRole::Admin | FirmRole::Partner))
    }
}

/// What is being acted on.
#[derive(Clone, Copy, Debug)]
pub enum Resource<'a> {
    /// The firm as a whole (creating clients and matters, the whole audit trail).
    Firm,
    /// One client.
    Client(ClientId),
    /// One matter.
    Matter(&'a MatterFacts),
}

/// An action to authorise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See a matter at all (any scope).
    ViewMatter,
    /// See one scope of a matter.
    ViewScope(Scope),
    /// Write in a matter's channel (needs the messages scope and an open matter).
    PostMessage,
    /// Grant or revoke a client user's access to a matter.
    ManageGrants,
    /// Export a matter's audit trail.
    ExportMatterAudit,
    /// Create a matter or a client.
    CreateMatter,
    CreateClient,
    /// See a client and its users.
    ViewClient,
    /// Invite a user of a client.
    InviteClientUser,
    /// See a (published, for clients) document of a category: firm users on the matter; client
    /// users with the documents scope, or with the invoices scope for financial documents.
    ViewDocument(Category),
    /// Upload a document to an open matter (documents scope; clients and firm).
    UploadDocument,
    /// Add versions and submit them for review (firm users on an open matter).
    ManageDocuments,
    /// Add, change and remove a matter's milestones (firm users on an open matter).
    ManageMilestones,
    /// Push a version from the document-management system (its service account, open matters).
    PushDocuments,
    /// Issue invoices, credit notes, time entries and billing schedules (the billing system's
    /// service account; closed matters too, for the final bill).
    IssueInvoices,
    /// Record what Stripe reports of a payment (the payments service account).
    RecordPayments,
    /// Pay an invoice of the matter (client users with the invoices scope).
    PayInvoice,
    /// Create, list and revoke service accounts; change practice areas' portal settings.
    AdministerFirm,
}

const ALL_SCOPES: [Scope; 4] = [
    Scope::Messages,
    Scope::Documents,
    Scope::Milestones,
    Scope::Invoices,
];

/// The scopes `actor` holds on a matter; empty means the matter is invisible to them.
pub fn matter_scopes(actor: &Actor, matter: &MatterFacts) -> Vec<Scope> {
    let mut scopes = match actor {
        Actor::Firm { user_id, .. } => {
            if actor.is_supervisor()
                || matter.responsible_fee_earner_id == *user_id
                || matter.actor_on_team
            {
                ALL_SCOPES.to_vec()
            } else {
                Vec::new()
            }
        }
        Actor::Client {
            client_id, role, ..
        } => {
            if *client_id != matter.client_id || !matter.portal_enabled {
                Vec::new()
            } else {
                match role {
                    ClientRole::ClientAdmin => ALL_SCOPES.to_vec(),
                    ClientRole::Finance => vec![Scope::Invoices],
                    ClientRole::Member => matter.actor_grant.clone(),
                }
            }
        }
        Actor::Service { scopes, .. } => scopes
            .iter()
            .map(|scope| match scope {
                ServiceScope::Dms => Scope::Documents,
                ServiceScope::Billing | ServiceScope::Payments => Scope::Invoices,
            })
            .collect(),
    };
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Decides whether `actor` may do `action` on `resource`: `Ok(())`, `NotFound` for what the actor
/// may not even know exists, `Forbidden` for what they can see but not do.
pub fn authorize(actor: &Actor, action: Action, resource: Resource<'_>) -> Result<()> {
    let allowed = match (resource, action) {
        (Resource::Matter(matter), action) => {
            let scopes = matter_scopes(actor, matter);
            if scopes.is_empty() {
                return Err(Error::NotFound);
            }
            if let Actor::Service { .. } = actor {
                let allowed = match action {
                    Action::PushDocuments => actor.serves(ServiceScope::Dms) && !matter.closed,
                    Action::IssueInvoices => actor.serves(ServiceScope::Billing),
                    Action::RecordPayments => actor.serves(ServiceScope::Payments),
                    _ => false,
                };
                return if allowed {
                    Ok(())
                } else {
                    Err(Error::Forbidden)
                };
            }
            match action {
                Action::ViewMatter => true,
                Action::ViewScope(scope) => scopes.contains(&scope),
                Action::PostMessage => scopes.contains(&Scope::Messages) && !matter.closed,
                Action::ManageGrants => actor.firm_role().is_some(),
                Action::ViewDocument(category) => {
                    actor.firm_role().is_some()
                        || scopes.contains(&Scope::Documents)
                        || (category == Category::Financial && scopes.contains(&Scope::Invoices))
                }
                Action::UploadDocument => scopes.contains(&Scope::Documents) && !matter.closed,
                Action::ManageDocuments => actor.firm_role().is_some() && !matter.closed,
                Action::ManageMilestones => actor.firm_role().is_some() && !matter.closed,
                Action::ExportMatterAudit => {
                    actor.is_supervisor() || matter.responsible_fee_earner_id == actor.user_id()
                }
                Action::PayInvoice => {
                    actor.firm_role().is_none() && scopes.contains(&Scope::Invoices)
                }
                _ => false,
            }
        }
        (Resource::Client(client_id), action) => {
            let own = matches!(actor, Actor::Client { client_id: c, .. } if *c == client_id);
            if actor.firm_role().is_none() && !own {
                return Err(Error::NotFound);
            }
            match action {
                Action::ViewClient => true,
                Action::InviteClientUser => actor.firm_role().is_some(),
                _ => false,
            }
        }
        (Resource::Firm, Action::CreateMatter | Action::CreateClient) => actor.is_supervisor(),
        (Resource::Firm, Action::AdministerFirm) => actor.firm_role() == Some(FirmRole::Admin),
        (Resource::Firm, _) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(client: ClientId, responsible: UserId) -> MatterFacts {
        MatterFacts {
            client_id: client,
            responsible_fee_earner_id: responsible,
            actor_on_team: false,
            portal_enabled: true,
            actor_grant: Vec::new(),
            closed: false,
        }
    }

    #[test]
    fn firm_visibility_follows_role_and_team() {
        let (client, responsible) = (ClientId::new(), UserId::new());
        let matter = facts(client, responsible);
        let partner = Actor::Firm {
            user_id: UserId::new(),
            role: FirmRole::Partner,
        };
        let other_fee_earner = Actor::Firm {
            user_id: UserId::new(),
            role: FirmRole::FeeEarner,
        };
        let owner = Actor::Firm {
            user_id: responsible,
            role: FirmRole::FeeEarner,
        };
        assert_eq!(matter_scopes(&partner, &matter).len(), 4);
        assert_eq!(matter_scopes(&owner, &matter).len(), 4);
        assert!(matter_scopes(&other_fee_earner, &matter).is_empty());
        let on_team = MatterFacts {
            actor_on_team: true,
            ..matter.clone()
        };
        assert_eq!(matter_scopes(&other_fee_earner, &on_team).len(), 4);
        assert!(matches!(
            authorize(
                &other_fee_earner,
                Action::ViewMatter,
                Resource::Matter(&matter)
            ),
            Err(Error::NotFound)
        ));
    }

    #[test]
    fn client_roles_see_their_scopes_only_on_their_client_and_enabled_areas() {
        let client = ClientId::new();
        let mut matter = facts(client, UserId::new());
        let gc = Actor::Client {
            user_id: UserId::new(),
            client_id: client,
            role: ClientRole::ClientAdmin,
        };
        let finance = Actor::Client {
            user_id: UserId::new(),
            client_id: client,
            role: ClientRole::Finance,
        };
        let member = Actor::Client {
            user_id: UserId::new(),
            client_id: client,
            role: ClientRole::Member,
        };
        let foreign = Actor::Client {
            user_id: UserId::new(),
            client_id: ClientId::new(),
            role: ClientRole::ClientAdmin,
        };
        assert_eq!(matter_scopes(&gc, &matter).len(), 4);
        assert_eq!(matter_scopes(&finance, &matter), vec![Scope::Invoices]);
        assert!(matter_scopes(&member, &matter).is_empty());
        assert!(matter_scopes(&foreign, &matter).is_empty());
        matter.actor_grant = vec![Scope::Documents, Scope::Messages];
        assert_eq!(
            matter_scopes(&member, &matter),
            vec![Scope::Messages, Scope::Documents]
        );
        assert!(matches!(
            authorize(
                &finance,
                Action::ViewScope(Scope::Messages),
                Resource::Matter(&matter)
            ),
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            authorize(&gc, Action::ManageGrants, Resource::Matter(&matter)),
            Err(Error::Forbidden)
        ));
        matter.portal_enabled = false;
        assert!(matter_scopes(&gc, &matter).is_empty());
    }

    #[test]
    fn service_accounts_do_their_own_acts_and_nothing_else() {
        let mut matter = facts(ClientId::new(), UserId::new());
        let service = |scopes: &[ServiceScope]| Actor::Service {
            user_id: UserId::new(),
            scopes: scopes.to_vec(),
        };
        let dms = service(&[ServiceScope::Dms]);
        let billing = service(&[ServiceScope::Billing]);
        let payments = service(&[ServiceScope::Payments]);
        let on = |actor: &Actor, action, matter: &MatterFacts| {
            authorize(actor, action, Resource::Matter(matter)).is_ok()
        };
        assert!(on(&dms, Action::PushDocuments, &matter));
        assert!(!on(&billing, Action::PushDocuments, &matter));
        assert!(on(&billing, Action::IssueInvoices, &matter));
        assert!(!on(&dms, Action::IssueInvoices, &matter));
        assert!(on(&payments, Action::RecordPayments, &matter));
        assert!(!on(&billing, Action::RecordPayments, &matter));
        for action in [
            Action::ViewMatter,
            Action::ViewScope(Scope::Documents),
            Action::ViewScope(Scope::Invoices),
            Action::ViewDocument(Category::Financial),
            Action::PostMessage,
            Action::ManageDocuments,
            Action::ManageGrants,
            Action::PayInvoice,
            Action::ExportMatterAudit,
        ] {
            for actor in [&dms, &billing, &payments] {
                assert!(!on(actor, action, &matter), "{actor:?} {action:?}");
            }
        }
        assert!(matches!(
            authorize(&dms, Action::ViewClient, Resource::Client(matter.client_id)),
            Err(Error::NotFound)
        ));
        assert!(authorize(&billing, Action::AdministerFirm, Resource::Firm).is_err());
        // A fee earner's session no longer pushes as the DMS; nor does anyone issue invoices.
        let owner = Actor::Firm {
            user_id: matter.responsible_fee_earner_id,
            role: FirmRole::FeeEarner,
        };
        assert!(!on(&owner, Action::PushDocuments, &matter));
        assert!(!on(&owner, Action::IssueInvoices, &matter));
        matter.closed = true;
        assert!(!on(&dms, Action::PushDocuments, &matter));
        assert!(
            on(&billing, Action::IssueInvoices, &matter),
            "the final bill"
        );
    }

    #[test]
    fn firm_actions_need_supervisors_and_clients_cannot_see_other_clients() {
        let fee_earner = Actor::Firm {
            user_id: UserId::new(),
            role: FirmRole::FeeEarner,
        };
        let admin = Actor::Firm {
            user_id: UserId::new(),
            role: FirmRole::Admin,
        };
        assert!(authorize(&admin, Action::CreateMatter, Resource::Firm).is_ok());
        assert!(matches!(
            authorize(&fee_earner, Action::CreateClient, Resource::Firm),
            Err(Error::Forbidden)
        ));
        let client = ClientId::new();
        let member = Actor::Client {
            user_id: UserId::new(),
            client_id: client,
            role: ClientRole::Member,
        };
        assert!(authorize(&member, Action::ViewClient, Resource::Client(client)).is_ok());
        assert!(matches!(
            authorize(
                &member,
                Action::ViewClient,
                Resource::Client(ClientId::new())
            ),
            Err(Error::NotFound)
        ));
        assert!(matches!(
            authorize(&member, Action::InviteClientUser, Resource::Client(client)),
            Err(Error::Forbidden)
        ));
    }
}
