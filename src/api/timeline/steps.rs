//! The steps of an execution as the timeline reads them, and where each
//! sits on the time axis.

use serde_json::Value;

use super::{FAILED_COLOUR, OTHER_COLOUR, RUNNING_COLOUR, SKIPPED_COLOUR, SUCCEEDED_COLOUR};
use crate::engine::time::ms_from_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Status {
    Succeeded,
    Failed,
    Skipped,
    Running,
    Other,
}

impl Status {
    pub(super) fn parse(raw: &Value) -> Self {
        match raw.as_str() {
            Some("succeeded") => Status::Succeeded,
            Some("failed") => Status::Failed,
            Some("skipped") => Status::Skipped,
            Some("running") => Status::Running,
            _ => Status::Other,
        }
    }
    pub(super) fn name(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Running => "running",
            Status::Other => "unknown",
        }
    }
    pub(super) fn colour(self) -> &'static str {
        match self {
            Status::Succeeded => SUCCEEDED_COLOUR,
            Status::Failed => FAILED_COLOUR,
            Status::Skipped => SKIPPED_COLOUR,
            Status::Running => RUNNING_COLOUR,
            Status::Other => OTHER_COLOUR,
        }
    }
}

/// One NodeResult as the renderer needs it, read leniently: a missing or
/// mistyped field falls back rather than failing the picture.
pub(super) struct Step<'a> {
    pub(super) node_id: &'a str,
    pub(super) node_type: &'a str,
    pub(super) action_id: Option<&'a str>,
    pub(super) status: Status,
    /// `startedAt` as epoch ms; `None` when absent or not RFC 3339.
    pub(super) started_ms: Option<u64>,
    pub(super) duration_ms: u64,
    pub(super) attempts: u64,
    pub(super) error: Option<&'a str>,
}

impl<'a> Step<'a> {
    pub(super) fn read(raw: &'a Value) -> Self {
        let status = Status::parse(&raw["status"]);
        Step {
            node_id: raw["nodeId"].as_str().unwrap_or("(no id)"),
            node_type: raw["type"].as_str().unwrap_or(""),
            action_id: raw["actionId"].as_str().filter(|a| !a.is_empty()),
            status,
            started_ms: raw["startedAt"].as_str().and_then(ms_from_rfc3339),
            duration_ms: millis(&raw["durationMs"]).unwrap_or(0),
            attempts: raw["attempts"].as_u64().unwrap_or(0),
            error: raw["error"].as_str(),
        }
    }
}

/// A non-negative number of milliseconds, integer or not.
pub(super) fn millis(raw: &Value) -> Option<u64> {
    raw.as_u64().or_else(|| {
        raw.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f.round() as u64)
    })
}

/// Where a step sits on the axis, in ms from the earliest start.
pub(super) struct Placed {
    pub(super) offset: u64,
    /// The drawn length; 0 for a skipped step.
    pub(super) length: u64,
}

/// Places every step: a timed one at its start, an untimed one (skipped, or
/// a start that does not parse) where the steps before it had settled, or,
/// first in the list, at the end of the run.
pub(super) fn place(steps: &[Step]) -> Vec<Placed> {
    let origin = steps.iter().filter_map(|s| s.started_ms).min().unwrap_or(0);
    let end_of = |s: &Step| s.started_ms.map(|t| (t - origin).saturating_add(s.duration_ms));
    let run_end = steps.iter().filter_map(end_of).max().unwrap_or(0);
    let mut settled: Option<u64> = None;
    steps
        .iter()
        .map(|s| {
            let length = if s.status == Status::Skipped {
                0
            } else {
                s.duration_ms
            };
            let offset = match s.started_ms {
                Some(t) => t - origin,
                None => settled.unwrap_or(run_end),
            };
            if let Some(end) = end_of(s) {
                settled = Some(settled.map_or(end, |e| e.max(end)));
            }
            Placed { offset, length }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offsets(results: Value) -> Vec<(u64, u64)> {
        let raw = results.as_array().unwrap();
        let steps: Vec<Step> = raw.iter().map(Step::read).collect();
        place(&steps).iter().map(|p| (p.offset, p.length)).collect()
    }

    #[test]
    fn untimed_steps_sit_where_the_steps_before_them_settled() {
        let placed = offsets(json!([
            {"nodeId": "late", "status": "skipped", "startedAt": null},
            {"nodeId": "a", "status": "succeeded", "startedAt": "2026-01-01T00:00:01.000Z", "durationMs": 300},
            {"nodeId": "b", "status": "failed", "startedAt": "2026-01-01T00:00:01.100Z", "durationMs": 50},
            {"nodeId": "c", "status": "skipped", "startedAt": null, "durationMs": 0},
            {"nodeId": "d", "status": "failed", "startedAt": "not a time", "durationMs": 20},
            {"nodeId": "e", "status": "running", "startedAt": "2026-01-01T00:00:01.400Z", "durationMs": 900},
        ]));
        // `late` has nothing before it: the end of the run (400 + 900).
        assert_eq!(
            placed,
            [(1300, 0), (0, 300), (100, 50), (300, 0), (300, 20), (400, 900)]
        );
    }

    #[test]
    fn fields_are_read_leniently() {
        let raw = json!({"status": "paused", "durationMs": 12.6, "attempts": "3", "actionId": ""});
        let step = Step::read(&raw);
        assert_eq!(step.node_id, "(no id)");
        assert_eq!(step.status, Status::Other);
        assert_eq!(step.duration_ms, 13);
        assert_eq!(step.attempts, 0);
        assert_eq!(step.action_id, None);
        assert_eq!(millis(&json!(-5)), None);
        assert!(offsets(json!([])).is_empty());
    }
}
