//! Soundcheck's configuration: tracks, checks, collectors and campaigns.
//!
//! # Where it comes from, and how the two sources combine
//!
//! 1. **YAML** in the plugin's `config` setting, reviewable in git: the
//!    baseline. Every item has an `id`.
//! 2. **Admin pages** (`/plugins/soundcheck/admin/…`), kept in storage as
//!    one edit per item (`admin/<section>/<id>`). An edit either
//!    - **overrides fields** of the YAML item with the same id: the fields it
//!      names replace the YAML's, the others still follow the YAML (so a
//!      later change to the YAML shows through), and the admin page marks
//!      the item "from YAML, overridden" with a reset button; or
//!    - **adds** an item whose id the YAML does not define; it is listed
//!      after the YAML's items, by id, and can be deleted again.
//!
//!    An item defined in YAML cannot be deleted from the admin pages (take
//!    it out of the YAML); a campaign can be archived either way.
//!
//! The combination is checked as a whole (unknown checks in a level, a
//! rule reading a collector that is not configured, bad dates, …); every
//! problem names the YAML line, or the admin edit, it comes from. See
//! [`merge::resolve`].
//!
//! ```yaml
//! tracks:
//!   - id: production-readiness
//!     name: Production readiness
//!     filter: { kind: Component, lifecycle: production }
//!     levels:
//!       - { name: Bronze, checks: [has-owner, has-description] }
//!       - { name: Silver, checks: [has-on-call] }
//! checks:
//!   - id: has-on-call
//!     name: Has an on-call rotation
//!     how-to-fix: Add the `pagerduty.com/service-id` annotation.
//!     rule: { fact: catalog.has_on_call, op: equals, value: true }
//!   - id: threat-model
//!     name: Threat model reviewed
//!     manual: { expiry-days: 180 }
//!   - id: pen-test
//!     name: Penetration test passed
//!     external: true
//! collectors:
//!   - { id: catalog, kind: catalog, frequency: 1h }
//!   - id: github
//!     kind: github
//!     frequency: 6h
//!     rate-limit: 4000/h
//!     config: { base-url: "https://api.github.com", credential: github }
//! campaigns:
//!   - id: on-call-2026
//!     name: Everything in production has on-call
//!     owner: team-platform-infra
//!     checks: [has-on-call]
//!     start: 2026-04-01
//!     deadline: 2026-09-30
//!     milestones: [{ date: 2026-06-30, target: 50 }, { date: 2026-09-30, target: 100 }]
//! ```

pub mod merge;
mod validate;
pub mod yaml;

use crate::day::Day;
use crate::filter::EntityFilter;
use crate::rules::Rule;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

pub use merge::{AdminEdit, Edits, Origin, Resolved, resolve, resolve_usable};

/// The whole configuration, after YAML and admin edits are combined.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tracks, in display order.
    #[serde(default)]
    pub tracks: Vec<Track>,
    /// Checks.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Fact collectors.
    #[serde(default)]
    pub collectors: Vec<CollectorConfig>,
    /// Campaigns.
    #[serde(default)]
    pub campaigns: Vec<Campaign>,
}

impl Config {
    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id.as_str() == id)
    }

    /// The track with this id.
    pub fn track(&self, id: &str) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id.as_str() == id)
    }

    /// The collector with this id.
    pub fn collector(&self, id: &str) -> Option<&CollectorConfig> {
        self.collectors.iter().find(|c| c.id.as_str() == id)
    }

    /// The campaign with this id.
    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaigns.iter().find(|c| c.id.as_str() == id)
    }

    /// Takes out the items named in `aside`, by section and id.
    pub fn remove(&mut self, aside: &std::collections::BTreeSet<(Section, String)>) {
        let kept = |section: Section, id: &str| !aside.contains(&(section, id.to_owned()));
        self.tracks.retain(|i| kept(Section::Tracks, i.id.as_str()));
        self.checks.retain(|i| kept(Section::Checks, i.id.as_str()));
        self.collectors
            .retain(|i| kept(Section::Collectors, i.id.as_str()));
        self.campaigns
            .retain(|i| kept(Section::Campaigns, i.id.as_str()));
    }

    /// The ids of a section's items, in order.
    pub fn ids(&self, section: Section) -> Vec<&str> {
        match section {
            Section::Tracks => self.tracks.iter().map(|i| i.id.as_str()).collect(),
            Section::Checks => self.checks.iter().map(|i| i.id.as_str()).collect(),
            Section::Collectors => self.collector_ids().collect(),
            Section::Campaigns => self.campaigns.iter().map(|i| i.id.as_str()).collect(),
        }
    }

    /// The ids of every collector, for loading an entity's facts.
    pub fn collector_ids(&self) -> impl Iterator<Item = &str> {
        self.collectors.iter().map(|c| c.id.as_str())
    }
}

