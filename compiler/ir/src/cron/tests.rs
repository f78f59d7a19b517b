use super::*;
use crate::{format_time, parse_time};

fn t(text: &str) -> i64 {
    parse_time(text).unwrap()
}

fn next(expr: &str, after: &str) -> String {
    format_time(Cron::parse(expr).unwrap().next_after(t(after)).unwrap())
}

fn latest(expr: &str, at: &str) -> String {
    format_time(
        Cron::parse(expr)
            .unwrap()
            .latest_at_or_before(t(at))
            .unwrap(),
    )
}

fn error(expr: &str) -> String {
    Cron::parse(expr).unwrap_err().to_string()
}

#[test]
fn next_tick_is_strictly_after_the_given_time() {
    assert_eq!(
        next("0 3 * * *", "2026-12-04T02:59:59Z"),
        "2026-12-04T03:00:00Z"
    );
    assert_eq!(
        next("0 3 * * *", "2026-12-04T03:00:00Z"),
        "2026-12-05T03:00:00Z"
    );
    assert_eq!(
        next("0 3 * * *", "2026-12-04T03:00:00.001Z"),
        "2026-12-05T03:00:00Z"
    );
    assert_eq!(
        next("* * * * *", "2026-12-04T03:00:30Z"),
        "2026-12-04T03:01:00Z"
    );
}

#[test]
fn month_ends_roll_over_to_the_next_month_and_year() {
    assert_eq!(
        next("0 0 * * *", "2026-01-31T12:00:00Z"),
        "2026-02-01T00:00:00Z"
    );
    assert_eq!(
        next("30 23 31 * *", "2026-04-01T00:00:00Z"),
        "2026-05-31T23:30:00Z"
    );
    assert_eq!(
        next("0 0 1 1 *", "2026-12-31T23:59:00Z"),
        "2027-01-01T00:00:00Z"
    );
    assert_eq!(
        next("59 23 31 12 *", "2026-12-31T23:59:00Z"),
        "2027-12-31T23:59:00Z"
    );
}

#[test]
fn leap_days_are_found_in_leap_years_only() {
    assert_eq!(
        next("0 12 29 2 *", "2026-03-01T00:00:00Z"),
        "2028-02-29T12:00:00Z"
    );
    // 2100 is not a leap year.
    assert_eq!(
        next("0 0 29 2 *", "2096-03-01T00:00:00Z"),
        "2104-02-29T00:00:00Z"
    );
    assert_eq!(
        next("0 0 28 2 *", "2028-02-28T00:00:00Z"),
        "2029-02-28T00:00:00Z"
    );
    assert_eq!(
        latest("0 12 29 2 *", "2027-06-01T00:00:00Z"),
        "2024-02-29T12:00:00Z"
    );
}

#[test]
fn steps_lists_and_ranges() {
    assert_eq!(
        next("*/15 * * * *", "2026-12-04T10:46:00Z"),
        "2026-12-04T11:00:00Z"
    );
    assert_eq!(
        next("5-20/5 * * * *", "2026-12-04T10:15:00Z"),
        "2026-12-04T10:20:00Z"
    );
    assert_eq!(
        next("5-20/5 * * * *", "2026-12-04T10:20:00Z"),
        "2026-12-04T11:05:00Z"
    );
    assert_eq!(
        next("10/20 * * * *", "2026-12-04T10:31:00Z"),
        "2026-12-04T10:50:00Z"
    );
    assert_eq!(
        next("0 8,12,18 * * *", "2026-12-04T12:00:00Z"),
        "2026-12-04T18:00:00Z"
    );
    assert_eq!(
        next("0 9-17 * * *", "2026-12-04T17:30:00Z"),
        "2026-12-05T09:00:00Z"
    );
    assert_eq!(
        next("0 0 1,15 * *", "2026-12-02T00:00:00Z"),
        "2026-12-15T00:00:00Z"
    );
    assert_eq!(
        next("0 0 1 */3 *", "2026-02-01T00:00:00Z"),
        "2026-04-01T00:00:00Z"
    );
}

