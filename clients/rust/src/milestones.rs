//! Milestones over REST: a matter's timeline, the fee earner's changes to it, and the practice
//! areas' templates.

use docket_protocol::ids::{MatterId, MilestoneId, PracticeAreaId};
use docket_protocol::milestones::{
    MilestoneTemplate, MilestoneTemplateItem, NewMilestoneRequest, Timeline, UpdateMilestoneRequest,
};
use serde_json::json;

use crate::{Client, Result};

impl Client {
    /// A matter's timeline (needs the milestones scope).
    pub async fn timeline(&self, matter_id: MatterId) -> Result<Timeline> {
        self.call(
            reqwest::Method::GET,
            &format!("/api/v1/matters/{matter_id}/milestones"),
            None,
        )
        .await
    }

    /// Adds a milestone (firm users); returns the timeline as it now is.
    pub async fn add_milestone(
        &self,
        matter_id: MatterId,
        request: &NewMilestoneRequest,
    ) -> Result<Timeline> {
        self.call(
            reqwest::Method::POST,
            &format!("/api/v1/matters/{matter_id}/milestones"),
            Some(json!(request)),
        )
        .await
    }

    /// Changes a milestone (firm users): absent fields stay, empty strings clear.
    pub async fn update_milestone(
        &self,
        matter_id: MatterId,
        milestone_id: MilestoneId,
        request: &UpdateMilestoneRequest,
    ) -> Result<Timeline> {
        self.call(
            reqwest::Method::PATCH,
            &format!("/api/v1/matters/{matter_id}/milestones/{milestone_id}"),
            Some(json!(request)),
        )
        .await
    }

    /// Removes a milestone (firm users).
    pub async fn delete_milestone(
        &self,
        matter_id: MatterId,
        milestone_id: MilestoneId,
    ) -> Result<Timeline> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/api/v1/matters/{matter_id}/milestones/{milestone_id}"),
            None,
        )
        .await
    }

    /// A practice area's milestone template (firm users).
    pub async fn milestone_template(
        &self,
        practice_area_id: PracticeAreaId,
    ) -> Result<MilestoneTemplate> {
        self.call(
            reqwest::Method::GET,
            &format!("/api/v1/practice-areas/{practice_area_id}/milestone-template"),
            None,
        )
        .await
    }

    /// Replaces a practice area's milestone template (firm admins).
    pub async fn put_milestone_template(
        &self,
        practice_area_id: PracticeAreaId,
        items: &[MilestoneTemplateItem],
    ) -> Result<MilestoneTemplate> {
        self.call(
            reqwest::Method::PUT,
            &format!("/api/v1/practice-areas/{practice_area_id}/milestone-template"),
            Some(json!({ "items": items })),
        )
        .await
    }
}