/// The four kinds of configured item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// Tracks and their levels.
    Tracks,
    /// Checks.
    Checks,
    /// Fact collectors.
    Collectors,
    /// Campaigns.
    Campaigns,
}

impl Section {
    /// Every section, in the order the admin pages show them.
    pub const ALL: [Section; 4] = [
        Section::Tracks,
        Section::Checks,
        Section::Collectors,
        Section::Campaigns,
    ];

    /// The YAML key and URL segment, e.g. `tracks`.
    pub fn key(self) -> &'static str {
        match self {
            Section::Tracks => "tracks",
            Section::Checks => "checks",
            Section::Collectors => "collectors",
            Section::Campaigns => "campaigns",
        }
    }

    /// One item, in words, e.g. `track`.
    pub fn noun(self) -> &'static str {
        match self {
            Section::Tracks => "track",
            Section::Checks => "check",
            Section::Collectors => "collector",
            Section::Campaigns => "campaign",
        }
    }

    /// The section whose key is `key`.
    pub fn from_key(key: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// The id of a track, check, collector or campaign: 1 to 64 lower-case
/// letters, digits, `-`, `_` and `.`, starting with a letter or digit. Ids
/// appear in storage keys, URLs and fact paths, so they can only be built
/// valid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemId(String);

impl ItemId {
    /// Checks and wraps an id.
    pub fn parse(id: &str) -> Result<ItemId, String> {
        let ok = id.len() <= 64
            && id
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && id.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            });
        if ok {
            Ok(ItemId(id.to_owned()))
        } else {
            Err(format!(
                "`{id}` is not a valid id; use 1 to 64 lower-case letters, digits, `-`, `_` and `.`, e.g. `has-on-call`"
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ItemId {
    type Error = String;
    fn try_from(id: String) -> Result<ItemId, String> {
        ItemId::parse(&id)
    }
}

impl From<ItemId> for String {
    fn from(id: ItemId) -> String {
        id.0
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ItemId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// A track: ordered levels, each a set of checks. An entity holds the
/// highest level whose checks, and those of every level below, pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Track {
    /// Unique among tracks.
    pub id: ItemId,
    /// Shown on cards and pages.
    pub name: String,
    /// What the track is about.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The entities the track applies to.
    #[serde(default, skip_serializing_if = "EntityFilter::is_empty")]
    pub filter: EntityFilter,
    /// Lowest first.
    pub levels: Vec<Level>,
}

/// One level of a track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Level {
    /// E.g. `Bronze`; unique within the track.
    pub name: String,
    /// What reaching it means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Check ids.
    pub checks: Vec<String>,
}

/// A check: what it verifies, how to fix a failure, and how it is decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCheck", into = "RawCheck")]
pub struct Check {
    /// Unique among checks.
    pub id: ItemId,
    /// E.g. `Has an on-call rotation`.
    pub name: String,
    /// What it verifies and why it matters.
    pub description: String,
    /// Markdown: how to make a failing check pass.
    pub how_to_fix: String,
    /// The entities it applies to (within a track's own filter).
    pub filter: EntityFilter,
    /// How it is decided.
    pub kind: CheckKind,
}

/// How a check is decided.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    /// By a rule over collected facts.
    Rule(Rule),
    /// By an owner, who records pass or fail; the record expires.
    Manual {
        /// Days a record stays valid; an expired record fails.
        expiry_days: u32,
    },
    /// By an external system, through `POST /api/plugins/soundcheck/results`.
    External,
}

impl CheckKind {
    /// `rule`, `manual` or `external`.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Rule(_) => "rule",
            CheckKind::Manual { .. } => "manual",
            CheckKind::External => "external",
        }
    }
}

/// Days a manual record stays valid when the check does not say.
pub const DEFAULT_EXPIRY_DAYS: u32 = 90;

/// A check as written: exactly one of `rule`, `manual` and `external`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCheck {
    id: ItemId,
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    how_to_fix: String,
    #[serde(default, skip_serializing_if = "EntityFilter::is_empty")]
    filter: EntityFilter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manual: Option<RawManual>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    external: bool,
}

/// `manual: { expiry-days: 90 }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawManual {
    #[serde(default = "default_expiry")]
    expiry_days: u32,
}

fn default_expiry() -> u32 {
    DEFAULT_EXPIRY_DAYS
}

impl TryFrom<RawCheck> for Check {
    type Error = String;

