//! Milestones: the client-facing timeline of a matter, and the practice areas' templates it starts
//! from.
//!
//! Every practice area has a milestone template written in the client's language, as detailed as
//! the area's [`DetailLevel`] (a step-by-step path for conveyancing, a few stages for advisory
//! work). A new matter starts with a copy of its area's template; the fee earner then adjusts the
//! matter's own copy. Dates are calendar dates, `YYYY-MM-DD`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::directory::{DetailLevel, PersonRef};
use crate::ids::{MatterId, MilestoneId, PracticeAreaId};
use crate::text::Text;

/// Longest milestone title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest note or client action, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Most items in a template.
pub const MAX_TEMPLATE_ITEMS: usize = 40;

/// Where a milestone stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    Upcoming,
    InProgress,
    Done,
    /// Not needed on this matter (kept, so the client sees the path was considered).
    Skipped,
}

/// One step of a matter's timeline, as clients (with the milestones scope) and the firm see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Milestone {
    pub milestone_id: MilestoneId,
    /// 1, 2, … in timeline order, without gaps.
    pub position: u32,
    /// Client-facing: "Contract drafted and sent for review".
    pub title: String,
    pub note: Option<String>,
    pub status: MilestoneStatus,
    /// When the firm expects it, `YYYY-MM-DD`.
    pub expected_on: Option<String>,
    /// When it was done, `YYYY-MM-DD`.
    pub completed_on: Option<String>,
    /// What the client must do, if anything: "Please sign and return the contract".
    pub client_action: Option<String>,
    /// The fee earner marked the client action as needed now, ahead of its step.
    #[serde(default)]
    pub client_action_due: bool,
    /// The client action is needed now (what the client is asked and reminded of): the step is in
    /// progress, or is the matter's current step, or the fee earner marked it due. Actions of later
    /// steps are "coming up".
    #[serde(default)]
    pub action_needed_now: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub updated_at: OffsetDateTime,
    /// Who last changed it; none while it is as copied from the template.
    pub updated_by: Option<PersonRef>,
}

/// One item of a practice area's template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MilestoneTemplateItem {
    pub title: Text,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub note: Option<Text>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub client_action: Option<Text>,
}

/// `GET /api/v1/practice-areas/{practice_area_id}/milestone-template`: what new matters of the area
/// start from, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MilestoneTemplate {
    pub practice_area_id: PracticeAreaId,
    pub detail_level: DetailLevel,
    pub items: Vec<MilestoneTemplateItem>,
}

/// `PUT /api/v1/practice-areas/{practice_area_id}/milestone-template` (firm admins): replaces the
/// template, 1 to [`MAX_TEMPLATE_ITEMS`] items. Existing matters keep their own copies.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateMilestoneTemplateRequest {
    pub items: Vec<MilestoneTemplateItem>,
}

/// `GET /api/v1/matters/{matter_id}/milestones`: a matter's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Timeline {
    pub matter_id: MatterId,
    /// The matter's practice area's detail level.
    pub detail_level: DetailLevel,
    /// In timeline order (by `position`).
    pub milestones: Vec<Milestone>,
    /// The milestone the matter is at: the first in progress, else the first upcoming.
    pub current: Option<MilestoneId>,
}

/// `POST /api/v1/matters/{matter_id}/milestones` (firm users on an open matter).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewMilestoneRequest {
    pub title: Text,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub note: Option<Text>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub client_action: Option<Text>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub expected_on: Option<String>,
    /// Where to insert it (1 is first); later milestones move down. Default: last. A position
    /// past the end means last.
    #[serde(default, deserialize_with = "position::deserialize")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2147483647))]
    pub position: Option<u32>,
}

/// The largest milestone position the server accepts (positions are a Postgres `int`).
pub const MAX_POSITION: u32 = i32::MAX as u32;

/// Reads a milestone position as JSON Schema reads `"type": "integer"`: any number without a
/// fractional part, so `848.0` is 848 (the spec says integer, and to JSON Schema that number is
/// one), from 1 to [`MAX_POSITION`].
mod position {
    use serde::de::{Deserializer, Error, Unexpected, Visitor};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_option(OptionalPosition)
    }

    struct OptionalPosition;
    struct Position;

    const EXPECTED: &str = "a whole number from 1 to 2147483647";

    impl<'de> Visitor<'de> for OptionalPosition {
        type Value = Option<u32>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(EXPECTED)
        }
        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Position).map(Some)
        }
    }

    impl Visitor<'_> for Position {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(EXPECTED)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v)
                .ok()
                .filter(|p| (1..=super::MAX_POSITION).contains(p))
                .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &EXPECTED))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<u32, E> {
            u64::try_from(v)
                .map_err(|_| E::invalid_value(Unexpected::Signed(v), &EXPECTED))
                .and_then(|v| self.visit_u64(v))
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<u32, E> {
            if v.fract() == 0.0 && (1.0..=f64::from(super::MAX_POSITION)).contains(&v) {
                Ok(v as u32)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &EXPECTED))
            }
        }
    }
}

/// `PATCH /api/v1/matters/{matter_id}/milestones/{milestone_id}` (firm users on an open matter).
/// An absent field leaves the value as it is; an empty string clears `note`, `client_action`,
/// `expected_on` or `completed_on`. Moving to `done` without `completed_on` records today; moving
/// back to `upcoming` or `in_progress` without it clears the date.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateMilestoneRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub status: Option<MilestoneStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub title: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub note: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub client_action: Option<Text>,
    /// Marks the client action as needed now, ahead of its step (or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub client_action_due: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub expected_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub completed_on: Option<String>,
}

crate::directory::wire_names!(MilestoneStatus {
    Upcoming => "upcoming",
    InProgress => "in_progress",
    Done => "done",
    Skipped => "skipped",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_use_their_wire_names() {
        for status in [
            MilestoneStatus::Upcoming,
            MilestoneStatus::InProgress,
            MilestoneStatus::Done,
            MilestoneStatus::Skipped,
        ] {
            assert_eq!(
                serde_json::to_value(status).expect("json"),
                serde_json::Value::String(status.as_str().into())
            );
            assert_eq!(status.as_str().parse::<MilestoneStatus>(), Ok(status));
        }
    }

    #[test]
    fn a_position_is_any_whole_number_in_range() {
        let position = |json: &str| {
            serde_json::from_str::<NewMilestoneRequest>(&format!(r#"{{"title":"t"{json}}}"#))
                .map(|r| r.position)
                .map_err(|e| e.to_string())
        };
        assert_eq!(position(""), Ok(None));
        assert_eq!(position(r#","position":null"#), Ok(None));
        assert_eq!(position(r#","position":848"#), Ok(Some(848)));
        assert_eq!(position(r#","position":848.0"#), Ok(Some(848)));
        assert_eq!(
            position(r#","position":2147483647"#),
            Ok(Some(MAX_POSITION))
        );
        for refused in ["0", "-1", "848.5", "2147483648", "1e300", r#""3""#] {
            let refusal = position(&format!(r#","position":{refused}"#));
            assert!(
                refusal
                    .as_ref()
                    .is_err_and(|e| e.contains("whole number") || e.contains("invalid type")),
                "{refused}: {refusal:?}"
            );
        }
    }

    #[test]
    fn an_absent_field_is_not_an_empty_one() {
        let req: UpdateMilestoneRequest =
            serde_json::from_str(r#"{"note":""}"#).expect("a request");
        assert_eq!(req.note.as_deref(), Some(""));
        assert!(req.client_action.is_none() && req.status.is_none());
    }
}