#[test]
fn weekdays_count_from_sunday_as_zero_or_seven() {
    // 2026-12-04 is a Friday.
    assert_eq!(
        next("0 9 * * 1-5", "2026-12-04T10:00:00Z"),
        "2026-12-07T09:00:00Z"
    );
    assert_eq!(
        next("0 9 * * 0", "2026-12-04T10:00:00Z"),
        "2026-12-06T09:00:00Z"
    );
    assert_eq!(
        next("0 9 * * 7", "2026-12-04T10:00:00Z"),
        "2026-12-06T09:00:00Z"
    );
    assert_eq!(
        next("0 9 * * 5-7", "2026-12-04T10:00:00Z"),
        "2026-12-05T09:00:00Z"
    );
    assert_eq!(
        next("0 9 * * MON-fri", "2026-12-04T10:00:00Z"),
        "2026-12-07T09:00:00Z"
    );
    assert_eq!(
        next("0 0 1 JAN,Jul *", "2026-02-01T00:00:00Z"),
        "2026-07-01T00:00:00Z"
    );
}

#[test]
fn both_day_fields_restricted_match_either_as_vixie_cron_does() {
    // The 13th, or any Friday.
    assert_eq!(
        next("0 0 13 * 5", "2026-12-04T00:00:00Z"),
        "2026-12-11T00:00:00Z"
    );
    assert_eq!(
        next("0 0 13 * 5", "2026-12-11T00:00:00Z"),
        "2026-12-13T00:00:00Z"
    );
    // A `*` (also `*/2`) in either day field makes both required.
    // Odd days (1, 3, …) that are Fridays.
    assert_eq!(
        next("0 0 */2 * 5", "2026-12-04T00:00:00Z"),
        "2026-12-11T00:00:00Z"
    );
    assert_eq!(
        next("0 0 */2 * 5", "2026-12-11T00:00:00Z"),
        "2026-12-25T00:00:00Z"
    );
    assert_eq!(
        next("0 0 13 * *", "2026-12-04T00:00:00Z"),
        "2026-12-13T00:00:00Z"
    );
}

#[test]
fn macros_stand_for_their_five_fields() {
    assert_eq!(
        next("@daily", "2026-12-04T10:00:00Z"),
        "2026-12-05T00:00:00Z"
    );
    assert_eq!(
        next("@hourly", "2026-12-04T10:00:00Z"),
        "2026-12-04T11:00:00Z"
    );
    assert_eq!(
        next("@weekly", "2026-12-04T10:00:00Z"),
        "2026-12-06T00:00:00Z"
    );
    assert_eq!(
        next("@monthly", "2026-12-04T10:00:00Z"),
        "2027-01-01T00:00:00Z"
    );
    assert_eq!(
        next("@YEARLY", "2026-12-04T10:00:00Z"),
        "2027-01-01T00:00:00Z"
    );
}

#[test]
fn latest_tick_is_at_or_before_the_given_time() {
    assert_eq!(
        latest("0 3 * * *", "2026-12-04T03:00:00Z"),
        "2026-12-04T03:00:00Z"
    );
    assert_eq!(
        latest("0 3 * * *", "2026-12-04T02:59:59Z"),
        "2026-12-03T03:00:00Z"
    );
    assert_eq!(
        latest("0 0 1 * *", "2026-03-01T00:00:00Z"),
        "2026-03-01T00:00:00Z"
    );
    assert_eq!(
        latest("0 0 31 * *", "2026-05-30T00:00:00Z"),
        "2026-03-31T00:00:00Z"
    );
    assert_eq!(
        latest("30 23 * * 0", "2026-12-04T10:00:00Z"),
        "2026-11-29T23:30:00Z"
    );
    assert_eq!(
        latest("0 0 1 1 *", "2026-01-01T00:00:59Z"),
        "2026-01-01T00:00:00Z"
    );
}

