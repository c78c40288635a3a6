//! The review-and-publish rules, as pure functions so every case is unit-tested.
//!
//! `internal` → (submit) → `pending_review` → (publish) → `published`, or (send back, with a
//! reason) → `internal` again. A reviewer is the matter's responsible fee earner or a supervisor
//! (partner, admin); where the practice area asks for four eyes, the reviewer may not be the person
//! who submitted the version.

use docket_protocol::documents::VersionState;
use docket_protocol::ids::UserId;

use crate::access::Actor;
use crate::{Error, Result};

/// What the rules need to know about a version and its matter.
#[derive(Clone, Copy, Debug)]
pub struct ReviewFacts {
    pub state: VersionState,
    pub submitted_by: Option<UserId>,
    pub responsible_fee_earner_id: UserId,
    pub four_eyes: bool,
}

/// A fee earner on the matter puts an internal version up for review.
pub fn may_submit(actor: &Actor, facts: &ReviewFacts) -> Result<()> {
    if actor.firm_role().is_none() {
        return Err(Error::Forbidden);
    }
    match facts.state {
        VersionState::Internal => Ok(()),
        _ => Err(Error::Conflict(
            "Only an internal version can be submitted for review.".into(),
        )),
    }
}

/// Whether `actor` may publish or send back the version.
pub fn may_review(actor: &Actor, facts: &ReviewFacts) -> Result<()> {
    let reviewer = actor.is_supervisor() || actor.user_id() == facts.responsible_fee_earner_id;
    if actor.firm_role().is_none() || !reviewer {
        return Err(Error::Forbidden);
    }
    if facts.four_eyes && facts.submitted_by == Some(actor.user_id()) {
        return Err(Error::Forbidden);
    }
    match facts.state {
        VersionState::PendingReview => Ok(()),
        _ => Err(Error::Conflict(
            "Only a version pending review can be published or sent back.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docket_protocol::directory::FirmRole;

    fn firm(role: FirmRole) -> Actor {
        Actor::Firm {
            user_id: UserId::new(),
            role,
        }
    }

    fn pending(responsible: UserId, submitted_by: UserId, four_eyes: bool) -> ReviewFacts {
        ReviewFacts {
            state: VersionState::PendingReview,
            submitted_by: Some(submitted_by),
            responsible_fee_earner_id: responsible,
            four_eyes,
        }
    }

    #[test]
    fn the_responsible_fee_earner_reviews_even_their_own_submission_without_four_eyes() {
        let fee_earner = firm(FirmRole::FeeEarner);
        let me = fee_earner.user_id();
        assert!(may_review(&fee_earner, &pending(me, me, false)).is_ok());
        assert!(matches!(
            may_review(&fee_earner, &pending(me, me, true)),
            Err(Error::Forbidden)
        ));
    }

    #[test]
    fn four_eyes_needs_a_second_person_with_authority() {
        let submitter = firm(FirmRole::FeeEarner);
        let partner = firm(FirmRole::Partner);
        let colleague = firm(FirmRole::FeeEarner);
        let facts = pending(submitter.user_id(), submitter.user_id(), true);
        assert!(may_review(&partner, &facts).is_ok());
        // A colleague who is neither responsible nor a supervisor is no reviewer.
        assert!(matches!(
            may_review(&colleague, &facts),
            Err(Error::Forbidden)
        ));
    }

    #[test]
    fn states_move_only_forward_through_review() {
        let partner = firm(FirmRole::Partner);
        let mut facts = pending(UserId::new(), UserId::new(), false);
        facts.state = VersionState::Internal;
        assert!(may_submit(&partner, &facts).is_ok());
        assert!(matches!(
            may_review(&partner, &facts),
            Err(Error::Conflict(_))
        ));
        facts.state = VersionState::Published;
        assert!(matches!(
            may_submit(&partner, &facts),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            may_review(&partner, &facts),
            Err(Error::Conflict(_))
        ));
    }

    #[test]
    fn clients_never_review_or_submit() {
        let client = Actor::Client {
            user_id: UserId::new(),
            client_id: docket_protocol::ids::ClientId::new(),
            role: docket_protocol::directory::ClientRole::ClientAdmin,
        };
        let facts = pending(UserId::new(), UserId::new(), false);
        assert!(matches!(may_review(&client, &facts), Err(Error::Forbidden)));
        assert!(matches!(may_submit(&client, &facts), Err(Error::Forbidden)));
    }
}
