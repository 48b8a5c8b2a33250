//! The organisation's tech health at `/plugins/soundcheck`: levels by team,
//! trends per track, the worst checks, and the campaigns.

use super::{TREND_DAYS, check_name, percent, team_cell, when};
use crate::campaigns::{self, Phase};
use crate::config::{Config, Track};
use crate::day::{Day, now_ms};
use crate::history::{self, DaySummary, EvaluationRun, Tally, TrackTally};
use crate::keys;
use crate::store::Store;
use greenroom_sdk::view::*;
use greenroom_sdk::{Context, Result};
use std::collections::BTreeMap;

/// Checks listed as the worst.
const WORST_SHOWN: usize = 10;

/// The page.
pub fn health_page(
    store: &dyn Store,
    config: &Config,
    problems: Option<El>,
    cx: &Context,
    is_admin: bool,
) -> Result<View> {
    let today = Day::from_ms(now_ms());
    let summaries = history::days(store, today.plus(1 - TREND_DAYS), today)?;
    let run: Option<EvaluationRun> = store.get_json(keys::EVALUATION)?;
    let mut page = column();
    if is_admin {
        page = page.child(
            row()
                .child(link("Administer Soundcheck", cx.link_to("admin")))
                .child(link("Campaigns", cx.link_to("campaigns"))),
        );
    }
    if let Some(problems) = problems {
        page = page.child(problems);
    }
    let (Some(latest), Some(run)) = (summaries.last(), run) else {
        return Ok(page
            .child(empty(
                "No evaluation yet",
                "Soundcheck evaluates every entity every 10 minutes; the first results appear after the first run.",
            ))
            .into());
    };
    page = page.child(headline(config, latest, &run));
    page = page.child(trend(config, &summaries));
    let order = TeamOrder::of(cx);
    for track in &config.tracks {
        page = page.child(track_card(track, latest, order, cx));
    }
    page = page.child(worst_checks(config, latest, cx));
    page = page.child(campaign_list(config, latest, today, cx));
    Ok(page.into())
}

fn headline(config: &Config, latest: &DaySummary, run: &EvaluationRun) -> El {
    let mut checks = Tally::default();
    for teams in latest.checks.values() {
        checks.merge(DaySummary::total(Some(teams)));
    }
    let mut stats = row()
        .child(stat("Entities evaluated", run.entities).delta(format!("on {}", when(run.at_ms))))
        .child(
            stat("Checks passing", percent(checks))
                .delta(format!("{} of {}", checks.passing, checks.total)),
        );
    for track in &config.tracks {
        let total = latest.track_total(track.id.as_str());
        stats = stats.child(stat(
            format!("{}: certified", track.name),
            format!("{} of {}", total.certified(), total.entities),
        ));
    }
    card("Tech health")
        .subtitle("Every entity Soundcheck applies to, by track and team")
        .child(stats)
        .child(text(CERTIFIED).muted())
        .into()
}

/// What "certified" means wherever the page counts it.
const CERTIFIED: &str = "Certified: an entity holds at least the track's first level, that is, \
     it passes every check of that level. Levels are reached in order.";

/// How the teams of a track's table are ordered (`?sort=` on the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamOrder {
    /// The teams that lag first: the smallest share of certified
    /// entities, then the fewest checks passing.
    Lagging,
    /// By team name.
    Name,
    /// The teams with the most entities first.
    Entities,
}

impl TeamOrder {
    const ALL: [(TeamOrder, &'static str, &'static str); 3] = [
        (TeamOrder::Lagging, "lagging", "lagging first"),
        (TeamOrder::Name, "name", "name"),
        (TeamOrder::Entities, "entities", "most entities"),
    ];

    /// The order the page's `?sort=` asks for; lagging first by default.
    fn of(cx: &Context) -> TeamOrder {
        let asked = cx
            .query
            .iter()
            .find(|(n, _)| n == "sort")
            .map(|(_, v)| v.as_str());
        TeamOrder::ALL
            .iter()
            .find(|(_, key, _)| Some(*key) == asked)
            .map_or(TeamOrder::Lagging, |(order, _, _)| *order)
    }

    /// A track's teams in this order.
    pub fn sort(self, teams: &BTreeMap<String, TrackTally>) -> Vec<(&String, &TrackTally)> {
        let mut teams: Vec<_> = teams.iter().collect();
        let certified = |t: &TrackTally| match t.entities {
            0 => 0.0,
            n => f64::from(t.certified()) / f64::from(n),
        };
        match self {
            TeamOrder::Name => {}
            TeamOrder::Entities => teams.sort_by_key(|(_, t)| std::cmp::Reverse(t.entities)),
            TeamOrder::Lagging => teams.sort_by(|a, b| {
                certified(a.1)
                    .total_cmp(&certified(b.1))
                    .then(a.1.checks.percent().total_cmp(&b.1.checks.percent()))
            }),
        }
        teams
    }

    /// "Teams by: lagging first · name · most entities", the others links.
    fn choice(self, cx: &Context) -> El {
        TeamOrder::ALL.iter().fold(
            row().child(text("Teams by:").muted()),
            |row, (order, key, label)| match *order == self {
                true => row.child(text(*label).strong()),
                false => row.child(link(*label, format!("{}?sort={key}", cx.link_to("")))),
            },
        )
    }
}

