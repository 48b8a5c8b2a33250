//! Evaluating an entity: every check that applies to it, the level it holds
//! on each track, and certifications gained and lost.
//!
//! The pure part ([`evaluate`]) takes what is known about an entity and
//! its previous results and returns the new results with the changes to
//! record; [`evaluate_entity`] loads and saves around it.
//!
//! - A check **applies** to an entity when its own filter matches and it is
//!   used by a track or active campaign whose filter matches (a check used
//!   by neither applies wherever its filter matches).
//! - An entity **holds** level *n* of a track when every applicable check
//!   of levels 1 to *n* passes; a level none of whose checks applies is
//!   held as soon as the levels below it are.
//! - Holding a level is a **certification**: `since_ms` says when it was
//!   reached; dropping below it records the level lost, when, and which
//!   checks started failing, until the entity is back at that level.

use crate::config::{Check, CheckKind, Config, Track};
use crate::day::{DAY_MS, date};
use crate::entity::Subject;
use crate::facts::{self, Facts};
use crate::history::{self, Change, ChangeOf};
use crate::keys;
use crate::rules::Verdict;
use crate::store::Store;
use greenroom_sdk::Result;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A result someone recorded: an owner's manual check, or an external
/// system's pushed result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Pass or fail.
    pub passed: bool,
    /// What they said about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who: a user reference, `service:<name>` or `plugin:<id>`.
    pub by: String,
    /// When, in milliseconds since the epoch.
    pub at_ms: u64,
    /// When it stops counting (manual checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
}

/// One check's current result for one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Pass or fail.
    pub passed: bool,
    /// Why, in words.
    pub reason: String,
    /// Since when it has had this result.
    pub since_ms: u64,
}

/// Where an entity stands on one track.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackStanding {
    /// Levels held: 0 for none, `n` for the track's `n`-th level.
    pub level: usize,
    /// When the current level was reached (certified since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<u64>,
    /// The last level lost and not yet regained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<LostLevel>,
}

/// A certification lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostLevel {
    /// The level that was held, 1-based.
    pub level: usize,
    /// When it was lost.
    pub at_ms: u64,
    /// The checks whose failure lost it.
    pub because: Vec<String>,
}

/// Everything Soundcheck currently says about one entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityResults {
    /// `kind:namespace/name`.
    pub entity: String,
    /// Results of the checks that apply, by check id.
    pub checks: BTreeMap<String, CheckResult>,
    /// Standing on each track that applies, by track id.
    pub tracks: BTreeMap<String, TrackStanding>,
}

impl EntityResults {
    /// Whether the check passes (false when it does not apply).
    pub fn passes(&self, check: &str) -> bool {
        self.checks.get(check).is_some_and(|r| r.passed)
    }
}

/// What is known about an entity, besides its previous results.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// What filters look at.
    pub subject: Subject,
    /// Collected facts, by collector.
    pub facts: Facts,
    /// Owners' records of manual checks, by check id.
    pub manual: BTreeMap<String, Recorded>,
    /// Pushed results of external checks, by check id.
    pub external: BTreeMap<String, Recorded>,
}

/// New results, and the changes to keep in history.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The entity's results now.
    pub results: EntityResults,
    /// What changed since the previous results.
    pub changes: Vec<Change>,
}

/// Whether `check` applies to `subject` (see the module docs).
pub fn applies(config: &Config, check: &Check, subject: &Subject) -> bool {
    if !check.filter.matches(subject) {
        return false;
    }
    let id = check.id.as_str();
    let in_track = |t: &&Track| t.levels.iter().any(|l| l.checks.iter().any(|c| c == id));
    let tracks = config.tracks.iter().filter(in_track);
    let campaigns = config
        .campaigns
        .iter()
        .filter(|c| !c.archived && c.checks.iter().any(|c| c == id));
    let mut used = false;
    for filter in tracks
        .map(|t| &t.filter)
        .chain(campaigns.map(|c| &c.filter))
    {
        if filter.matches(subject) {
            return true;
        }
        used = true;
    }
    !used
}

/// Decides one check from what is known.
pub fn decide(check: &Check, inputs: &Inputs, now_ms: u64) -> Verdict {
    let id = check.id.as_str();
    match &check.kind {
        CheckKind::Rule(rule) => rule.evaluate(&inputs.facts),
        CheckKind::Manual { .. } => match inputs.manual.get(id) {
            None => {
                Verdict::fail("Not recorded yet: an owner records this check on the Soundcheck tab")
            }
            Some(record) => manual_verdict(record, now_ms),
        },
        CheckKind::External => match inputs.external.get(id) {
            None => Verdict::fail("No result has been reported yet"),
            Some(record) => Verdict {
                passed: record.passed,
                reason: describe(record, "Reported"),
            },
        },
    }
}