#[test]
fn bad_expressions_name_the_field() {
    assert_eq!(
        error("61 * * * *"),
        "minute field `61` is out of range 0–59"
    );
    assert_eq!(error("0 24 * * *"), "hour field `24` is out of range 0–23");
    assert_eq!(
        error("0 0 0 * *"),
        "day-of-month field `0` is out of range 1–31"
    );
    assert_eq!(error("0 0 * 13 *"), "month field `13` is out of range 1–12");
    assert_eq!(
        error("0 0 * * 8"),
        "day-of-week field `8` is out of range 0–7"
    );
    assert_eq!(
        error("0 0 * * funday"),
        "day-of-week field `funday` is not a number or a weekday name (`sun`–`sat`)"
    );
    assert_eq!(error("0 x * * *"), "hour field `x` is not a number");
    assert_eq!(
        error("0 5-1 * * *"),
        "hour field `5-1` is a range that ends before it starts"
    );
    assert_eq!(
        error("*/0 * * * *"),
        "minute field `*/0` has a step of 0; a step is at least 1"
    );
    assert_eq!(error("0,,5 * * * *"), "minute field is empty");
    assert_eq!(
        error("0 3 * *"),
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), but `0 3 * *` has 4"
    );
    assert_eq!(
        error("0 0 30 2 *"),
        "`0 0 30 2 *` matches no date, so it would never fire"
    );
    assert_eq!(
        error("@often"),
        "unknown cron macro `@often`; use @yearly, @monthly, @weekly, @daily or @hourly"
    );
    assert_eq!(
        Cron::parse("61 * * * *").unwrap_err().field(),
        Some(CronField::Minute)
    );
}

/// A tiny deterministic generator, so the comparison below covers many expressions
/// without a property-testing crate.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(n)) as u32
    }

    fn field(&mut self, min: u32, max: u32) -> String {
        let span = max - min + 1;
        match self.below(5) {
            0 => "*".to_string(),
            1 => format!("*/{}", 1 + self.below(span.min(12))),
            2 => format!("{}", min + self.below(span)),
            3 => {
                let a = min + self.below(span);
                let b = a + self.below(max - a + 1);
                format!("{a}-{b}/{}", 1 + self.below(4))
            }
            _ => format!("{},{}", min + self.below(span), min + self.below(span)),
        }
    }
}

/// Every minute from `from` (exclusive) to `to`, tested one by one against the fields.
fn naive_next(fields: &[String; 5], from: i64, to: i64) -> Option<i64> {
    let sets: Vec<u64> = CronField::ALL
        .iter()
        .zip(fields)
        .map(|(f, text)| parse_field(*f, text).unwrap())
        .collect();
    let weekdays = (sets[4] | (sets[4] >> 7)) & 0x7f;
    let any_day = fields[2].starts_with('*');
    let any_weekday = fields[4].starts_with('*');
    let mut t = (from.div_euclid(MINUTE_MS) + 1) * MINUTE_MS;
    while t <= to {
        let days = t.div_euclid(DAY_MS);
        let (_, month, day) = civil_from_days(days);
        let in_day = t.rem_euclid(DAY_MS);
        let weekday = (days + 4).rem_euclid(7);
        let by_day = sets[2] & (1 << day) != 0;
        let by_weekday = weekdays & (1 << weekday) != 0;
        let day_ok = if any_day || any_weekday {
            by_day && by_weekday
        } else {
            by_day || by_weekday
        };
        if sets[3] & (1 << month) != 0
            && day_ok
            && sets[1] & (1 << (in_day / 3_600_000)) != 0
            && sets[0] & (1 << (in_day % 3_600_000 / MINUTE_MS)) != 0
        {
            return Some(t);
        }
        t += MINUTE_MS;
    }
    None
}

#[test]
fn next_and_latest_agree_with_a_minute_by_minute_scan() {
    let mut rng = Lcg(42);
    let window = 120 * DAY_MS;
    for _ in 0..60 {
        let fields = [
            rng.field(0, 59),
            rng.field(0, 23),
            rng.field(1, 31),
            rng.field(1, 12),
            rng.field(0, 7),
        ];
        let text = fields.join(" ");
        let Ok(cron) = Cron::parse(&text) else {
            continue;
        };
        let from =
            t("2027-12-20T00:00:00Z") + i64::from(rng.below(40 * 24 * 60)) * MINUTE_MS + 1234;
        let expected = naive_next(&fields, from, from + window);
        let found = cron.next_after(from).filter(|&n| n <= from + window);
        assert_eq!(found, expected, "{text} after {}", format_time(from));
        if let Some(tick) = found {
            assert_eq!(
                cron.latest_at_or_before(tick + 59_999),
                Some(tick),
                "{text}"
            );
            assert_eq!(
                cron.latest_at_or_before(tick - 1)
                    .and_then(|p| cron.next_after(p)),
                Some(tick),
                "{text}"
            );
        }
    }
}