    fn try_from(raw: RawCheck) -> Result<Check, String> {
        let id = &raw.id;
        let kind = match (raw.rule, raw.manual, raw.external) {
            (Some(rule), None, false) if rule.fact.0.is_empty() => {
                return Err(format!(
                    "check `{id}`: the rule needs a `fact`, e.g. `github.private`"
                ));
            }
            (Some(rule), None, false) => CheckKind::Rule(rule),
            (None, Some(manual), false) if manual.expiry_days == 0 => {
                return Err(format!("check `{id}`: `expiry-days` must be at least 1"));
            }
            (None, Some(manual), false) => CheckKind::Manual {
                expiry_days: manual.expiry_days,
            },
            (None, None, true) => CheckKind::External,
            (None, None, false) => {
                return Err(format!(
                    "check `{id}` needs one of `rule`, `manual` or `external: true`"
                ));
            }
            _ => {
                return Err(format!(
                    "check `{id}` has more than one of `rule`, `manual` and `external`; keep one"
                ));
            }
        };
        Ok(Check {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            how_to_fix: raw.how_to_fix,
            filter: raw.filter,
            kind,
        })
    }
}

impl From<Check> for RawCheck {
    fn from(check: Check) -> RawCheck {
        let (rule, manual, external) = match check.kind {
            CheckKind::Rule(rule) => (Some(rule), None, false),
            CheckKind::Manual { expiry_days } => (None, Some(RawManual { expiry_days }), false),
            CheckKind::External => (None, None, true),
        };
        RawCheck {
            id: check.id,
            name: check.name,
            description: check.description,
            how_to_fix: check.how_to_fix,
            filter: check.filter,
            rule,
            manual,
            external,
        }
    }
}

/// What a collector reads facts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CollectorKind {
    /// The software catalog itself (built in, no HTTP).
    Catalog,
    /// GitHub's REST API.
    Github,
    /// SonarQube's (or SonarCloud's) Web API.
    Sonarqube,
    /// PagerDuty's REST API.
    Pagerduty,
    /// Nothing: facts are pushed to `POST /api/plugins/soundcheck/facts`.
    External,
}

impl CollectorKind {
    /// Every kind, for forms.
    pub const ALL: [CollectorKind; 5] = [
        CollectorKind::Catalog,
        CollectorKind::Github,
        CollectorKind::Sonarqube,
        CollectorKind::Pagerduty,
        CollectorKind::External,
    ];

    /// The name as written, e.g. `github`.
    pub fn name(self) -> &'static str {
        match self {
            CollectorKind::Catalog => "catalog",
            CollectorKind::Github => "github",
            CollectorKind::Sonarqube => "sonarqube",
            CollectorKind::Pagerduty => "pagerduty",
            CollectorKind::External => "external",
        }
    }
}

/// One configured collector instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CollectorConfig {
    /// Unique among collectors; the first segment of fact paths.
    pub id: ItemId,
    /// What it collects from.
    pub kind: CollectorKind,
    /// How often each entity's fact is refreshed.
    #[serde(default = "Interval::hour")]
    pub frequency: Interval,
    /// At most this many requests to the upstream per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The entities it collects for.
    #[serde(default, skip_serializing_if = "EntityFilter::is_empty")]
    pub filter: EntityFilter,
    /// Per-instance settings for the collector, e.g. `base-url` and
    /// `credential` (the name of a host credential, sent in the
    /// `greenroom-credential` header; never a token).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
}

impl CollectorConfig {
    /// A text setting of the instance, e.g. `base-url`.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.config.get(name).and_then(Value::as_str)
    }
}

/// A duration written `30s`, `15m`, `6h` or `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    /// Seconds.
    pub secs: u64,
}

impl Interval {
    /// One hour, the default collection frequency.
    pub fn hour() -> Interval {
        Interval { secs: 3600 }
    }

    /// In milliseconds.
    pub fn ms(self) -> u64 {
        self.secs * 1000
    }

    /// Parses `30s`, `15m`, `6h`, `1d`; a bare unit is one of it (`h`).
    pub fn parse(text: &str) -> Result<Interval, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let count: u64 = if number.is_empty() {
            1
        } else {
            number.parse().map_err(|_| bad_interval(text))?
        };
        let unit_secs = match unit.trim() {
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(bad_interval(text)),
        };
        match count.checked_mul(unit_secs) {
            Some(secs) if secs > 0 => Ok(Interval { secs }),
            _ => Err(bad_interval(text)),
        }
    }
}

