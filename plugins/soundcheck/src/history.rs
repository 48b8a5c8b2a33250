//! History: every change of a check result or a track level, and a
//! summary per day for the charts.
//!
//! Spotify's Soundcheck keeps only the latest result; Soundcheck here keeps
//! each *change* (not each evaluation) under
//! `hist/<entity>/<ms>/<check:id|track:id>`, so an entity's history is one
//! prefix scan in time order and a steady entity costs nothing. Trends per
//! team and track come from [`DaySummary`], one key per day written by the
//! `evaluate` task (the last run of a day wins), a few kilobytes each.

use crate::campaigns;
use crate::config::Config;
use crate::day::Day;
use crate::entity::Subject;
use crate::evaluate::EntityResults;
use crate::keys;
use crate::store::Store;
use greenroom_sdk::Result;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How long changes and daily summaries are kept: a year, and a month to
/// compare it with. Storage grows with it, by about 200 bytes per change
/// kept, under a quota shared with facts and results.
pub const RETENTION_DAYS: i32 = 400;

/// Expired entries removed per write: keys are in time order, so the
/// oldest come first and a few per write keep up with the writes.
const PRUNE_BATCH: u32 = 10;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeOf {
    /// A check's result.
    Check(String),
    /// The level held on a track.
    Track(String),
}

impl ChangeOf {
    fn key(&self) -> String {
        match self {
            ChangeOf::Check(id) => format!("check:{id}"),
            ChangeOf::Track(id) => format!("track:{id}"),
        }
    }

    fn parse(key: &str) -> Option<ChangeOf> {
        match key.split_once(':')? {
            ("check", id) => Some(ChangeOf::Check(id.to_owned())),
            ("track", id) => Some(ChangeOf::Track(id.to_owned())),
            _ => None,
        }
    }
}

/// One change in an entity's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The entity.
    pub entity: String,
    /// When.
    pub at_ms: u64,
    /// Of what.
    pub of: ChangeOf,
    /// For a check: the new result.
    pub passed: Option<bool>,
    /// For a track: the new level.
    pub level: Option<usize>,
    /// Why, in words.
    pub reason: String,
}

/// The stored value; the entity, time and subject are in the key.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    level: Option<usize>,
    reason: String,
}

/// Keeps one change, and drops the entity's changes older than
/// [`RETENTION_DAYS`].
pub fn record(store: &dyn Store, change: &Change) -> Result<()> {
    let key = keys::history(&change.entity, change.at_ms, &change.of.key());
    let stored = Stored {
        passed: change.passed,
        level: change.level,
        reason: change.reason.clone(),
    };
    store.set_json(&key, &stored)?;
    let cutoff_ms = Day::from_ms(change.at_ms).plus(-RETENTION_DAYS).start_ms();
    let cutoff = keys::history(&change.entity, cutoff_ms, "");
    prune(store, &keys::history_prefix(&change.entity), &cutoff)
}

/// Deletes the first keys under `prefix` that sort before `cutoff`.
fn prune(store: &dyn Store, prefix: &str, cutoff: &str) -> Result<()> {
    for key in store.list_keys(prefix, None, PRUNE_BATCH)? {
        if key.as_str() >= cutoff {
            break;
        }
        store.delete(&key)?;
    }
    Ok(())
}

/// The entity's changes, oldest first, at most `max`.
pub fn entity_history(store: &dyn Store, entity: &str, max: usize) -> Result<Vec<Change>> {
    let prefix = keys::history_prefix(entity);
    let mut changes = Vec::new();
    let keys = store.all_keys(&prefix, max)?;
    let found = store.read_json_many::<Stored>(&keys)?;
    for (key, stored) in keys.iter().zip(found) {
        let Some((at, of)) = key[prefix.len()..].split_once('/') else {
            continue;
        };
        let (Ok(at_ms), Some(of), Some(stored)) = (at.parse(), ChangeOf::parse(of), stored) else {
            continue;
        };
        changes.push(Change {
            entity: entity.to_owned(),
            at_ms,
            of,
            passed: stored.passed,
            level: stored.level,
            reason: stored.reason,
        });
    }
    Ok(changes)
}

/// Passing and applicable checks of an entity at the end of each of `days`,
/// replayed from its history; only `checks` are counted.
pub fn entity_trend(changes: &[Change], checks: &BTreeSet<&str>, days: &[Day]) -> Vec<Tally> {
    let mut state: BTreeMap<&str, bool> = BTreeMap::new();
    let mut next = changes.iter().peekable();
    days.iter()
        .map(|day| {
            let end = day.plus(1).start_ms();
            while let Some(change) = next.next_if(|c| c.at_ms < end) {
                if let (ChangeOf::Check(id), Some(passed)) = (&change.of, change.passed)
                    && checks.contains(id.as_str())
                {
                    state.insert(id.as_str(), passed);
                }
            }
            Tally {
                passing: state.values().filter(|p| **p).count() as u32,
                total: state.len() as u32,
            }
        })
        .collect()
}

