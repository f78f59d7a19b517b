//! What the store keeps of each schedule (LANGUAGE.md 10.7): its definition as the
//! deployed bundle has it, and its durable state — paused or not, the time from
//! which ticks count, the last tick handled and the last instance started.

use cosmos_ir::{Overlap, Trigger};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A schedule as the deployed bundle defines it ([`super::Store::sync_schedules`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    pub name: String,
    pub workflow: String,
    pub trigger: Trigger,
    pub overlap: Overlap,
}

impl ScheduleSpec {
    /// The definition of a compiled schedule.
    pub fn of(schedule: &cosmos_ir::ScheduleIr) -> ScheduleSpec {
        ScheduleSpec {
            name: schedule.name.clone(),
            workflow: schedule.workflow.clone(),
            trigger: schedule.trigger.clone(),
            overlap: schedule.overlap,
        }
    }
}

/// One schedule as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRow {
    pub spec: ScheduleSpec,
    pub paused: bool,
    /// Ticks at or before this time start nothing: when the schedule was first
    /// stored, last resumed, or had its trigger changed.
    pub since: i64,
    /// The latest tick handled: an instance started for it, or it was skipped.
    pub last_tick: Option<i64>,
    /// The instance the latest started tick started.
    pub last_instance: Option<String>,
    pub updated_at: i64,
}

impl ScheduleRow {
    /// Ticks after this time are still to come.
    pub fn handled_until(&self) -> i64 {
        self.last_tick.map_or(self.since, |t| t.max(self.since))
    }

    /// The next tick the schedule will handle (`None` while paused): the first after
    /// [`ScheduleRow::handled_until`]. It is in the past when ticks were missed while
    /// no node ran; one instance catches them all up.
    pub fn next_tick(&self) -> Option<i64> {
        if self.paused {
            return None;
        }
        self.spec.trigger.next_after(self.handled_until())
    }

    /// The tick to handle at `now`, if one is due: the latest tick at or before `now`
    /// that is after [`ScheduleRow::handled_until`]. However many ticks were missed,
    /// only the latest is handled.
    pub fn due(&self, now: i64) -> Option<i64> {
        if self.paused {
            return None;
        }
        let tick = self.spec.trigger.latest_at_or_before(now)?;
        (tick > self.handled_until()).then_some(tick)
    }
}

/// The trigger as stored in `schedules.trigger_spec`.
pub(crate) fn trigger_text(trigger: &Trigger) -> Result<String, StoreError> {
    serde_json::to_string(trigger)
        .map_err(|e| StoreError::Invalid(format!("unserializable trigger: {e}")))
}

/// A row's columns read back: name, workflow, trigger, overlap, paused, since,
/// last tick, last instance, updated at.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_of(
    name: String,
    workflow: String,
    trigger: &str,
    overlap: &str,
    paused: bool,
    since: i64,
    last_tick: Option<i64>,
    last_instance: Option<String>,
    updated_at: i64,
) -> Result<ScheduleRow, StoreError> {
    let trigger = serde_json::from_str(trigger).map_err(|e| {
        StoreError::Corrupt(format!("schedules {name:?}: column trigger_spec: {e}"))
    })?;
    let overlap = match overlap {
        "skip" => Overlap::Skip,
        "allow" => Overlap::Allow,
        other => {
            return Err(StoreError::Corrupt(format!(
                "schedules {name:?}: column overlap: unknown overlap {other:?}; expected skip or allow"
            )));
        }
    };
    Ok(ScheduleRow {
        spec: ScheduleSpec {
            name,
            workflow,
            trigger,
            overlap,
        },
        paused,
        since,
        last_tick,
        last_instance,
        updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ms: i64, since: i64, last_tick: Option<i64>, paused: bool) -> ScheduleRow {
        ScheduleRow {
            spec: ScheduleSpec {
                name: "s".into(),
                workflow: "W".into(),
                trigger: Trigger::Every { ms },
                overlap: Overlap::Skip,
            },
            paused,
            since,
            last_tick,
            last_instance: None,
            updated_at: 0,
        }
    }

    #[test]
    fn a_tick_is_due_once_and_only_the_latest_missed_one() {
        let r = row(10, 3, None, false);
        assert_eq!(r.next_tick(), Some(10));
        assert_eq!(r.due(9), None);
        assert_eq!(r.due(10), Some(10));
        assert_eq!(
            r.due(57),
            Some(50),
            "five ticks missed: one is due, the latest"
        );
        let r = row(10, 3, Some(50), false);
        assert_eq!(r.due(57), None);
        assert_eq!(r.next_tick(), Some(60));
    }

    #[test]
    fn nothing_is_due_while_paused_or_at_or_before_since() {
        assert_eq!(row(10, 3, None, true).due(100), None);
        assert_eq!(row(10, 3, None, true).next_tick(), None);
        assert_eq!(row(10, 20, None, false).due(20), None);
        assert_eq!(row(10, 20, Some(10), false).due(30), Some(30));
    }
}
