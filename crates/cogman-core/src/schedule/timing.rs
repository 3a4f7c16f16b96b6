//! When a schedule fires: [`Timing`] (a cron expression with seconds, or `every <duration>`)
//! in a time zone, and the slot arithmetic the scheduler runs on — the next slot, the slot
//! before, and which slots are due under a [`MissedSlots`] policy.
//!
//! `every` slots are aligned on the Unix epoch (multiples of the duration since
//! 1970-01-01T00:00:00Z), so every process computes the same slots; the time zone does not
//! move them. Cron slots are evaluated on the wall clock of the schedule's zone.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};

use super::ScheduleError;

/// The shortest `every` interval.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// The longest `every` interval (a leap year).
pub const MAX_EVERY: Duration = Duration::from_secs(366 * 24 * 3600);
/// Most slots [`Timing::due_slots`] returns at once.
pub const MAX_DUE: usize = 1000;

/// A cron expression with seconds (six fields: `sec min hour day month weekday`), or
/// `every <duration>` (`every 30s`, `every 1h 30m`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Timing {
    /// A six-field cron expression, as written.
    Cron(String),
    /// A fixed interval, at least [`MIN_EVERY`], in whole milliseconds.
    Every(Duration),
}

/// What to do with slots that passed while no process sent them (no process ran, the
/// schedule's leader died, or a slot was later than the on-time window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedSlots {
    /// Missed slots are not sent (the default).
    #[default]
    Skip,
    /// The newest N missed slots are sent, oldest first.
    CatchUp(u32),
}

impl fmt::Display for MissedSlots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissedSlots::Skip => f.write_str("skip"),
            MissedSlots::CatchUp(n) => write!(f, "catch_up = {n}"),
        }
    }
}

impl FromStr for MissedSlots {
    type Err = ScheduleError;

    /// `skip`, or `catch_up=N` / `catch_up = N` / `catch-up:N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("skip") {
            return Ok(MissedSlots::Skip);
        }
        let bad = || ScheduleError::InvalidMissed(s.chars().take(64).collect());
        let rest = s
            .strip_prefix("catch_up")
            .or_else(|| s.strip_prefix("catch-up"))
            .ok_or_else(bad)?
            .trim_start()
            .strip_prefix(['=', ':'])
            .ok_or_else(bad)?;
        rest.trim()
            .parse::<u32>()
            .map(MissedSlots::CatchUp)
            .map_err(|_| bad())
    }
}

fn cron_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Disallowed)
        .build()
}

impl Timing {
    /// Parses `every <duration>` or a six-field cron expression.
    ///
    /// # Errors
    /// [`ScheduleError::InvalidCron`] or [`ScheduleError::InvalidEvery`] with the reason.
    pub fn parse(text: &str) -> Result<Timing, ScheduleError> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("every ") {
            return Self::every(parse_duration(rest)?);
        }
        Self::cron(text)
    }

    /// A cron timing; the expression must have six fields (seconds first).
    ///
    /// # Errors
    /// [`ScheduleError::InvalidCron`].
    pub fn cron(expr: &str) -> Result<Timing, ScheduleError> {
        let expr = expr.trim();
        let invalid = |reason: String| ScheduleError::InvalidCron {
            expr: expr.chars().take(100).collect(),
            reason,
        };
        let fields = expr.split_whitespace().count();
        if fields != 6 {
            return Err(invalid(format!(
                "expected 6 fields (second minute hour day-of-month month day-of-week), found {fields}"
            )));
        }
        let cron = cron_parser()
            .parse(expr)
            .map_err(|e| invalid(e.to_string()))?;
        // A pattern that never matches (e.g. 30 February) is refused here, not at run time.
        cron.find_next_occurrence(&Utc::now(), false)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Timing::Cron(expr.to_owned()))
    }

    /// An `every` timing.
    ///
    /// # Errors
    /// [`ScheduleError::InvalidEvery`] when shorter than [`MIN_EVERY`], longer than
    /// [`MAX_EVERY`] or not whole milliseconds.
    pub fn every(every: Duration) -> Result<Timing, ScheduleError> {
        if every < MIN_EVERY || every > MAX_EVERY || !every.subsec_nanos().is_multiple_of(1_000_000)
        {
            return Err(ScheduleError::InvalidEvery(format!(
                "{} is not between 1s and 366 days in whole milliseconds",
                humantime::format_duration(every)
            )));
        }
        Ok(Timing::Every(every))
    }

    fn parsed_cron(expr: &str) -> Option<Cron> {
        cron_parser().parse(expr).ok()
    }

    /// The first slot strictly after `t`; `None` when there is none (a cron pattern past its
    /// last match).
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Timing::Every(d) => {
                let ms = every_ms(*d);
                let now = t.timestamp_millis();
                let slot = now.div_euclid(ms).checked_add(1)?.checked_mul(ms)?;
                DateTime::from_timestamp_millis(slot)
            }
            Timing::Cron(expr) => Self::parsed_cron(expr)?
                .find_next_occurrence(&t.with_timezone(&tz), false)
                .ok()
                .map(|at| at.with_timezone(&Utc)),
        }
    }

    /// The last slot strictly before `t`.
    pub fn prev_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Timing::Every(d) => {
                let ms = every_ms(*d);
                let now = t.timestamp_millis();
                // The largest multiple of ms that is < now.
                let slot = (now - 1).div_euclid(ms).checked_mul(ms)?;
                DateTime::from_timestamp_millis(slot)
            }
            Timing::Cron(expr) => Self::parsed_cron(expr)?
                .find_previous_occurrence(&t.with_timezone(&tz), false)
                .ok()
                .map(|at| at.with_timezone(&Utc)),
        }
    }

    /// The slots to send now, oldest first: every slot in `(after, now]` no older than
    /// `on_time`, and of the older ones ("missed") as many of the newest as `missed` allows.
    /// At most [`MAX_DUE`].
    pub fn due_slots(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
        on_time: Duration,
        missed: MissedSlots,
    ) -> Vec<DateTime<Utc>> {
        let on_time_from = now - TimeDelta::from_std(on_time).unwrap_or(TimeDelta::MAX);
        let mut missed_left = match missed {
            MissedSlots::Skip => 0,
            MissedSlots::CatchUp(n) => n as usize,
        };
        let mut due = Vec::new();
        // Walk back from the newest slot at or before now.
        let mut cursor = self.prev_before(now + TimeDelta::milliseconds(1), tz);
        while let Some(slot) = cursor {
            if slot <= after || due.len() >= MAX_DUE {
                break;
            }
            if slot < on_time_from {
                if missed_left == 0 {
                    break;
                }
                missed_left -= 1;
            }
            due.push(slot);
            cursor = self.prev_before(slot, tz);
        }
        due.reverse();
        due
    }
}

