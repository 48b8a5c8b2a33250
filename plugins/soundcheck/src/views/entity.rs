//! The entity card (levels per track) and the entity tab (every check:
//! result, since when, why, how to fix; manual checks; Collect now;
//! history and facts).

use super::{TREND_DAYS, check_name, last_days, level_badge, result_cell, tab_path, when};
use crate::config::{Check, CheckKind, Config, Track};
use crate::day::{Day, now_ms};
use crate::entity::Subject;
use crate::evaluate::{EntityResults, applies, failing_in_level, level_name};
use crate::facts;
use crate::history::{self, ChangeOf, entity_trend};
use crate::permissions::{MANUAL_CHECK, may};
use crate::store::Store;
use greenroom_sdk::view::*;
use greenroom_sdk::{Entity, Result};
use std::collections::BTreeSet;

/// The most history entries read for an entity's tab.
const HISTORY_READ: usize = 2000;

/// Recent changes listed on the tab.
const HISTORY_SHOWN: usize = 15;

/// The tracks that apply to `subject`.
fn tracks_for<'c>(config: &'c Config, subject: &Subject) -> Vec<&'c Track> {
    config
        .tracks
        .iter()
        .filter(|t| t.filter.matches(subject))
        .collect()
}

/// `(passing, applicable)` checks of a track.
fn track_counts(track: &Track, results: &EntityResults) -> (usize, usize) {
    let applicable: Vec<bool> = track
        .levels
        .iter()
        .flat_map(|l| &l.checks)
        .filter_map(|c| results.checks.get(c).map(|r| r.passed))
        .collect();
    (applicable.iter().filter(|p| **p).count(), applicable.len())
}

/// The card on the entity's overview: its level on each track.
pub fn entity_card(store: &dyn Store, config: &Config, entity: &Entity) -> Result<View> {
    let subject = Subject::of(entity);
    let tracks = tracks_for(config, &subject);
    let card = card("Soundcheck");
    if tracks.is_empty() && subject.kind == "system" {
        return Ok(card
            .child(text("No track applies to the system itself.").muted())
            .child(link("See its parts' levels", tab_path(&subject.entity_ref)))
            .into());
    }
    if tracks.is_empty() {
        return Ok(card
            .child(text("No Soundcheck track applies to this entity.").muted())
            .into());
    }
    let Some(results) = crate::evaluate::load_results(store, &subject.entity_ref)? else {
        return Ok(card
            .child(empty(
                "Not evaluated yet",
                "Soundcheck evaluates entities every few minutes.",
            ))
            .child(link("Open Soundcheck", tab_path(&subject.entity_ref)))
            .into());
    };
    let mut rows = column();
    for track in tracks {
        rows = rows.child(track_line(track, &results));
    }
    Ok(card
        .child(rows)
        .child(link("See every check", tab_path(&subject.entity_ref)))
        .into())
}

fn track_line(track: &Track, results: &EntityResults) -> El {
    let standing = results
        .tracks
        .get(track.id.as_str())
        .cloned()
        .unwrap_or_default();
    let (passing, total) = track_counts(track, results);
    let mut line = column().child(
        row()
            .child(text(&track.name).strong())
            .child(level_badge(track, standing.level))
            .child(text(format!("{passing} of {total} checks pass")).muted()),
    );
    if let Some(lost) = &standing.lost {
        line = line.child(
            text(format!(
                "Lost {} on {}: {} started failing",
                level_name(track, lost.level),
                when(lost.at_ms),
                lost.because.join(", ")
            ))
            .tone(Tone::Warning),
        );
    }
    line
}