fn manual_verdict(record: &Recorded, now_ms: u64) -> Verdict {
    let said = describe(record, "Recorded");
    match record.expires_at_ms {
        Some(expiry) if expiry <= now_ms => Verdict::fail(format!(
            "{said}; expired on {}: record it again",
            date(expiry)
        )),
        Some(expiry) => Verdict {
            passed: record.passed,
            reason: format!("{said}; valid until {}", date(expiry)),
        },
        None => Verdict {
            passed: record.passed,
            reason: said,
        },
    }
}

fn describe(record: &Recorded, verb: &str) -> String {
    let result = if record.passed { "passing" } else { "failing" };
    let note = record
        .note
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| format!(": {}", n.trim()))
        .unwrap_or_default();
    format!(
        "{verb} as {result} by {} on {}{note}",
        record.by,
        date(record.at_ms)
    )
}

/// The number of levels of `track` held, given the applicable checks'
/// results.
pub fn level_held(track: &Track, checks: &BTreeMap<String, CheckResult>) -> usize {
    track
        .levels
        .iter()
        .take_while(|level| {
            level
                .checks
                .iter()
                .all(|c| checks.get(c).is_none_or(|r| r.passed))
        })
        .count()
}

/// The failing applicable checks of `track`'s level `level` (1-based).
pub fn failing_in_level(
    track: &Track,
    level: usize,
    checks: &BTreeMap<String, CheckResult>,
) -> Vec<String> {
    let Some(level) = level.checked_sub(1).and_then(|i| track.levels.get(i)) else {
        return Vec::new();
    };
    level
        .checks
        .iter()
        .filter(|c| checks.get(*c).is_some_and(|r| !r.passed))
        .cloned()
        .collect()
}

/// The standing after evaluation: certified since a level was reached, and
/// a loss recorded when the level drops.
pub fn advance(
    previous: Option<&TrackStanding>,
    track: &Track,
    checks: &BTreeMap<String, CheckResult>,
    now_ms: u64,
) -> TrackStanding {
    let level = level_held(track, checks);
    let previous = previous.cloned().unwrap_or_default();
    if level == previous.level {
        return previous;
    }
    let since_ms = (level > 0).then_some(now_ms);
    let lost = if level < previous.level {
        Some(LostLevel {
            level: previous.level,
            at_ms: now_ms,
            because: (level + 1..=previous.level)
                .flat_map(|l| failing_in_level(track, l, checks))
                .collect(),
        })
    } else {
        previous.lost.filter(|lost| lost.level > level)
    };
    TrackStanding {
        level,
        since_ms,
        lost,
    }
}

/// Evaluates every applicable check and track for one entity.
pub fn evaluate(
    config: &Config,
    inputs: &Inputs,
    previous: Option<&EntityResults>,
    now_ms: u64,
) -> Evaluation {
    let entity = inputs.subject.entity_ref.clone();
    let mut results = EntityResults {
        entity: entity.clone(),
        ..EntityResults::default()
    };
    let mut changes = Vec::new();
    for check in config
        .checks
        .iter()
        .filter(|c| applies(config, c, &inputs.subject))
    {
        let id = check.id.as_str();
        let verdict = decide(check, inputs, now_ms);
        let before = previous.and_then(|p| p.checks.get(id));
        let since_ms = match before {
            Some(before) if before.passed == verdict.passed => before.since_ms,
            _ => now_ms,
        };
        if before.is_none_or(|b| b.passed != verdict.passed) {
            changes.push(Change {
                entity: entity.clone(),
                at_ms: now_ms,
                of: ChangeOf::Check(id.to_owned()),
                passed: Some(verdict.passed),
                level: None,
                reason: verdict.reason.clone(),
            });
        }
        let result = CheckResult {
            passed: verdict.passed,
            reason: verdict.reason,
            since_ms,
        };
        results.checks.insert(id.to_owned(), result);
    }
    for track in config
        .tracks
        .iter()
        .filter(|t| t.filter.matches(&inputs.subject))
    {
        let id = track.id.as_str();
        let before = previous.and_then(|p| p.tracks.get(id));
        let standing = advance(before, track, &results.checks, now_ms);
        if before.is_none_or(|b| b.level != standing.level) {
            changes.push(level_change(&entity, track, &standing, now_ms));
        }
        results.tracks.insert(id.to_owned(), standing);
    }
    Evaluation { results, changes }
}