/// A count of entities or results that pass, out of those that count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// How many pass.
    pub passing: u32,
    /// Out of how many.
    pub total: u32,
}

impl Tally {
    /// Adds one.
    pub fn add(&mut self, passed: bool) {
        self.total += 1;
        self.passing += u32::from(passed);
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: Tally) {
        self.passing += other.passing;
        self.total += other.total;
    }

    /// Percent passing; 0 when there is nothing to count.
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            f64::from(self.passing) * 100.0 / f64::from(self.total)
        }
    }
}

/// One team's standing on one track.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackTally {
    /// Entities the track applies to.
    pub entities: u32,
    /// Entities by level held: `[none, level 1, level 2, …]`.
    pub levels: Vec<u32>,
    /// The track's applicable check results.
    pub checks: Tally,
}

impl TrackTally {
    fn merge(&mut self, other: &TrackTally) {
        self.entities += other.entities;
        if self.levels.len() < other.levels.len() {
            self.levels.resize(other.levels.len(), 0);
        }
        for (mine, theirs) in self.levels.iter_mut().zip(&other.levels) {
            *mine += theirs;
        }
        self.checks.merge(other.checks);
    }

    /// Entities holding at least level 1.
    pub fn certified(&self) -> u32 {
        self.levels.iter().skip(1).sum()
    }
}

/// The most entities kept in a check's failing list: the page lists them
/// for people to act on, and a check failing on more is fixed by a
/// campaign, not entity by entity. Raising it makes every full evaluation
/// write (and the check's page read) a larger value.
pub const MAX_FAILING_LISTED: usize = 500;

/// The entities failing one check at the last full evaluation, for the
/// check's page (linked from "Worst checks").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailingEntities {
    /// When the evaluation ran.
    pub at_ms: u64,
    /// How many entities failed it.
    pub total: u32,
    /// The first [`MAX_FAILING_LISTED`] of them, by reference.
    pub entities: Vec<String>,
}

impl FailingEntities {
    /// Counts one failing entity, keeping its reference while there is
    /// room.
    pub fn add(&mut self, entity_ref: &str) {
        self.total += 1;
        if self.entities.len() < MAX_FAILING_LISTED {
            self.entities.push(entity_ref.to_owned());
        }
    }
}

/// What the organisation looked like at the end of one day's evaluation:
/// per track and team, per check and team, per campaign and team.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DaySummary {
    /// The day.
    pub day: Option<Day>,
    /// When the evaluation that wrote it ran.
    pub at_ms: u64,
    /// Track id → team → standing.
    pub tracks: BTreeMap<String, BTreeMap<String, TrackTally>>,
    /// Check id → team → results.
    pub checks: BTreeMap<String, BTreeMap<String, Tally>>,
    /// Campaign id → team → in-scope entities passing every campaign check.
    pub campaigns: BTreeMap<String, BTreeMap<String, Tally>>,
}

impl DaySummary {
    /// Counts one entity's results towards its team.
    pub fn add(&mut self, config: &Config, subject: &Subject, results: &EntityResults) {
        let team = subject.team().to_owned();
        for (track_id, standing) in &results.tracks {
            let Some(track) = config.track(track_id) else {
                continue;
            };
            let tally = self
                .tracks
                .entry(track_id.clone())
                .or_default()
                .entry(team.clone())
                .or_default();
            tally.entities += 1;
            tally.levels.resize(track.levels.len() + 1, 0);
            if let Some(count) = tally.levels.get_mut(standing.level) {
                *count += 1;
            }
            let track_checks = track.levels.iter().flat_map(|l| &l.checks);
            for result in track_checks.filter_map(|c| results.checks.get(c)) {
                tally.checks.add(result.passed);
            }
        }
        for (check, result) in &results.checks {
            let teams = self.checks.entry(check.clone()).or_default();
            teams.entry(team.clone()).or_default().add(result.passed);
        }
        for campaign in config.campaigns.iter().filter(|c| !c.archived) {
            if let Some(passed) = campaigns::status(config, campaign, subject, results) {
                let teams = self.campaigns.entry(campaign.id.to_string()).or_default();
                teams.entry(team.clone()).or_default().add(passed);
            }
        }
    }

    /// A track across every team.
    pub fn track_total(&self, track: &str) -> TrackTally {
        let mut total = TrackTally::default();
        for tally in self
            .tracks
            .get(track)
            .into_iter()
            .flat_map(BTreeMap::values)
        {
            total.merge(tally);
        }
        total
    }

