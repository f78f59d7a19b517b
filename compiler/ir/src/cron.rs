//! Five-field cron expressions in UTC (LANGUAGE.md 10.7, `schedule … { cron "…" }`),
//! with the meaning of Vixie cron: `minute hour day-of-month month day-of-week`, each
//! field `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the
//! field's maximum), or a comma-separated list of those; month names `jan`–`dec` and
//! weekday names `sun`–`sat` in any case; Sunday is 0 or 7. When both day fields are
//! restricted (neither starts with `*`), a day matches when either does; otherwise
//! both must. `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and
//! `@hourly` stand for their usual five fields.
//!
//! Times are milliseconds since the Unix epoch; ticks fall on whole minutes. UTC has
//! no daylight-saving gaps, so every matching minute is a tick exactly once.

use std::fmt;

use crate::time::{civil_from_days, days_from_civil};

/// One of the five fields, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl CronField {
    const ALL: [CronField; 5] = [
        CronField::Minute,
        CronField::Hour,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }

    /// The smallest and largest value the field takes (7 is Sunday again).
    fn bounds(self) -> (u32, u32) {
        match self {
            CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
            CronField::DayOfWeek => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
            _ => &[],
        }
    }

    /// The value of a name (`jan` is 1, `sun` is 0).
    fn value_of_name(self, word: &str) -> Option<u32> {
        let lower = word.to_ascii_lowercase();
        let index = self.names().iter().position(|n| *n == lower)?;
        let index = u32::try_from(index).ok()?;
        Some(if self == CronField::Month {
            index + 1
        } else {
            index
        })
    }
}

/// Why a cron expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), but `{text}` has {found}"
    )]
    FieldCount { text: String, found: usize },
    #[error("unknown cron macro `{0}`; use @yearly, @monthly, @weekly, @daily or @hourly")]
    UnknownMacro(String),
    #[error("{} field `{value}` is out of range {min}–{max}", field.name())]
    OutOfRange {
        field: CronField,
        value: String,
        min: u32,
        max: u32,
    },
    #[error("{} field `{text}` is not a number{}", field.name(), names_hint(*field))]
    NotANumber { field: CronField, text: String },
    #[error("{} field `{text}` is a range that ends before it starts", field.name())]
    BackwardRange { field: CronField, text: String },
    #[error("{} field `{text}` has a step of 0; a step is at least 1", field.name())]
    ZeroStep { field: CronField, text: String },
    #[error("{} field is empty", field.name())]
    Empty { field: CronField },
    #[error("`{0}` matches no date, so it would never fire")]
    Never(String),
}

fn names_hint(field: CronField) -> &'static str {
    match field {
        CronField::Month => " or a month name (`jan`–`dec`)",
        CronField::DayOfWeek => " or a weekday name (`sun`–`sat`)",
        _ => "",
    }
}

impl CronError {
    /// The field the error is about, when it is about one.
    pub fn field(&self) -> Option<CronField> {
        match self {
            CronError::OutOfRange { field, .. }
            | CronError::NotANumber { field, .. }
            | CronError::BackwardRange { field, .. }
            | CronError::ZeroStep { field, .. }
            | CronError::Empty { field } => Some(*field),
            _ => None,
        }
    }
}

/// A parsed cron expression: the set of values of each field as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    /// Bits 1–31.
    days: u32,
    /// Bits 1–12.
    months: u16,
    /// Bits 0–6, Sunday 0.
    weekdays: u8,
    /// Whether the day-of-month field starts with `*`.
    any_day: bool,
    /// Whether the day-of-week field starts with `*`.
    any_weekday: bool,
}

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// How far [`Cron::next_after`] and [`Cron::latest_at_or_before`] look: long enough
/// for every leap day with any weekday (a 28-year cycle crosses a century rule only
/// every 100 years; 29 February on a Monday recurs within 40 years).
const HORIZON_DAYS: i64 = 366 * 41;