fn level_change(entity: &str, track: &Track, standing: &TrackStanding, now_ms: u64) -> Change {
    let reason = match (&standing.lost, standing.level) {
        (Some(lost), _) if lost.at_ms == now_ms => format!(
            "lost {} because {} started failing",
            level_name(track, lost.level),
            lost.because.join(", ")
        ),
        (_, 0) => "no level yet".to_owned(),
        (_, level) => format!("reached {}", level_name(track, level)),
    };
    Change {
        entity: entity.to_owned(),
        at_ms: now_ms,
        of: ChangeOf::Track(track.id.to_string()),
        passed: None,
        level: Some(standing.level),
        reason,
    }
}

/// The name of a track's level `level` (1-based), or `no level`.
pub fn level_name(track: &Track, level: usize) -> String {
    level
        .checked_sub(1)
        .and_then(|i| track.levels.get(i))
        .map(|l| l.name.clone())
        .unwrap_or_else(|| "no level".to_owned())
}

/// The storage keys evaluating `subject` reads: its results, its facts
/// and its records of the manual and external checks that apply to it.
pub fn needed_keys(config: &Config, subject: &Subject) -> Vec<String> {
    let entity = subject.entity_ref.as_str();
    let mut needed = vec![keys::result(entity)];
    needed.extend(config.collector_ids().map(|c| keys::fact(c, entity)));
    for check in config.checks.iter().filter(|c| applies(config, c, subject)) {
        match check.kind {
            CheckKind::Manual { .. } => needed.push(keys::manual(entity, check.id.as_str())),
            CheckKind::External => needed.push(keys::external(entity, check.id.as_str())),
            CheckKind::Rule(_) => {}
        }
    }
    needed
}

fn decode<T: serde::de::DeserializeOwned>(
    values: &HashMap<String, Vec<u8>>,
    key: &str,
) -> Option<T> {
    serde_json::from_slice(values.get(key)?).ok()
}

/// What is known about `subject`, and its previous results, from `values`
/// read beforehand (the [`needed_keys`], by key).
pub fn inputs_from(
    config: &Config,
    subject: Subject,
    values: &HashMap<String, Vec<u8>>,
) -> (Inputs, Option<EntityResults>) {
    let entity = subject.entity_ref.clone();
    let previous = decode(values, &keys::result(&entity));
    let mut inputs = Inputs {
        subject,
        ..Inputs::default()
    };
    for collector in config.collector_ids() {
        if let Some(fact) = decode::<facts::Fact>(values, &keys::fact(collector, &entity)) {
            inputs.facts.0.insert(collector.to_owned(), fact);
        }
    }
    for check in &config.checks {
        let id = check.id.as_str();
        let (key, map) = match check.kind {
            CheckKind::Manual { .. } => (keys::manual(&entity, id), &mut inputs.manual),
            CheckKind::External => (keys::external(&entity, id), &mut inputs.external),
            CheckKind::Rule(_) => continue,
        };
        if let Some(record) = decode::<Recorded>(values, &key) {
            map.insert(id.to_owned(), record);
        }
    }
    (inputs, previous)
}

/// The entity's stored results.
pub fn load_results(store: &dyn Store, entity: &str) -> Result<Option<EntityResults>> {
    store.get_json(&keys::result(entity))
}

/// Evaluates one entity from `values` read beforehand (see
/// [`needed_keys`]), saves its results when they changed and keeps the
/// changes in history.
pub fn evaluate_loaded(
    store: &dyn Store,
    config: &Config,
    subject: Subject,
    values: &HashMap<String, Vec<u8>>,
    now_ms: u64,
) -> Result<Evaluation> {
    let (inputs, previous) = inputs_from(config, subject, values);
    let evaluation = evaluate(config, &inputs, previous.as_ref(), now_ms);
    if previous.as_ref() != Some(&evaluation.results) {
        store.set_json(
            &keys::result(&inputs.subject.entity_ref),
            &evaluation.results,
        )?;
    }
    for change in &evaluation.changes {
        history::record(store, change)?;
    }
    Ok(evaluation)
}

