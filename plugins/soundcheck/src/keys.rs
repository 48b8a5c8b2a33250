//! The storage key layout, in one place.
//!
//! | Key | Value | Written by |
//! |---|---|---|
//! | `admin/<section>/<id>` | [`crate::config::AdminEdit`]: an admin's override of a YAML item, or an item added in the admin pages | admin pages |
//! | `fact/<collector>/<entity>` | [`crate::facts::Fact`] | collectors, `POST /facts` |
//! | `manual/<entity>/<check>` | [`crate::evaluate::Recorded`]: an owner's pass/fail, note and expiry | entity tab |
//! | `external/<entity>/<check>` | [`crate::evaluate::Recorded`]: a pushed result | `POST /results` |
//! | `result/<entity>` | [`crate::evaluate::EntityResults`]: every check's current result and the track levels | evaluation |
//! | `hist/<entity>/<ms>/<subject>` | [`crate::history::Change`]: one change of a check result (`check:<id>`) or level (`track:<id>`) | evaluation |
//! | `daily/<YYYY-MM-DD>` | [`crate::history::DaySummary`]: aggregates per track, team, check and campaign | the `evaluate` task |
//! | `collector/<id>` | [`crate::collectors::CollectorState`]: sweep, cursor, rate-limit tokens, last error | the `collect` task |
//! | `failing/<check>` | [`crate::history::FailingEntities`]: the entities failing the check at the last full evaluation | the `evaluate` task |
//! | `meta/evaluation` | [`crate::history::EvaluationRun`]: when the last full evaluation ran | the `evaluate` task |
//! | `collect-now/<entity>` | when "Collect now" last ran for the entity | entity tab |
//!
//! Entity references are `kind:namespace/name` and contain no further `/`,
//! so `hist/<entity>/` is an exact prefix: an entity's history is one
//! prefix scan, in time order (`<ms>` is zero-padded). A day's summary is
//! one key, and a range of days a scan of `daily/` in date order.

/// Prefix of admin edits of one section (`tracks`, `checks`, …).
pub fn admin_prefix(section: &str) -> String {
    format!("admin/{section}/")
}

/// An admin edit of one item.
pub fn admin(section: &str, id: &str) -> String {
    format!("admin/{section}/{id}")
}

/// A fact from one collector about one entity.
pub fn fact(collector: &str, entity: &str) -> String {
    format!("fact/{collector}/{entity}")
}

/// An owner's record of a manual check.
pub fn manual(entity: &str, check: &str) -> String {
    format!("manual/{entity}/{check}")
}

/// A pushed result of an external check.
pub fn external(entity: &str, check: &str) -> String {
    format!("external/{entity}/{check}")
}

/// An entity's current results.
pub fn result(entity: &str) -> String {
    format!("result/{entity}")
}

/// Prefix of an entity's history.
pub fn history_prefix(entity: &str) -> String {
    format!("hist/{entity}/")
}

/// One change in an entity's history. `subject` is `check:<id>` or
/// `track:<id>`.
pub fn history(entity: &str, at_ms: u64, subject: &str) -> String {
    format!("hist/{entity}/{at_ms:013}/{subject}")
}

/// Prefix of the daily summaries.
pub const DAILY_PREFIX: &str = "daily/";

/// The summary of one day.
pub fn daily(day: crate::day::Day) -> String {
    format!("{DAILY_PREFIX}{day}")
}

/// A collector's scheduling state.
pub fn collector(id: &str) -> String {
    format!("collector/{id}")
}

/// The entities failing a check at the last full evaluation.
pub fn failing(check: &str) -> String {
    format!("failing/{check}")
}

/// The last full evaluation.
pub const EVALUATION: &str = "meta/evaluation";

/// When "Collect now" last ran for an entity.
pub fn collect_now(entity: &str) -> String {
    format!("collect-now/{entity}")
}