fn bad_interval(text: &str) -> String {
    format!("`{text}` is not a duration; write e.g. `30s`, `15m`, `6h` or `1d`")
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.secs;
        match secs {
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Interval, D::Error> {
        let text = String::deserialize(deserializer)?;
        Interval::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// At most `requests` requests per `per`, written `4000/h` or `100/15m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per period.
    pub requests: u32,
    /// The period.
    pub per: Interval,
}

impl RateLimit {
    /// Parses `4000/h`.
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let bad =
            || format!("`{text}` is not a rate limit; write requests per period, e.g. `4000/h`");
        let (requests, per) = text.split_once('/').ok_or_else(bad)?;
        let requests = requests
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(bad)?;
        let per = Interval::parse(per).map_err(|_| bad())?;
        Ok(RateLimit { requests, per })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = self.per.to_string();
        let per = per
            .strip_prefix('1')
            .filter(|u| u.len() == 1)
            .unwrap_or(&per);
        write!(f, "{}/{per}", self.requests)
    }
}

impl Serialize for RateLimit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RateLimit, D::Error> {
        let text = String::deserialize(deserializer)?;
        RateLimit::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A campaign: a set of checks to get passing across the organisation by a
/// deadline, with milestones on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Campaign {
    /// Unique among campaigns.
    pub id: ItemId,
    /// E.g. `On-call for everything in production`.
    pub name: String,
    /// Why it matters.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The group running it (`group:` implied).
    pub owner: String,
    /// The checks every in-scope entity must pass.
    pub checks: Vec<String>,
    /// Narrows the entities in scope (beyond the checks' own filters).
    #[serde(default, skip_serializing_if = "EntityFilter::is_empty")]
    pub filter: EntityFilter,
    /// First day.
    pub start: Day,
    /// Last day.
    pub deadline: Day,
    /// Targets on the way, by date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
    /// Done: hidden from the active list, kept for the record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

/// A campaign target: `target` percent of in-scope entities passing by `date`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Milestone {
    /// The day it is due.
    pub date: Day,
    /// Percent of in-scope entities passing every campaign check, 0 to 100.
    pub target: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_is_valid() {
        let yaml = include_str!("../demo/soundcheck.yaml");
        let resolved = resolve(yaml, &Edits::new()).unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let config = resolved.config;
        assert_eq!(config.tracks.len(), 2);
        assert!(config.tracks.iter().all(|t| t.levels.len() == 3));
        assert_eq!(config.campaigns.len(), 1);
    }

    #[test]
    fn parses_intervals_and_rate_limits() {
        assert_eq!(Interval::parse("15m").unwrap().secs, 900);
        assert_eq!(Interval::parse("h").unwrap().secs, 3600);
        assert_eq!(Interval::parse("2d").unwrap().to_string(), "2d");
        assert_eq!(Interval::parse("90s").unwrap().to_string(), "90s");
        for bad in ["0m", "15", "m15", "1y", ""] {
            assert!(Interval::parse(bad).is_err(), "{bad}");
        }
        let limit = RateLimit::parse("4000/h").unwrap();
        assert_eq!((limit.requests, limit.per.secs), (4000, 3600));
        assert_eq!(limit.to_string(), "4000/h");
        assert_eq!(RateLimit::parse("100/15m").unwrap().to_string(), "100/15m");
        assert!(RateLimit::parse("0/h").is_err());
        assert!(RateLimit::parse("lots").is_err());
    }

    #[test]
    fn ids_are_lower_case_words() {
        assert!(ItemId::parse("has-on-call").is_ok());
        assert!(ItemId::parse("v2.coverage_80").is_ok());
        for bad in ["", "Has", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(ItemId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_check_has_exactly_one_way_to_be_decided() {
        let parse = |yaml: &str| serde_norway::from_str::<Check>(yaml).map_err(|e| e.to_string());
        let manual = parse("{id: tm, name: Threat model, manual: {}}").unwrap();
        assert_eq!(
            manual.kind,
            CheckKind::Manual {
                expiry_days: DEFAULT_EXPIRY_DAYS
            }
        );
        assert_eq!(
            parse("{id: pt, name: Pen test, external: true}")
                .unwrap()
                .kind,
            CheckKind::External
        );
        assert!(
            parse("{id: x, name: X}")
                .unwrap_err()
                .contains("needs one of")
        );
        assert!(
            parse("{id: x, name: X, external: true, manual: {}}")
                .unwrap_err()
                .contains("more than one")
        );
        assert!(
            parse("{id: x, name: X, rule: {op: exists}}")
                .unwrap_err()
                .contains("the rule needs a `fact`")
        );
    }

    #[test]
    fn a_check_round_trips_through_json() {
        let check: Check = serde_norway::from_str(
            "{id: cov, name: Coverage, how-to-fix: Write tests., rule: {fact: sonarqube.coverage, op: greater-than, value: 80}}",
        )
        .unwrap();
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(json["how-to-fix"], "Write tests.");
        assert_eq!(serde_json::from_value::<Check>(json).unwrap(), check);
    }
}