    /// A check, or a campaign, across every team.
    pub fn total(by_team: Option<&BTreeMap<String, Tally>>) -> Tally {
        let mut total = Tally::default();
        for tally in by_team.into_iter().flat_map(BTreeMap::values) {
            total.merge(*tally);
        }
        total
    }

    /// The checks failing most often, worst first: `(check, failing, applicable)`.
    pub fn worst_checks(&self, team: Option<&str>, limit: usize) -> Vec<(String, Tally)> {
        let mut checks: Vec<(String, Tally)> = self
            .checks
            .iter()
            .map(|(check, teams)| {
                let tally = match team {
                    Some(team) => teams.get(team).copied().unwrap_or_default(),
                    None => DaySummary::total(Some(teams)),
                };
                (check.clone(), tally)
            })
            .filter(|(_, t)| t.passing < t.total)
            .collect();
        checks.sort_by_key(|(check, t)| (std::cmp::Reverse(t.total - t.passing), check.clone()));
        checks.truncate(limit);
        checks
    }
}

/// Saves the summary of its day, and drops summaries older than
/// [`RETENTION_DAYS`].
pub fn save_day(store: &dyn Store, summary: &DaySummary) -> Result<()> {
    let Some(day) = summary.day else {
        return Ok(());
    };
    store.set_json(&keys::daily(day), summary)?;
    prune(
        store,
        keys::DAILY_PREFIX,
        &keys::daily(day.plus(-RETENTION_DAYS)),
    )
}

/// The summaries from `from` to `to` (inclusive) that exist, oldest first.
pub fn days(store: &dyn Store, from: Day, to: Day) -> Result<Vec<DaySummary>> {
    let span = usize::try_from(to.days_since(from) + 1).unwrap_or(0);
    let after = keys::daily(from.plus(-1));
    let last = keys::daily(to);
    let mut keys = store.list_keys(keys::DAILY_PREFIX, Some(&after), span.min(1000) as u32)?;
    keys.retain(|k| *k <= last);
    Ok(store
        .read_json_many::<DaySummary>(&keys)?
        .into_iter()
        .flatten()
        .collect())
}