/// Checks passing per track, one point per day evaluated: days before
/// Soundcheck ran are left out rather than drawn as zero.
fn trend(config: &Config, summaries: &[DaySummary]) -> El {
    let mut chart = line_chart(
        summaries
            .iter()
            .map(|s| s.day.map(|d| d.to_string()).unwrap_or_default()),
    )
    .title(format!("Checks passing, the last {TREND_DAYS} days"))
    .unit("%");
    for track in &config.tracks {
        let values = summaries
            .iter()
            .map(|s| s.track_total(track.id.as_str()).checks.percent());
        chart = chart.series(track.name.clone(), values);
    }
    card("Trends").child(chart).into()
}

fn track_card(track: &Track, latest: &DaySummary, order: TeamOrder, cx: &Context) -> El {
    let mut columns = vec![
        "Team".to_owned(),
        "Entities".to_owned(),
        "No level".to_owned(),
    ];
    columns.extend(track.levels.iter().map(|l| l.name.clone()));
    columns.push("Checks passing".to_owned());
    let mut table = table(columns);
    let teams = latest
        .tracks
        .get(track.id.as_str())
        .cloned()
        .unwrap_or_default();
    for (team, tally) in order.sort(&teams) {
        let mut cells = vec![team_cell(team), Cell::from(tally.entities.to_string())];
        cells.extend(
            (0..=track.levels.len())
                .map(|l| Cell::from(tally.levels.get(l).copied().unwrap_or(0).to_string())),
        );
        cells.push(Cell::from(percent(tally.checks)));
        table = table.row(cells);
    }
    let total = latest.track_total(track.id.as_str());
    let mut labels = vec!["No level".to_owned()];
    labels.extend(track.levels.iter().map(|l| l.name.clone()));
    let levels = (0..labels.len()).map(|l| f64::from(total.levels.get(l).copied().unwrap_or(0)));
    let chart = bar_chart(labels)
        .title("Entities by level")
        .series("Entities", levels);
    let mut card = card(track.name.clone())
        .child(chart)
        .child(order.choice(cx))
        .child(table);
    if !track.description.is_empty() {
        card = card.subtitle(track.description.clone());
    }
    card.into()
}

fn worst_checks(config: &Config, latest: &DaySummary, cx: &Context) -> El {
    let worst = latest.worst_checks(None, WORST_SHOWN);
    if worst.is_empty() {
        return card("Worst checks")
            .child(text("Every check passes everywhere.").tone(Tone::Success))
            .into();
    }
    let table = worst.iter().fold(
        table(["Check", "Failing", "Of", "Passing"]),
        |table, (id, tally)| {
            table.row([
                link_cell(check_name(config, id), cx.link_to(&format!("checks/{id}"))),
                Cell::from((tally.total - tally.passing).to_string()),
                Cell::from(tally.total.to_string()),
                Cell::from(percent(*tally)),
            ])
        },
    );
    card("Worst checks")
        .subtitle("Failing on the most entities")
        .child(table)
        .into()
}

fn campaign_list(config: &Config, latest: &DaySummary, today: Day, cx: &Context) -> El {
    let active: Vec<_> = config.campaigns.iter().filter(|c| !c.archived).collect();
    if active.is_empty() {
        return column();
    }
    let mut table = table([
        "Campaign",
        "Owner",
        "Deadline",
        "Progress",
        "Target today",
        "State",
    ]);
    for campaign in active {
        let progress = campaigns::progress(latest, campaign.id.as_str()).org;
        let target = campaigns::target_on(campaign, today);
        let state = match campaigns::phase(campaign, today) {
            Phase::Upcoming => badge_cell("Upcoming", Tone::Neutral),
            Phase::Running if progress.percent() >= target => badge_cell("On track", Tone::Success),
            Phase::Running => badge_cell("Behind", Tone::Warning),
            Phase::Ended => badge_cell("Ended", Tone::Neutral),
            Phase::Archived => badge_cell("Archived", Tone::Neutral),
        };
        table = table.row([
            link_cell(
                campaign.name.clone(),
                cx.link_to(&format!("campaigns/{}", campaign.id)),
            ),
            Cell::from(super::team_label(&campaign.owner)),
            Cell::from(campaign.deadline.to_string()),
            Cell::from(format!(
                "{} ({} of {})",
                percent(progress),
                progress.passing,
                progress.total
            )),
            Cell::from(format!("{target:.0}%")),
            state,
        ]);
    }
    card("Campaigns")
        .child(table)
        .child(link("All campaigns", cx.link_to("campaigns")))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(entities: u32, levels: Vec<u32>, passing: u32, total: u32) -> TrackTally {
        TrackTally {
            entities,
            levels,
            checks: Tally { passing, total },
        }
    }

    #[test]
    fn teams_that_lag_come_first_and_other_orders_are_offered() {
        let teams = BTreeMap::from([
            ("team-a".to_owned(), tally(4, vec![0, 4], 8, 8)),
            ("team-b".to_owned(), tally(10, vec![9, 1], 5, 20)),
            ("team-c".to_owned(), tally(2, vec![2, 0], 3, 4)),
        ]);
        let order = |o: TeamOrder| -> Vec<&str> {
            o.sort(&teams)
                .into_iter()
                .map(|(t, _)| t.as_str())
                .collect()
        };
        assert_eq!(order(TeamOrder::Lagging), ["team-c", "team-b", "team-a"]);
        assert_eq!(order(TeamOrder::Name), ["team-a", "team-b", "team-c"]);
        assert_eq!(order(TeamOrder::Entities), ["team-b", "team-a", "team-c"]);
    }
}