/// Evaluates one entity against stored facts and records (one read for
/// all of them), saves its results when they changed and keeps the changes
/// in history.
pub fn evaluate_entity(
    store: &dyn Store,
    config: &Config,
    subject: Subject,
    now_ms: u64,
) -> Result<Evaluation> {
    let values = store.read_many(&needed_keys(config, &subject))?;
    evaluate_loaded(store, config, subject, &values, now_ms)
}

/// Records an owner's manual check, valid for the check's `expiry-days`.
pub fn record_manual(
    store: &dyn Store,
    check: &Check,
    entity: &str,
    passed: bool,
    note: Option<String>,
    by: &str,
    now_ms: u64,
) -> Result<Recorded> {
    let expiry_days = match check.kind {
        CheckKind::Manual { expiry_days } => u64::from(expiry_days),
        _ => {
            return Err(greenroom_sdk::Error::invalid_input(format!(
                "check `{}` is not a manual check",
                check.id
            )));
        }
    };
    let record = Recorded {
        passed,
        note,
        by: by.to_owned(),
        at_ms: now_ms,
        expires_at_ms: Some(now_ms + expiry_days * DAY_MS),
    };
    store.set_json(&keys::manual(entity, check.id.as_str()), &record)?;
    Ok(record)
}

/// Records a pushed result of an external check.
pub fn record_external(
    store: &dyn Store,
    check: &Check,
    entity: &str,
    record: &Recorded,
) -> Result<()> {
    if check.kind != CheckKind::External {
        return Err(greenroom_sdk::Error::invalid_input(format!(
            "check `{}` is a {} check; only external checks take pushed results",
            check.id,
            check.kind.name()
        )));
    }
    store.set_json(&keys::external(entity, check.id.as_str()), record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::facts::Fact;
    use crate::store::MemoryStore;
    use serde_json::{Value, json};

    const CONFIG: &str = "\
collectors:
  - {id: catalog, kind: catalog}
  - {id: sonarqube, kind: sonarqube}
checks:
  - {id: owner, name: Has an owner, rule: {fact: catalog.owner, op: exists}}
  - {id: docs, name: Has docs, rule: {fact: catalog.has_techdocs, op: equals, value: true}}
  - {id: coverage, name: Coverage above 80, rule: {fact: sonarqube.coverage, op: greater-than, value: 80},
     filter: {type: service}}
  - {id: threat-model, name: Threat model, manual: {expiry-days: 30}}
  - {id: pen-test, name: Pen test, external: true}
  - {id: groups-only, name: Groups only, external: true, filter: {kind: Group}}
tracks:
  - id: ready
    name: Production readiness
    filter: {kind: Component}
    levels:
      - {name: Bronze, checks: [owner]}
      - {name: Silver, checks: [docs, coverage]}
      - {name: Gold, checks: [threat-model]}
campaigns:
  - {id: pens, name: Pen tests, owner: team-sec, checks: [pen-test], start: 2026-01-01, deadline: 2026-12-31,
     filter: {tags: pci-dss}}
";

    const NOW: u64 = 1_780_000_000_000;

    fn config() -> Config {
        yaml::parse(CONFIG).unwrap()
    }

    fn subject(spec_type: &str, tags: &[&str]) -> Subject {
        Subject {
            entity_ref: "component:default/pay".into(),
            kind: "component".into(),
            spec_type: Some(spec_type.into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Subject::default()
        }
    }

    fn inputs(catalog: Value, coverage: f64) -> Inputs {
        let mut facts = Facts::default();
        for (collector, value) in [
            ("catalog", catalog),
            ("sonarqube", json!({"coverage": coverage})),
        ] {
            facts.0.insert(
                collector.into(),
                Fact {
                    entity: "component:default/pay".into(),
                    collector: collector.into(),
                    value,
                    collected_at_ms: NOW,
                },
            );
        }
        Inputs {
            subject: subject("service", &[]),
            facts,
            ..Inputs::default()
        }
    }

    fn manual(passed: bool, at_ms: u64) -> Recorded {
        Recorded {
            passed,
            note: Some("reviewed with security".into()),
            by: "user:default/ada".into(),
            at_ms,
            expires_at_ms: Some(at_ms + 30 * DAY_MS),
        }
    }

    #[test]
    fn checks_apply_through_their_filters_tracks_and_campaigns() {
        let config = config();
        let ids = |s: &Subject| -> Vec<&str> {
            config
                .checks
                .iter()
                .filter(|c| applies(&config, c, s))
                .map(|c| c.id.as_str())
                .collect()
        };
        assert_eq!(
            ids(&subject("service", &[])),
            ["owner", "docs", "coverage", "threat-model"]
        );
        assert_eq!(
            ids(&subject("website", &[])),
            ["owner", "docs", "threat-model"],
            "coverage is for services"
        );
        assert_eq!(
            ids(&subject("website", &["pci-dss"])),
            ["owner", "docs", "threat-model", "pen-test"]
        );
        let group = Subject {
            kind: "group".into(),
            ..Subject::default()
        };
        assert_eq!(
            ids(&group),
            ["groups-only"],
            "used by no track: applies where its filter matches"
        );
    }

    #[test]
    fn an_entity_holds_the_highest_level_whose_checks_and_those_below_pass() {
        let config = config();
        let mut inputs = inputs(
            json!({"owner": "group:default/team-web", "has_techdocs": true}),
            85.0,
        );
        let results = evaluate(&config, &inputs, None, NOW).results;
        assert_eq!(
            results.tracks["ready"].level, 2,
            "Gold needs the threat model"
        );
        inputs
            .manual
            .insert("threat-model".into(), manual(true, NOW));
        assert_eq!(
            evaluate(&config, &inputs, None, NOW).results.tracks["ready"].level,
            3
        );
        let no_owner = Inputs {
            manual: inputs.manual.clone(),
            ..self::inputs(json!({"has_techdocs": true}), 85.0)
        };
        let results = evaluate(&config, &no_owner, None, NOW).results;
        assert_eq!(
            results.tracks["ready"].level, 0,
            "a failing Bronze check holds back every level above"
        );
    }

    #[test]
    fn a_level_whose_checks_do_not_apply_is_held_with_the_levels_below() {
        let config = config();
        let mut website = inputs(
            json!({"owner": "group:default/team-web", "has_techdocs": true}),
            10.0,
        );
        website.subject = subject("website", &[]);
        let results = evaluate(&config, &website, None, NOW).results;
        assert!(!results.checks.contains_key("coverage"));
        assert_eq!(results.tracks["ready"].level, 2);
    }

    #[test]
    fn certification_is_awarded_and_visibly_lost() {
        let config = config();
        let good = inputs(
            json!({"owner": "group:default/team-web", "has_techdocs": true}),
            85.0,
        );
        let first = evaluate(&config, &good, None, NOW);
        let silver = &first.results.tracks["ready"];
        assert_eq!(
            (silver.level, silver.since_ms, &silver.lost),
            (2, Some(NOW), &None)
        );
        assert!(
            first
                .changes
                .iter()
                .any(|c| c.of == ChangeOf::Track("ready".into()) && c.reason == "reached Silver")
        );

        let later = NOW + 1000;
        let worse = inputs(
            json!({"owner": "group:default/team-web", "has_techdocs": true}),
            61.2,
        );
        let second = evaluate(&config, &worse, Some(&first.results), later);
        let bronze = &second.results.tracks["ready"];
        assert_eq!(bronze.level, 1);
        assert_eq!(bronze.since_ms, Some(later));
        assert_eq!(
            bronze.lost,
            Some(LostLevel {
                level: 2,
                at_ms: later,
                because: vec!["coverage".into()]
            })
        );
        let track_change = second
            .changes
            .iter()
            .find(|c| c.of == ChangeOf::Track("ready".into()))
            .unwrap();
        assert_eq!(
            track_change.reason,
            "lost Silver because coverage started failing"
        );
        assert_eq!(
            second.results.checks["coverage"].reason,
            "sonarqube.coverage is 61.2, needs > 80"
        );

        let unchanged = evaluate(&config, &worse, Some(&second.results), later + 1000);
        assert_eq!(unchanged.results, second.results, "the loss stays visible");
        assert!(unchanged.changes.is_empty());

        let regained = evaluate(&config, &good, Some(&second.results), later + 2000);
        let silver = &regained.results.tracks["ready"];
        assert_eq!(
            (silver.level, silver.since_ms, &silver.lost),
            (2, Some(later + 2000), &None)
        );
    }

    #[test]
    fn a_result_keeps_its_since_while_it_holds() {
        let config = config();
        let good = inputs(
            json!({"owner": "group:default/team-web", "has_techdocs": true}),
            85.0,
        );
        let first = evaluate(&config, &good, None, NOW).results;
        let better = inputs(
            json!({"owner": "group:default/team-web", "has_techdocs": true}),
            91.5,
        );
        let second = evaluate(&config, &better, Some(&first), NOW + 5000);
        assert_eq!(second.results.checks["coverage"].since_ms, NOW);
        assert_eq!(
            second.results.checks["coverage"].reason,
            "sonarqube.coverage is 91.5 (needs > 80)"
        );
        assert!(
            second.changes.is_empty(),
            "a new reason is no change of result"
        );
    }

    #[test]
    fn an_expired_manual_record_fails() {
        let config = config();
        let check = config.check("threat-model").unwrap();
        let mut inputs = inputs(json!({}), 0.0);
        assert!(
            decide(check, &inputs, NOW)
                .reason
                .starts_with("Not recorded yet")
        );
        inputs
            .manual
            .insert("threat-model".into(), manual(true, NOW));
        let verdict = decide(check, &inputs, NOW + 29 * DAY_MS);
        assert!(verdict.passed);
        assert!(verdict.reason.starts_with("Recorded as passing by user:default/ada on 2026-05-28: reviewed with security; valid until"), "{}", verdict.reason);
        let expired = decide(check, &inputs, NOW + 30 * DAY_MS);
        assert!(!expired.passed);
        assert!(
            expired
                .reason
                .contains("expired on 2026-06-27: record it again"),
            "{}",
            expired.reason
        );
    }

    #[test]
    fn external_results_are_reported_by_their_sender() {
        let config = config();
        let check = config.check("pen-test").unwrap();
        let mut inputs = inputs(json!({}), 0.0);
        assert_eq!(
            decide(check, &inputs, NOW),
            Verdict::fail("No result has been reported yet")
        );
        inputs.external.insert(
            "pen-test".into(),
            Recorded {
                passed: false,
                note: None,
                by: "service:pentest".into(),
                at_ms: NOW,
                expires_at_ms: None,
            },
        );
        assert_eq!(
            decide(check, &inputs, NOW),
            Verdict::fail("Reported as failing by service:pentest on 2026-05-28")
        );
    }

    #[test]
    fn evaluating_saves_results_and_history_only_on_change() {
        let store = MemoryStore::default();
        let config = config();
        let fact = |coverage: f64| Fact {
            entity: "component:default/pay".into(),
            collector: "sonarqube".into(),
            value: json!({"coverage": coverage}),
            collected_at_ms: NOW,
        };
        facts::save(&store, &fact(85.0)).unwrap();
        let subject = || subject("service", &[]);
        evaluate_entity(&store, &config, subject(), NOW).unwrap();
        let history_keys = |store: &MemoryStore| {
            store
                .keys()
                .into_iter()
                .filter(|k| k.starts_with("hist/"))
                .count()
        };
        let first = history_keys(&store);
        assert_eq!(first, 5, "4 checks and 1 track: {:?}", store.keys());
        evaluate_entity(&store, &config, subject(), NOW + 1).unwrap();
        assert_eq!(
            history_keys(&store),
            first,
            "nothing changed, nothing recorded"
        );
        facts::save(&store, &fact(50.0)).unwrap();
        evaluate_entity(&store, &config, subject(), NOW + 2).unwrap();
        assert_eq!(
            history_keys(&store),
            first + 1,
            "coverage started failing; the level was already none"
        );
        let record = record_manual(
            &store,
            config.check("threat-model").unwrap(),
            "component:default/pay",
            true,
            None,
            "user:default/ada",
            NOW + 3,
        )
        .unwrap();
        assert_eq!(record.expires_at_ms, Some(NOW + 3 + 30 * DAY_MS));
        evaluate_entity(&store, &config, subject(), NOW + 4).unwrap();
        assert_eq!(history_keys(&store), first + 2);
        let results = load_results(&store, "component:default/pay")
            .unwrap()
            .unwrap();
        assert!(results.passes("threat-model"));
    }

    #[test]
    fn only_external_checks_take_pushed_results() {
        let store = MemoryStore::default();
        let config = config();
        let record = Recorded {
            passed: true,
            note: None,
            by: "service:ci".into(),
            at_ms: NOW,
            expires_at_ms: None,
        };
        let refused = record_external(
            &store,
            config.check("owner").unwrap(),
            "component:default/pay",
            &record,
        );
        assert!(
            matches!(refused, Err(greenroom_sdk::Error::InvalidInput(m)) if m.contains("is a rule check"))
        );
        record_external(
            &store,
            config.check("pen-test").unwrap(),
            "component:default/pay",
            &record,
        )
        .unwrap();
        assert_eq!(store.keys(), ["external/component:default/pay/pen-test"]);
    }
}
