//! Campaign pages: `/plugins/soundcheck/campaigns` and
//! `/plugins/soundcheck/campaigns/<id>`.

use super::{check_name, percent, team_cell, team_label};
use crate::campaigns::{self, MilestoneState, Phase};
use crate::config::{Campaign, Config};
use crate::day::{Day, now_ms};
use crate::history::{self, DaySummary};
use crate::store::Store;
use greenroom_sdk::view::*;
use greenroom_sdk::{Context, Result};

/// The most points a progress chart draws; longer campaigns are sampled.
const CHART_POINTS: usize = 60;

/// The list of every campaign, active first.
pub fn campaign_list(config: &Config, cx: &Context) -> View {
    if config.campaigns.is_empty() {
        return empty(
            "No campaigns",
            "Campaigns are configured in the YAML setting or the admin pages.",
        )
        .into();
    }
    let today = Day::from_ms(now_ms());
    let mut sorted: Vec<&Campaign> = config.campaigns.iter().collect();
    sorted.sort_by_key(|c| (c.archived, c.deadline));
    let table = sorted.iter().fold(
        table(["Campaign", "Owner", "Start", "Deadline", "State"]),
        |table, campaign| {
            table.row([
                link_cell(
                    campaign.name.clone(),
                    cx.link_to(&format!("campaigns/{}", campaign.id)),
                ),
                Cell::from(team_label(&campaign.owner)),
                Cell::from(campaign.start.to_string()),
                Cell::from(campaign.deadline.to_string()),
                phase_cell(campaigns::phase(campaign, today)),
            ])
        },
    );
    card("Campaigns")
        .child(table)
        .child(link("Tech health", cx.link_to("")))
        .into()
}

fn phase_cell(phase: Phase) -> Cell {
    match phase {
        Phase::Upcoming => badge_cell("Upcoming", Tone::Neutral),
        Phase::Running => badge_cell("Running", Tone::Info),
        Phase::Ended => badge_cell("Ended", Tone::Warning),
        Phase::Archived => badge_cell("Archived", Tone::Neutral),
    }
}

/// One campaign's page.
pub fn campaign_page(
    store: &dyn Store,
    config: &Config,
    id: &str,
    cx: &Context,
    is_admin: bool,
) -> Result<View> {
    let Some(campaign) = config.campaign(id) else {
        return Ok(empty("No such campaign", format!("No campaign is called `{id}`.")).into());
    };
    let today = Day::from_ms(now_ms());
    let until = today.min(campaign.deadline);
    let summaries = history::days(store, campaign.start, until)?;
    let latest = summaries.last().cloned().unwrap_or_default();
    let progress = campaigns::progress(&latest, id);
    let target = campaigns::target_on(campaign, today);
    let mut about = properties()
        .property(
            "Owner",
            team_cell(
                &crate::entity::normalize_ref(&campaign.owner, Some("group")).unwrap_or_default(),
            ),
        )
        .property(
            "Runs",
            format!("{} to {}", campaign.start, campaign.deadline),
        )
        .property("State", phase_cell(campaigns::phase(campaign, today)))
        .property(
            "Checks",
            campaign
                .checks
                .iter()
                .map(|c| check_name(config, c))
                .collect::<Vec<_>>()
                .join(", "),
        );
    if !campaign.filter.is_empty() {
        about = about.property("Scope", campaign.filter.describe());
    }
    let tone = if progress.org.percent() >= target {
        Tone::Success
    } else {
        Tone::Warning
    };
    let stats = row()
        .child(
            stat("Passing", percent(progress.org))
                .tone(tone)
                .delta(format!(
                    "{} of {} entities",
                    progress.org.passing, progress.org.total
                )),
        )
        .child(stat("Target today", format!("{target:.0}")).unit("%"))
        .child(stat(
            "Days left",
            campaign.deadline.days_since(today).max(0),
        ));
    let mut card = card(campaign.name.clone()).child(about).child(stats);
    if !campaign.description.is_empty() {
        card = card.subtitle(campaign.description.clone());
    }
    let mut page = column()
        .child(card)
        .child(milestones(campaign, &summaries, today))
        .child(chart(campaign, &summaries, until))
        .child(teams(&latest, id));
    if is_admin {
        page = page.child(archive_form(campaign));
    }
    Ok(page
        .child(link("All campaigns", cx.link_to("campaigns")))
        .into())
}