/// The last full evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluationRun {
    /// When it ran.
    pub at_ms: u64,
    /// Entities evaluated.
    pub entities: u32,
    /// Changes recorded.
    pub changes: u32,
    /// How long it took.
    pub took_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day::DAY_MS;
    use crate::evaluate::{CheckResult, TrackStanding};
    use crate::store::MemoryStore;

    fn change(at_ms: u64, check: &str, passed: bool) -> Change {
        Change {
            entity: "component:default/pay".into(),
            at_ms,
            of: ChangeOf::Check(check.into()),
            passed: Some(passed),
            level: None,
            reason: format!("{check} {passed}"),
        }
    }

    #[test]
    fn an_entitys_history_is_one_prefix_scan_in_time_order() {
        let store = MemoryStore::default();
        for c in [
            change(2000, "b", true),
            change(1000, "a", false),
            change(3000, "a", true),
        ] {
            record(&store, &c).unwrap();
        }
        let mut other = change(1500, "a", true);
        other.entity = "component:default/pay-two".into();
        record(&store, &other).unwrap();
        let history = entity_history(&store, "component:default/pay", 100).unwrap();
        let order: Vec<u64> = history.iter().map(|c| c.at_ms).collect();
        assert_eq!(order, [1000, 2000, 3000]);
        assert_eq!(history[0], change(1000, "a", false));
        assert_eq!(
            store.keys()[0],
            "hist/component:default/pay-two/0000000001500/check:a"
        );
    }

    #[test]
    fn old_changes_and_summaries_are_dropped_as_new_ones_arrive() {
        let store = MemoryStore::default();
        let now = Day::parse("2026-11-25").unwrap().start_ms();
        let long_ago = now - (RETENTION_DAYS as u64 + 5) * DAY_MS;
        record(&store, &change(long_ago, "a", false)).unwrap();
        record(&store, &change(long_ago + 1, "b", false)).unwrap();
        let history = entity_history(&store, "component:default/pay", 100).unwrap();
        assert_eq!(history.len(), 2);
        record(&store, &change(now - DAY_MS, "a", true)).unwrap();
        record(&store, &change(now, "b", true)).unwrap();
        let kept: Vec<u64> = entity_history(&store, "component:default/pay", 100)
            .unwrap()
            .iter()
            .map(|c| c.at_ms)
            .collect();
        assert_eq!(kept, [now - DAY_MS, now]);
        let today = Day::from_ms(now);
        for day in [today.plus(-RETENTION_DAYS - 1), today.plus(-3), today] {
            save_day(
                &store,
                &DaySummary {
                    day: Some(day),
                    ..DaySummary::default()
                },
            )
            .unwrap();
        }
        let days: Vec<String> = store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("daily/"))
            .collect();
        assert_eq!(days, [keys::daily(today.plus(-3)), keys::daily(today)]);
    }

    #[test]
    fn replays_history_into_a_daily_trend() {
        let day = Day::parse("2026-05-01").unwrap();
        let at = |d: i32, h: u64| day.plus(d).start_ms() + h * 3_600_000;
        let changes = [
            change(at(0, 9), "a", false),
            change(at(0, 10), "b", true),
            change(at(2, 9), "a", true),
            change(at(2, 10), "gone", true),
        ];
        let checks = BTreeSet::from(["a", "b"]);
        let days: Vec<Day> = (0..4).map(|d| day.plus(d)).collect();
        let trend = entity_trend(&changes, &checks, &days);
        let passing: Vec<(u32, u32)> = trend.iter().map(|t| (t.passing, t.total)).collect();
        assert_eq!(passing, [(1, 2), (1, 2), (2, 2), (2, 2)]);
    }

    #[test]
    fn a_day_summary_counts_levels_checks_and_campaigns_per_team() {
        let config = crate::config::yaml::parse(
            "collectors: [{id: c, kind: catalog}]
checks:
  - {id: a, name: A, rule: {fact: c.a, op: exists}}
  - {id: b, name: B, rule: {fact: c.b, op: exists}}
tracks:
  - {id: t, name: T, levels: [{name: One, checks: [a]}, {name: Two, checks: [b]}]}
campaigns:
  - {id: camp, name: Camp, owner: team-x, checks: [b], start: 2026-01-01, deadline: 2026-12-31}
",
        )
        .unwrap();
        let mut summary = DaySummary::default();
        for (name, owner, a, b) in [
            ("x1", "team-x", true, true),
            ("x2", "team-x", true, false),
            ("y1", "team-y", false, true),
        ] {
            let subject = Subject {
                entity_ref: format!("component:default/{name}"),
                kind: "component".into(),
                owner: Some(format!("group:default/{owner}")),
                ..Subject::default()
            };
            let result = |passed| CheckResult {
                passed,
                reason: String::new(),
                since_ms: 0,
            };
            let level = if a && b {
                2
            } else if a {
                1
            } else {
                0
            };
            let results = EntityResults {
                entity: subject.entity_ref.clone(),
                checks: BTreeMap::from([("a".into(), result(a)), ("b".into(), result(b))]),
                tracks: BTreeMap::from([(
                    "t".into(),
                    TrackStanding {
                        level,
                        ..TrackStanding::default()
                    },
                )]),
            };
            summary.add(&config, &subject, &results);
        }
        let x = &summary.tracks["t"]["group:default/team-x"];
        assert_eq!(
            (x.entities, x.levels.clone(), x.checks),
            (
                2,
                vec![0, 1, 1],
                Tally {
                    passing: 3,
                    total: 4
                }
            )
        );
        let all = summary.track_total("t");
        assert_eq!(
            (all.entities, all.levels.clone(), all.certified()),
            (3, vec![1, 1, 1], 2)
        );
        assert_eq!(
            DaySummary::total(summary.campaigns.get("camp")),
            Tally {
                passing: 2,
                total: 3
            }
        );
        let worst = summary.worst_checks(None, 5);
        assert_eq!(
            worst,
            [
                (
                    "a".to_owned(),
                    Tally {
                        passing: 2,
                        total: 3
                    }
                ),
                (
                    "b".to_owned(),
                    Tally {
                        passing: 2,
                        total: 3
                    }
                )
            ]
        );
        assert_eq!(
            summary.worst_checks(Some("group:default/team-x"), 5).len(),
            1
        );
    }

    #[test]
    fn reads_a_range_of_days() {
        let store = MemoryStore::default();
        let first = Day::parse("2026-05-01").unwrap();
        for d in [0, 1, 3, 7] {
            let summary = DaySummary {
                day: Some(first.plus(d)),
                at_ms: d as u64,
                ..DaySummary::default()
            };
            save_day(&store, &summary).unwrap();
        }
        let read = days(&store, first.plus(1), first.plus(3)).unwrap();
        assert_eq!(read.iter().map(|s| s.at_ms).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(store.keys()[0], "daily/2026-05-01");
    }

    #[test]
    fn tallies_give_percentages() {
        let mut tally = Tally::default();
        assert_eq!(tally.percent(), 0.0);
        tally.add(true);
        tally.add(false);
        tally.add(true);
        tally.add(true);
        assert_eq!(tally.percent(), 75.0);
    }
}