/// The entity's Soundcheck tab.
pub fn entity_tab(store: &dyn Store, config: &Config, entity: &Entity) -> Result<View> {
    let subject = Subject::of(entity);
    let results = crate::evaluate::load_results(store, &subject.entity_ref)?.unwrap_or_default();
    let checks: Vec<&Check> = config
        .checks
        .iter()
        .filter(|c| applies(config, c, &subject))
        .collect();
    if checks.is_empty() && tracks_for(config, &subject).is_empty() {
        return Ok(empty(
            "Soundcheck does not apply here",
            "No track or check is configured for entities like this one.",
        )
        .into());
    }
    let may_record = may(MANUAL_CHECK, Some(&subject.entity_ref))?;
    let steps = next_steps(config, &subject, &results);
    let mut page = column().child(summary(config, &subject, &results));
    page = page.child(next_steps_card(&steps, &results, &subject, may_record));
    for track in tracks_for(config, &subject) {
        page = page.child(track_card(config, &subject, track, &results));
    }
    page = page.child(other_checks(config, &subject, &results));
    let in_steps: BTreeSet<&str> = steps
        .iter()
        .flat_map(|s| s.checks.iter().map(|c| c.id.as_str()))
        .collect();
    let rest: Vec<&Check> = checks
        .iter()
        .copied()
        .filter(|c| !in_steps.contains(c.id.as_str()))
        .collect();
    page = page.child(how_to_fix(&rest, &results));
    page = page.child(manual_checks(
        &checks,
        &results,
        &subject.entity_ref,
        may_record.then_some(&in_steps),
    ));
    page = page.child(history_card(store, config, &subject, &results)?);
    page = page.child(facts_card(store, config, &subject.entity_ref)?);
    Ok(page.into())
}

fn summary(config: &Config, subject: &Subject, results: &EntityResults) -> El {
    let mut stats = row();
    for track in tracks_for(config, subject) {
        let standing = results
            .tracks
            .get(track.id.as_str())
            .cloned()
            .unwrap_or_default();
        let label = if standing.level == 0 {
            "No level".to_owned()
        } else {
            level_name(track, standing.level)
        };
        let mut stat = stat(&track.name, label).tone(super::level_tone(track, standing.level));
        if let Some(since) = standing.since_ms {
            stat = stat.delta(format!("since {}", when(since)));
        }
        stats = stats.child(stat);
    }
    let passing = results.checks.values().filter(|r| r.passed).count();
    stats = stats.child(stat(
        "Checks passing",
        format!("{passing} of {}", results.checks.len()),
    ));
    let collect = form("collect-now", "Collect now")
        .child(
            text("Collect facts for this entity from every collector now, and evaluate it.")
                .muted(),
        )
        .field(Field::new(FieldKind::Hidden, "entity", "").value(subject.entity_ref.clone()));
    card("Soundcheck")
        .subtitle(subject.entity_ref.clone())
        .child(stats)
        .child(collect)
        .into()
}

fn check_row(config: &Config, subject: &Subject, id: &str, results: &EntityResults) -> Vec<Cell> {
    let name = Cell::from(check_name(config, id));
    match results.checks.get(id) {
        Some(result) => vec![
            name,
            result_cell(result.passed),
            Cell::from(when(result.since_ms)),
            Cell::from(result.reason.clone()),
        ],
        None => vec![
            name,
            Cell::from(missing_result(config, subject, id)),
            Cell::Empty,
            Cell::Empty,
        ],
    }
}

/// What a check without a result is: one that applies but has not been
/// evaluated for the entity yet (its first evaluation is up to 10 minutes
/// away), or one whose filter leaves the entity out.
fn missing_result(config: &Config, subject: &Subject, id: &str) -> &'static str {
    if config
        .check(id)
        .is_some_and(|check| applies(config, check, subject))
    {
        "Not evaluated yet"
    } else {
        "Does not apply"
    }
}

