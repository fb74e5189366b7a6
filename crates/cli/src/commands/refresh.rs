//! The schema refresh that ends a preview: started, then its job polled (with a growing
//! interval, bounded by `--refresh-timeout`) until it completes or fails.

use std::time::Duration;

use omni_dbt::{Client, Uuid, api::types::JobsGetStatusResponseStatus};
use serde_json::json;

use crate::{failure::Failure, output::say};

/// Starts a schema refresh of `model` (of the branch `branch_id`, when given) and waits for
/// its job; the job's id and final status.
pub async fn refresh_and_wait(
    client: &Client,
    model: Uuid,
    branch_id: Option<Uuid>,
    timeout_secs: u64,
) -> Result<serde_json::Value, Failure> {
    let api = client.api();
    let mut refresh = api.models_refresh().model_id(model);
    if let Some(branch) = branch_id {
        refresh = refresh.branch_id(branch);
    }
    let job = refresh
        .send()
        .await
        .map_err(omni_dbt::Error::from)?
        .into_inner();
    say(&format!("schema refresh started: job {}", job.job_id));
    // Bounded by clap (at most a day); checked all the same, never a panic.
    let deadline = tokio::time::Instant::now()
        .checked_add(Duration::from_secs(timeout_secs))
        .ok_or_else(|| Failure::Usage("--refresh-timeout: too large".to_owned()))?;
    let mut interval = Duration::from_millis(250);
    loop {
        let state = api
            .jobs_get_status()
            .job_id(job.job_id.clone())
            .send()
            .await
            .map_err(omni_dbt::Error::from)?
            .into_inner();
        match state.status {
            JobsGetStatusResponseStatus::Completed => {
                say("schema refresh completed");
                return Ok(json!({"jobId": job.job_id, "status": "COMPLETED"}));
            }
            JobsGetStatusResponseStatus::Failed => {
                return Err(Failure::Refresh(format!(
                    "schema refresh job {} FAILED",
                    job.job_id
                )));
            }
            JobsGetStatusResponseStatus::InProgress => {}
        }
        if tokio::time::Instant::now()
            .checked_add(interval)
            .is_none_or(|next| next > deadline)
        {
            return Err(Failure::Refresh(format!(
                "schema refresh job {} still IN_PROGRESS after {timeout_secs} s",
                job.job_id
            )));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_secs(5));
    }
}