fn every_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn parse_duration(text: &str) -> Result<Duration, ScheduleError> {
    humantime::parse_duration(text.trim())
        .map_err(|e| ScheduleError::InvalidEvery(format!("{:?}: {e}", text.trim())))
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timing::Cron(expr) => f.write_str(expr),
            Timing::Every(d) => write!(f, "every {}", humantime::format_duration(*d)),
        }
    }
}

impl FromStr for Timing {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timing::parse(s)
    }
}

impl TryFrom<String> for Timing {
    type Error = ScheduleError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Timing::parse(&s)
    }
}

impl From<Timing> for String {
    fn from(t: Timing) -> String {
        t.to_string()
    }
}

/// Parses an IANA time zone name (`UTC`, `Europe/Paris`).
///
/// # Errors
/// [`ScheduleError::InvalidTimeZone`].
pub fn parse_tz(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::InvalidTimeZone(name.chars().take(64).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn every_slots_are_aligned_on_the_epoch() {
        let t = Timing::parse("every 30s").unwrap();
        let next = t.next_after(at("2026-01-01T00:00:10Z"), Tz::UTC).unwrap();
        assert_eq!(next, at("2026-01-01T00:00:30Z"));
        let next = t.next_after(at("2026-01-01T00:00:30Z"), Tz::UTC).unwrap();
        assert_eq!(next, at("2026-01-01T00:01:00Z"));
        let prev = t.prev_before(at("2026-01-01T00:00:30Z"), Tz::UTC).unwrap();
        assert_eq!(prev, at("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn cron_needs_six_fields_and_follows_the_zone() {
        assert!(matches!(
            Timing::parse("*/5 * * * *"),
            Err(ScheduleError::InvalidCron { .. })
        ));
        assert!(Timing::parse("0 0 9 * * *").is_ok());
        assert!(matches!(
            Timing::parse("0 0 25 * * *"),
            Err(ScheduleError::InvalidCron { .. })
        ));
        let t = Timing::parse("0 0 9 * * *").unwrap();
        let paris = parse_tz("Europe/Paris").unwrap();
        // 09:00 in Paris in winter is 08:00 UTC.
        let next = t.next_after(at("2026-01-10T00:00:00Z"), paris).unwrap();
        assert_eq!(next, at("2026-01-10T08:00:00Z"));
        assert!(parse_tz("Mars/Olympus").is_err());
    }

    #[test]
    fn due_slots_skip_or_catch_up() {
        let t = Timing::parse("every 1s").unwrap();
        let now = at("2026-01-01T00:01:00.500Z");
        let after = at("2026-01-01T00:00:00Z");
        let skip = t.due_slots(
            Tz::UTC,
            after,
            now,
            Duration::from_secs(2),
            MissedSlots::Skip,
        );
        assert_eq!(
            skip,
            vec![at("2026-01-01T00:00:59Z"), at("2026-01-01T00:01:00Z")]
        );
        let catch_up = t.due_slots(
            Tz::UTC,
            after,
            now,
            Duration::from_secs(2),
            MissedSlots::CatchUp(3),
        );
        assert_eq!(catch_up.len(), 5);
        assert_eq!(catch_up[0], at("2026-01-01T00:00:56Z"));
        // Nothing after the last slot sent.
        let none = t.due_slots(
            Tz::UTC,
            at("2026-01-01T00:01:00Z"),
            now,
            Duration::from_secs(2),
            MissedSlots::CatchUp(3),
        );
        assert!(none.is_empty());
    }

    /// Europe/Paris, 2026: on 29 March 02:00 CET jumps to 03:00 CEST (01:00 UTC), so 02:30
    /// does not exist; on 25 October 03:00 CEST falls back to 02:00 CET (01:00 UTC), so 02:30
    /// happens twice. The clock is injected: slots are computed from the given instants.
    #[test]
    fn a_daily_cron_runs_once_across_both_dst_changes() {
        let daily = Timing::parse("0 30 2 * * *").unwrap();
        let paris = parse_tz("Europe/Paris").unwrap();
        let walk = |from: &str, n: usize| {
            let mut at = at(from);
            (0..n)
                .map(|_| {
                    at = daily.next_after(at, paris).unwrap();
                    at
                })
                .collect::<Vec<_>>()
        };
        // Skipped 02:30: it runs at the first instant after the gap, 03:00 CEST, once.
        assert_eq!(
            walk("2026-03-27T12:00:00Z", 3),
            [
                at("2026-03-28T01:30:00Z"),
                at("2026-03-29T01:00:00Z"),
                at("2026-03-30T00:30:00Z")
            ]
        );
        // Repeated 02:30: only its first occurrence (still summer time) runs.
        assert_eq!(
            walk("2026-10-23T12:00:00Z", 3),
            [
                at("2026-10-24T00:30:00Z"),
                at("2026-10-25T00:30:00Z"),
                at("2026-10-26T01:30:00Z")
            ]
        );
        // The scheduler walks back with prev_before: the same slots, each once.
        let due = daily.due_slots(
            paris,
            at("2026-10-24T12:00:00Z"),
            at("2026-10-26T12:00:00Z"),
            Duration::from_secs(30),
            MissedSlots::CatchUp(10),
        );
        assert_eq!(
            due,
            [at("2026-10-25T00:30:00Z"), at("2026-10-26T01:30:00Z")]
        );
        let due = daily.due_slots(
            paris,
            at("2026-03-28T12:00:00Z"),
            at("2026-03-29T12:00:00Z"),
            Duration::from_secs(30),
            MissedSlots::CatchUp(10),
        );
        assert_eq!(due, [at("2026-03-29T01:00:00Z")]);
    }

    /// A pattern over every hour follows real time: the skipped hour has no slots (nothing
    /// doubles at 03:00), the repeated hour has its slots twice (once per real half hour).
    #[test]
    fn an_hourly_cron_follows_real_time_across_dst_changes() {
        let half_hourly = Timing::parse("0 */30 * * * *").unwrap();
        let paris = parse_tz("Europe/Paris").unwrap();
        let slots = |from: &str, to: &str| {
            half_hourly.due_slots(
                paris,
                at(from),
                at(to),
                Duration::from_secs(30),
                MissedSlots::CatchUp(100),
            )
        };
        // 01:30 CET is followed by 03:00 CEST: 30 minutes of real time, one slot.
        assert_eq!(
            slots("2026-03-29T00:00:00Z", "2026-03-29T01:40:00Z"),
            [
                at("2026-03-29T00:30:00Z"),
                at("2026-03-29T01:00:00Z"),
                at("2026-03-29T01:30:00Z")
            ]
        );
        // 02:00 and 02:30 happen twice: every real half hour has its slot.
        assert_eq!(
            slots("2026-10-24T23:30:00Z", "2026-10-25T02:10:00Z"),
            [
                at("2026-10-25T00:00:00Z"),
                at("2026-10-25T00:30:00Z"),
                at("2026-10-25T01:00:00Z"),
                at("2026-10-25T01:30:00Z"),
                at("2026-10-25T02:00:00Z")
            ]
        );
    }

    #[test]
    fn missed_policy_parses() {
        assert_eq!("skip".parse::<MissedSlots>().unwrap(), MissedSlots::Skip);
        assert_eq!(
            "catch_up = 3".parse::<MissedSlots>().unwrap(),
            MissedSlots::CatchUp(3)
        );
        assert!("later".parse::<MissedSlots>().is_err());
        assert!(Timing::parse("every 0s").is_err());
        assert!(Timing::parse("every soon").is_err());
    }
}