impl Cron {
    /// Parses `text`; see the module documentation for the syntax.
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let trimmed = text.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(CronError::UnknownMacro(trimmed.to_string()));
            }
            _ => trimmed,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError::FieldCount {
                text: trimmed.to_string(),
                found: fields.len(),
            });
        }
        let mut sets = [0u64; 5];
        for ((set, field), text) in sets.iter_mut().zip(CronField::ALL).zip(&fields) {
            *set = parse_field(field, text)?;
        }
        let [minutes, hours, days, months, weekdays] = sets;
        // Sunday may be written 7.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        let cron = Cron {
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: weekdays as u8,
            any_day: fields[2].starts_with('*'),
            any_weekday: fields[4].starts_with('*'),
        };
        // 2000-01-01: a leap year, so `29 2` is found.
        if cron.next_after(946_684_800_000 - 1).is_none() {
            return Err(CronError::Never(trimmed.to_string()));
        }
        Ok(cron)
    }

    fn month_matches(&self, month: i64) -> bool {
        self.months & (1 << month) != 0
    }

    fn day_matches(&self, days: i64, day: i64) -> bool {
        let weekday = (days + 4).rem_euclid(7); // 1970-01-01 was a Thursday
        let by_day = self.days & (1 << day) != 0;
        let by_weekday = self.weekdays & (1 << weekday) != 0;
        if self.any_day || self.any_weekday {
            by_day && by_weekday
        } else {
            by_day || by_weekday
        }
    }

    /// The first tick strictly after `after`, or `None` when there is none within
    /// about 40 years.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let mut t = after
            .div_euclid(MINUTE_MS)
            .checked_add(1)?
            .checked_mul(MINUTE_MS)?;
        let limit = t.checked_add(HORIZON_DAYS * DAY_MS)?;
        while t <= limit {
            let days = t.div_euclid(DAY_MS);
            let in_day = t.rem_euclid(DAY_MS);
            let (year, month, day) = civil_from_days(days);
            let (hour, minute) = (in_day / 3_600_000, in_day % 3_600_000 / MINUTE_MS);
            if !self.month_matches(month) {
                let (y, m) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                t = days_from_civil(y, m, 1) * DAY_MS;
            } else if !self.day_matches(days, day) {
                t = (days + 1) * DAY_MS;
            } else if self.hours & (1 << hour) == 0 {
                t = days * DAY_MS + (hour + 1) * 3_600_000;
            } else if self.minutes & (1 << minute) == 0 {
                t += MINUTE_MS;
            } else {
                return Some(t);
            }
        }
        None
    }

    /// The last tick at or before `at`, or `None` when there is none within about 40
    /// years.
    pub fn latest_at_or_before(&self, at: i64) -> Option<i64> {
        let mut t = at.div_euclid(MINUTE_MS).checked_mul(MINUTE_MS)?;
        let limit = t.checked_sub(HORIZON_DAYS * DAY_MS)?;
        while t >= limit {
            let days = t.div_euclid(DAY_MS);
            let in_day = t.rem_euclid(DAY_MS);
            let (year, month, day) = civil_from_days(days);
            let (hour, minute) = (in_day / 3_600_000, in_day % 3_600_000 / MINUTE_MS);
            if !self.month_matches(month) {
                // The last minute of the month before.
                t = days_from_civil(year, month, 1) * DAY_MS - MINUTE_MS;
            } else if !self.day_matches(days, day) {
                t = days * DAY_MS - MINUTE_MS;
            } else if self.hours & (1 << hour) == 0 {
                t = days * DAY_MS + hour * 3_600_000 - MINUTE_MS;
            } else if self.minutes & (1 << minute) == 0 {
                t -= MINUTE_MS;
            } else {
                return Some(t);
            }
        }
        None
    }
}

/// The set of values of one field, as bits.
fn parse_field(field: CronField, text: &str) -> Result<u64, CronError> {
    if text.is_empty() {
        return Err(CronError::Empty { field });
    }
    let (min, max) = field.bounds();
    let mut set = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(CronError::Empty { field });
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| CronError::NotANumber {
                    field,
                    text: step.to_string(),
                })?;
                if step == 0 {
                    return Err(CronError::ZeroStep {
                        field,
                        text: item.to_string(),
                    });
                }
                (range, Some(step))
            }
            None => (item, None),
        };
        let (from, to) = if range == "*" {
            (
                min,
                if field == CronField::DayOfWeek {
                    6
                } else {
                    max
                },
            )
        } else {
            match range.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (value(field, a)?, value(field, b)?);
                    if a > b {
                        return Err(CronError::BackwardRange {
                            field,
                            text: item.to_string(),
                        });
                    }
                    (a, b)
                }
                // `a/n` runs from `a` to the field's end.
                None if step.is_some() => (value(field, range)?, max),
                None => {
                    let v = value(field, range)?;
                    (v, v)
                }
            }
        };
        let step = step.unwrap_or(1);
        let mut v = from;
        while v <= to {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(field: CronField, text: &str) -> Result<u32, CronError> {
    let (min, max) = field.bounds();
    if let Some(v) = field.value_of_name(text) {
        return Ok(v);
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CronError::NotANumber {
            field,
            text: text.to_string(),
        });
    }
    match text.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(CronError::OutOfRange {
            field,
            value: text.to_string(),
            min,
            max,
        }),
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests;