fn milestones(campaign: &Campaign, summaries: &[DaySummary], today: Day) -> El {
    if campaign.milestones.is_empty() {
        return column();
    }
    let mut table = table(["Due", "Target", "Reached", "State"]);
    for (milestone, state) in campaigns::milestones(campaign, summaries, today) {
        let (reached, state) = match state {
            MilestoneState::Upcoming => (String::new(), badge_cell("Upcoming", Tone::Neutral)),
            MilestoneState::Met(p) => (format!("{p:.0}%"), badge_cell("Met", Tone::Success)),
            MilestoneState::Missed(p) => (format!("{p:.0}%"), badge_cell("Missed", Tone::Danger)),
            MilestoneState::Unknown => ("—".to_owned(), badge_cell("Not measured", Tone::Neutral)),
        };
        table = table.row([
            Cell::from(milestone.date.to_string()),
            Cell::from(format!("{:.0}%", milestone.target)),
            Cell::from(reached),
            state,
        ]);
    }
    card("Milestones").child(table).into()
}

fn chart(campaign: &Campaign, summaries: &[DaySummary], until: Day) -> El {
    // From the first evaluation in the campaign: earlier days were not measured.
    let Some(first) = summaries
        .first()
        .and_then(|s| s.day)
        .map(|d| d.max(campaign.start))
    else {
        return column();
    };
    let span = usize::try_from(until.days_since(first) + 1).unwrap_or(0);
    let step = span.div_ceil(CHART_POINTS).max(1);
    let days: Vec<Day> = (0..span)
        .step_by(step)
        .map(|d| first.plus(d as i32))
        .collect();
    let mut last = 0.0;
    let actual: Vec<f64> = days
        .iter()
        .map(|day| {
            let on_day = summaries.iter().rfind(|s| s.day.is_some_and(|d| d <= *day));
            if let Some(summary) = on_day {
                last = campaigns::progress(summary, campaign.id.as_str())
                    .org
                    .percent();
            }
            last
        })
        .collect();
    let chart = line_chart(days.iter().map(ToString::to_string))
        .title("Entities passing every campaign check")
        .unit("%")
        .series("Passing", actual)
        .series(
            "Target",
            days.iter().map(|d| campaigns::target_on(campaign, *d)),
        );
    card("Progress").child(chart).into()
}

fn teams(latest: &DaySummary, id: &str) -> El {
    let progress = campaigns::progress(latest, id);
    if progress.teams.is_empty() {
        return card("By team")
            .child(text("No entity is in scope yet, or no evaluation ran.").muted())
            .into();
    }
    let mut teams: Vec<_> = progress.teams.iter().collect();
    teams.sort_by(|a, b| a.1.percent().total_cmp(&b.1.percent()).then(a.0.cmp(b.0)));
    let table = teams.iter().fold(
        table(["Team", "Passing", "In scope", "Progress"]),
        |table, (team, tally)| {
            table.row([
                team_cell(team),
                Cell::from(tally.passing.to_string()),
                Cell::from(tally.total.to_string()),
                Cell::from(percent(**tally)),
            ])
        },
    );
    card("By team")
        .subtitle("Furthest behind first")
        .child(table)
        .into()
}

fn archive_form(campaign: &Campaign) -> El {
    let (label, value) = if campaign.archived {
        ("Restore this campaign", "false")
    } else {
        ("Archive this campaign", "true")
    };
    form("campaign-archive", label)
        .field(Field::new(FieldKind::Hidden, "id", "").value(campaign.id.to_string()))
        .field(Field::new(FieldKind::Hidden, "archived", "").value(value))
        .into()
}
