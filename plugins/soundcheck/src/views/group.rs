//! The Soundcheck tab of a Group (the team's entities and their levels,
//! the checks they fail most, the team's trend per track) and of a System
//! (the same for its parts, without a trend: the daily summaries count
//! per team).

use super::{TREND_DAYS, check_name, entity_cell, level_cell, percent};
use crate::config::Config;
use crate::day::{Day, now_ms};
use crate::entity::Subject;
use crate::evaluate::{EntityResults, load_results};
use crate::history::{self, Tally};
use crate::store::Store;
use crate::tasks::relevant;
use greenroom_sdk::catalog::{self, Query};
use greenroom_sdk::view::*;
use greenroom_sdk::{Entity, Result};
use std::collections::BTreeMap;

/// The most entities a team page lists: one catalog page.
const TEAM_ENTITIES: u32 = 500;

/// Failing checks listed.
const WORST_SHOWN: usize = 10;

/// The entities related to `target` by `relation` (`ownedBy`, `partOf`)
/// that Soundcheck applies to, with their results.
fn member_results(
    store: &dyn Store,
    config: &Config,
    relation: &str,
    target: &str,
) -> Result<Vec<(Subject, EntityResults)>> {
    let key = format!("relations.{relation}");
    let mut query = Query::filter([(key.as_str(), target)]);
    query.limit = TEAM_ENTITIES;
    let mut rows = Vec::new();
    for entity in catalog::query(query)?.items {
        let subject = Subject::of(&entity);
        if !relevant(config, &subject) {
            continue;
        }
        let results = load_results(store, &subject.entity_ref)?.unwrap_or_default();
        rows.push((subject, results));
    }
    Ok(rows)
}

/// The tab of the group `group`.
pub fn group_tab(store: &dyn Store, config: &Config, group: &Entity) -> Result<View> {
    let team = group.ref_.to_lowercase();
    let rows = member_results(store, config, "ownedBy", &team)?;
    if rows.is_empty() {
        return Ok(empty(
            "Nothing to check",
            "This team owns no entity that a Soundcheck track or check applies to.",
        )
        .into());
    }
    Ok(column()
        .child(levels_card(config, &group.name, &rows))
        .child(failing_card(config, &rows))
        .child(trend_card(store, config, &team)?)
        .into())
}

/// The tab of the system `system`: its parts.
pub fn system_tab(store: &dyn Store, config: &Config, system: &Entity) -> Result<View> {
    let rows = member_results(store, config, "partOf", &system.ref_.to_lowercase())?;
    if rows.is_empty() {
        return Ok(empty(
            "Nothing to check",
            "No part of this system is something a Soundcheck track or check applies to.",
        )
        .into());
    }
    Ok(column()
        .child(levels_card(config, &system.name, &rows))
        .child(failing_card(config, &rows))
        .into())
}

fn levels_card(config: &Config, name: &str, rows: &[(Subject, EntityResults)]) -> El {
    let mut columns = vec!["Entity".to_owned()];
    columns.extend(config.tracks.iter().map(|t| t.name.clone()));
    columns.push("Failing checks".to_owned());
    let mut table = table(columns);
    for (subject, results) in rows {
        let mut cells = vec![entity_cell(&subject.entity_ref)];
        for track in &config.tracks {
            cells.push(match results.tracks.get(track.id.as_str()) {
                Some(standing) => level_cell(track, standing.level),
                None => Cell::from("—"),
            });
        }
        let failing = results.checks.values().filter(|r| !r.passed).count();
        cells.push(Cell::from(failing.to_string()));
        table = table.row(cells);
    }
    let mut stats = row().child(stat("Entities", rows.len()));
    for track in &config.tracks {
        let on_track: Vec<usize> = rows
            .iter()
            .filter_map(|(_, r)| r.tracks.get(track.id.as_str()).map(|s| s.level))
            .collect();
        let certified = on_track.iter().filter(|l| **l > 0).count();
        stats = stats.child(stat(
            format!("{}: certified", track.name),
            format!("{certified} of {}", on_track.len()),
        ));
    }
    card(format!("{name}: Soundcheck"))
        .child(stats)
        .child(table)
        .into()
}

fn failing_card(config: &Config, rows: &[(Subject, EntityResults)]) -> El {
    let mut by_check: BTreeMap<&str, Tally> = BTreeMap::new();
    for (_, results) in rows {
        for (check, result) in &results.checks {
            by_check
                .entry(check.as_str())
                .or_default()
                .add(result.passed);
        }
    }
    let mut failing: Vec<(&str, Tally)> = by_check
        .into_iter()
        .filter(|(_, t)| t.passing < t.total)
        .collect();
    failing.sort_by_key(|(id, t)| (std::cmp::Reverse(t.total - t.passing), *id));
    if failing.is_empty() {
        return card("Failing checks")
            .child(text("Every check passes. Well done.").tone(Tone::Success))
            .into();
    }
    let table = failing.iter().take(WORST_SHOWN).fold(
        table(["Check", "Entities failing", "Of"]),
        |table, (id, tally)| {
            table.row([
                Cell::from(check_name(config, id)),
                Cell::from((tally.total - tally.passing).to_string()),
                Cell::from(tally.total.to_string()),
            ])
        },
    );
    card("Failing checks")
        .subtitle("Across these entities, most failing first")
        .child(table)
        .into()
}

fn trend_card(store: &dyn Store, config: &Config, team: &str) -> Result<El> {
    let today = Day::from_ms(now_ms());
    let summaries = history::days(store, today.plus(1 - TREND_DAYS), today)?;
    if summaries.is_empty() {
        return Ok(column());
    }
    // One point per day evaluated, as on the tech-health page.
    let labels = summaries
        .iter()
        .map(|s| s.day.map(|d| d.to_string()).unwrap_or_default());
    let mut chart = line_chart(labels).title("Checks passing").unit("%");
    for track in &config.tracks {
        let values = summaries.iter().map(|s| {
            s.tracks
                .get(track.id.as_str())
                .and_then(|teams| teams.get(team))
                .map_or(0.0, |t| t.checks.percent())
        });
        chart = chart.series(track.name.clone(), values);
    }
    let latest = summaries
        .last()
        .map(|s| s.worst_checks(Some(team), WORST_SHOWN))
        .unwrap_or_default();
    let mut card = card("Trend")
        .subtitle(format!("The last {TREND_DAYS} days"))
        .child(chart);
    if let Some((id, tally)) = latest.first() {
        card = card.child(text(format!(
            "Most failed on the last evaluation: {} ({} passing)",
            check_name(config, id),
            percent(*tally)
        )));
    }
    Ok(card.into())
}