fn track_card(config: &Config, subject: &Subject, track: &Track, results: &EntityResults) -> El {
    let standing = results
        .tracks
        .get(track.id.as_str())
        .cloned()
        .unwrap_or_default();
    let mut card = card(track.name.clone()).child(
        row()
            .child(text("Level").strong())
            .child(level_badge(track, standing.level)),
    );
    if !track.description.is_empty() {
        card = card.subtitle(track.description.clone());
    }
    if let Some(lost) = &standing.lost {
        card = card.child(
            text(format!(
                "Lost {} on {} because {} started failing.",
                level_name(track, lost.level),
                when(lost.at_ms),
                lost.because
                    .iter()
                    .map(|c| check_name(config, c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .tone(Tone::Warning),
        );
    }
    for (i, level) in track.levels.iter().enumerate() {
        let held = standing.level > i;
        let status = if held {
            badge("Reached", Tone::Success)
        } else if failing_in_level(track, i + 1, &results.checks).is_empty() {
            badge("Blocked by a lower level", Tone::Neutral)
        } else {
            badge("Not reached", Tone::Warning)
        };
        card = card
            .child(
                row()
                    .child(heading_level(3, level.name.clone()))
                    .child(status),
            )
            .child(
                level
                    .checks
                    .iter()
                    .fold(table(["Check", "Result", "Since", "Why"]), |table, id| {
                        table.row(check_row(config, subject, id, results))
                    }),
            );
    }
    card.into()
}

/// Applicable checks outside every track that applies (campaign checks,
/// checks of no track).
fn other_checks(config: &Config, subject: &Subject, results: &EntityResults) -> El {
    let in_tracks: BTreeSet<&str> = tracks_for(config, subject)
        .iter()
        .flat_map(|t| {
            t.levels
                .iter()
                .flat_map(|l| l.checks.iter().map(String::as_str))
        })
        .collect();
    let others: Vec<&str> = results
        .checks
        .keys()
        .map(String::as_str)
        .filter(|id| !in_tracks.contains(id) && config.check(id).is_some())
        .collect();
    if others.is_empty() {
        return column();
    }
    let table = others
        .iter()
        .fold(table(["Check", "Result", "Since", "Why"]), |table, id| {
            table.row(check_row(config, subject, id, results))
        });
    card("Other checks")
        .subtitle("Checks of campaigns, or of no track")
        .child(table)
        .into()
}

/// The next level of one track, and the failing checks that stand between
/// the entity and it.
struct NextStep<'c> {
    track: &'c Track,
    /// The level to reach, from 1.
    level: usize,
    checks: Vec<&'c Check>,
}

/// For each track the entity has not completed, the first level it has
/// not reached and the checks failing in it: what to fix first.
fn next_steps<'c>(
    config: &'c Config,
    subject: &Subject,
    results: &EntityResults,
) -> Vec<NextStep<'c>> {
    tracks_for(config, subject)
        .into_iter()
        .filter_map(|track| {
            let held = results
                .tracks
                .get(track.id.as_str())
                .map_or(0, |standing| standing.level);
            let level = held + 1;
            let checks: Vec<&Check> = failing_in_level(track, level, &results.checks)
                .iter()
                .filter_map(|id| config.check(id))
                .collect();
            (!checks.is_empty()).then_some(NextStep {
                track,
                level,
                checks,
            })
        })
        .collect()
}

/// "To reach Gold in Security, fix these 2", at the top of the tab: each
/// failing check with why it fails and how to fix it, and for a manual
/// check the form to record it, together.
fn next_steps_card(
    steps: &[NextStep],
    results: &EntityResults,
    subject: &Subject,
    may_record: bool,
) -> El {
    if steps.is_empty() {
        return column();
    }
    let mut card =
        card("Next steps").subtitle("What stands between this entity and its next level");
    for step in steps {
        let count = match step.checks.len() {
            1 => "this one".to_owned(),
            n => format!("these {n}"),
        };
        card = card.child(heading_level(
            3,
            format!(
                "To reach {} in {}, fix {count}",
                level_name(step.track, step.level),
                step.track.name
            ),
        ));
        for check in &step.checks {
            card = card.child(failing_check(check, results));
            if may_record && matches!(check.kind, CheckKind::Manual { .. }) {
                card = card.child(manual_form(check, &subject.entity_ref));
            }
        }
    }
    card.into()
}

/// A failing check: its name, why it fails, and how to fix it.
fn failing_check(check: &Check, results: &EntityResults) -> El {
    let mut block = column().child(
        row()
            .child(text(check.name.clone()).strong())
            .child(badge("Fail", Tone::Danger)),
    );
    if let Some(result) = results.checks.get(check.id.as_str()) {
        block = block.child(text(format!("Why: {}", result.reason)));
    }
    if !check.description.is_empty() {
        block = block.child(text(check.description.clone()).muted());
    }
    block.child(if check.how_to_fix.is_empty() {
        text("No instructions yet; ask the check's owners.")
            .muted()
            .into()
    } else {
        markdown(check.how_to_fix.clone())
    })
}

/// The failing checks not already under next steps (higher levels,
/// campaigns), each with why and how to fix.
fn how_to_fix(checks: &[&Check], results: &EntityResults) -> El {
    let failing: Vec<&&Check> = checks
        .iter()
        .filter(|c| results.checks.get(c.id.as_str()).is_some_and(|r| !r.passed))
        .collect();
    if failing.is_empty() {
        return column();
    }
    let mut card = card("How to fix the failing checks");
    for check in failing {
        card = card.child(failing_check(check, results));
    }
    card.into()
}

/// Every manual check that applies, with its result; with the form to
/// record it when `record` is given (the user may record), except for the
/// checks in `record` already offered under next steps.
fn manual_checks(
    checks: &[&Check],
    results: &EntityResults,
    entity: &str,
    record: Option<&BTreeSet<&str>>,
) -> El {
    let manual: Vec<&&Check> = checks
        .iter()
        .filter(|c| matches!(c.kind, CheckKind::Manual { .. }))
        .collect();
    if manual.is_empty() {
        return column();
    }
    let mut card =
        card("Manual checks").subtitle("Recorded by the entity's owners; a record expires.");
    for check in manual {
        let result = results.checks.get(check.id.as_str());
        card = card.child(
            row()
                .child(text(check.name.clone()).strong())
                .child(match result {
                    Some(r) if r.passed => badge("Pass", Tone::Success),
                    Some(_) => badge("Fail", Tone::Danger),
                    None => badge("Not evaluated", Tone::Neutral),
                }),
        );
        if let Some(result) = result {
            card = card.child(text(result.reason.clone()).muted());
        }
        match record {
            Some(in_steps) if in_steps.contains(check.id.as_str()) => {
                card = card.child(text("Record it under Next steps, above.").muted());
            }
            Some(_) => card = card.child(manual_form(check, entity)),
            None => {}
        }
    }
    if record.is_none() {
        card = card.child(
            text("You may not record manual checks on this entity: that needs the permission soundcheck.manual-check on it, which an admin grants (usually to its owners).")
                .muted(),
        );
    }
    card.into()
}

fn manual_form(check: &Check, entity: &str) -> El {
    let hidden =
        |name: &str, value: &str| Field::new(FieldKind::Hidden, name, "").value(value.to_owned());
    let expiry = match check.kind {
        CheckKind::Manual { expiry_days } => expiry_days,
        _ => 0,
    };
    form("record-manual", format!("Record {}", check.name))
        .field(hidden("entity", entity))
        .field(hidden("check", check.id.as_str()))
        .field(
            Field::select("result", "Result", [("pass", "Pass"), ("fail", "Fail")])
                .required()
                .value("pass"),
        )
        .field(Field::textarea("note", "Note").help(format!(
            "What was checked, and by whom. The record is valid for {expiry} days."
        )))
        .into()
}

fn history_card(
    store: &dyn Store,
    config: &Config,
    subject: &Subject,
    results: &EntityResults,
) -> Result<El> {
    let changes = history::entity_history(store, &subject.entity_ref, HISTORY_READ)?;
    if changes.is_empty() {
        return Ok(column());
    }
    let today = Day::from_ms(now_ms());
    let first = Day::from_ms(changes[0].at_ms);
    let days: Vec<Day> = last_days(today, TREND_DAYS)
        .into_iter()
        .filter(|d| *d >= first)
        .collect();
    let current: BTreeSet<&str> = results.checks.keys().map(String::as_str).collect();
    let trend = entity_trend(&changes, &current, &days);
    let chart = line_chart(days.iter().map(ToString::to_string))
        .title("Checks passing")
        .series("Passing", trend.iter().map(|t| f64::from(t.passing)))
        .series("Applicable", trend.iter().map(|t| f64::from(t.total)));
    let mut recent = table(["When", "What", "Now", "Why"]);
    for change in changes.iter().rev().take(HISTORY_SHOWN) {
        recent = recent.row(change_row(config, change));
    }
    Ok(card("History")
        .subtitle("Every change of a result or level")
        .child(chart)
        .child(recent)
        .into())
}

fn change_row(config: &Config, change: &history::Change) -> Vec<Cell> {
    let (what, now) = match (&change.of, change.passed, change.level) {
        (ChangeOf::Check(id), Some(passed), _) => (check_name(config, id), result_cell(passed)),
        (ChangeOf::Track(id), _, Some(level)) => match config.track(id) {
            Some(track) => (track.name.clone(), super::level_cell(track, level)),
            None => (id.clone(), Cell::from(level.to_string())),
        },
        (ChangeOf::Check(id) | ChangeOf::Track(id), _, _) => (id.clone(), Cell::Empty),
    };
    vec![
        Cell::from(when(change.at_ms)),
        Cell::from(what),
        now,
        Cell::from(change.reason.clone()),
    ]
}

fn facts_card(store: &dyn Store, config: &Config, entity: &str) -> Result<El> {
    let facts = facts::load(store, entity, config.collector_ids())?;
    let mut table = table(["Collector", "Collected", "Fields"]);
    for collector in &config.collectors {
        let id = collector.id.as_str();
        let (collected, fields) = match facts.0.get(id) {
            Some(fact) => (
                when(fact.collected_at_ms),
                fact.value
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
            ),
            None => ("never".to_owned(), String::new()),
        };
        table = table.row([
            Cell::from(format!("{id} ({})", collector.kind.name())),
            Cell::from(collected),
            Cell::from(fields),
        ]);
    }
    Ok(card("Facts")
        .subtitle("What the collectors know about this entity")
        .child(table)
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;

    #[test]
    fn next_steps_name_the_first_level_not_reached_and_only_its_failing_checks() {
        let config = yaml::parse(
            "collectors: [{id: c, kind: catalog}]
checks:
  - {id: owned, name: Owned, external: true}
  - {id: docs, name: Docs, external: true}
  - {id: oncall, name: On call, how-to-fix: Add a rotation., external: true}
  - {id: slo, name: SLO, external: true}
tracks:
  - {id: t, name: Readiness, levels: [{name: Bronze, checks: [owned, docs]}, {name: Silver, checks: [oncall, slo]}]}
",
        )
        .unwrap();
        let subject = Subject {
            entity_ref: "component:default/pay".into(),
            kind: "component".into(),
            ..Subject::default()
        };
        let result = |passed: bool, reason: &str| crate::evaluate::CheckResult {
            passed,
            reason: reason.into(),
            since_ms: 1,
        };
        let mut results = EntityResults::default();
        results
            .checks
            .insert("owned".into(), result(true, "owned by team-a"));
        results
            .checks
            .insert("docs".into(), result(true, "has docs"));
        results
            .checks
            .insert("oncall".into(), result(false, "no rotation"));
        results.checks.insert("slo".into(), result(false, "no SLO"));
        results.tracks.insert(
            "t".into(),
            crate::evaluate::TrackStanding {
                level: 1,
                ..Default::default()
            },
        );
        let steps = next_steps(&config, &subject, &results);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].level, 2);
        let ids: Vec<&str> = steps[0].checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["oncall", "slo"]);
        let card = format!("{:?}", next_steps_card(&steps, &results, &subject, false));
        for expected in [
            "To reach Silver in Readiness, fix these 2",
            "Why: no rotation",
            "Add a rotation.",
        ] {
            assert!(card.contains(expected), "`{expected}` in {card}");
        }

        results.checks.insert("slo".into(), result(true, "99.9%"));
        results
            .checks
            .insert("oncall".into(), result(true, "rotation"));
        results.tracks.get_mut("t").unwrap().level = 2;
        assert!(
            next_steps(&config, &subject, &results).is_empty(),
            "the track is complete"
        );
    }

    #[test]
    fn a_check_without_a_result_is_not_evaluated_yet_where_it_applies() {
        let config = yaml::parse(
            "collectors: [{id: c, kind: catalog}]
checks:
  - {id: owned, name: Owned, rule: {fact: c.has_owner, op: equals, value: true}}
  - {id: pci, name: PCI scan, filter: {tags: pci-dss}, rule: {fact: c.x, op: exists}}
tracks:
  - {id: t, name: T, levels: [{name: Bronze, checks: [owned, pci]}]}
",
        )
        .unwrap();
        let subject = Subject {
            entity_ref: "component:default/pay".into(),
            kind: "component".into(),
            ..Subject::default()
        };
        let never_evaluated = EntityResults::default();
        assert_eq!(
            missing_result(&config, &subject, "owned"),
            "Not evaluated yet"
        );
        assert_eq!(missing_result(&config, &subject, "pci"), "Does not apply");
        let row = format!(
            "{:?}",
            check_row(&config, &subject, "owned", &never_evaluated)
        );
        assert!(row.contains("Not evaluated yet"), "{row}");
    }
}
