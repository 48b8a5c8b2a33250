//! Campaigns: a set of checks to get passing across the organisation by a
//! deadline, with milestones on the way.
//!
//! An entity is **in scope** of a campaign when the campaign's filter
//! matches it and at least one campaign check applies to it; it **passes**
//! when every campaign check that applies to it passes. Progress is the
//! share of in-scope entities passing, per team (owner) and for the
//! organisation, counted by the `evaluate` task into each day's
//! [`DaySummary`], so the campaign page reads it, and its history, without
//! visiting every entity.

use crate::config::{Campaign, Config};
use crate::day::Day;
use crate::entity::Subject;
use crate::evaluate::{EntityResults, applies};
use crate::history::{DaySummary, Tally};
use std::collections::BTreeMap;

/// Whether `subject` is in the campaign's scope, and if so whether it
/// passes every campaign check that applies to it.
pub fn status(
    config: &Config,
    campaign: &Campaign,
    subject: &Subject,
    results: &EntityResults,
) -> Option<bool> {
    if !campaign.filter.matches(subject) {
        return None;
    }
    let mut applicable = campaign
        .checks
        .iter()
        .filter_map(|id| config.check(id))
        .filter(|check| applies(config, check, subject))
        .peekable();
    applicable.peek()?;
    Some(applicable.all(|check| results.passes(check.id.as_str())))
}

/// A campaign's progress on one day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// The whole organisation.
    pub org: Tally,
    /// Per team (owner reference).
    pub teams: BTreeMap<String, Tally>,
}

/// The campaign's progress as counted in `summary`.
pub fn progress(summary: &DaySummary, campaign: &str) -> Progress {
    let teams = summary.campaigns.get(campaign).cloned().unwrap_or_default();
    Progress {
        org: DaySummary::total(Some(&teams)),
        teams,
    }
}

/// The target, in percent, on `day`: rising in a straight line from 0 at
/// the start through each milestone, level after the last one.
pub fn target_on(campaign: &Campaign, day: Day) -> f64 {
    let mut from = (campaign.start, 0.0);
    for milestone in &campaign.milestones {
        let to = (milestone.date, milestone.target);
        if day <= to.0 {
            let span = f64::from(to.0.days_since(from.0).max(1));
            let done = f64::from(day.days_since(from.0).max(0));
            return from.1 + (to.1 - from.1) * (done / span).min(1.0);
        }
        from = to;
    }
    from.1
}

/// Where a milestone stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MilestoneState {
    /// Its date is still ahead.
    Upcoming,
    /// Its date has passed and the target was reached on it.
    Met(f64),
    /// Its date has passed and the target was not reached.
    Missed(f64),
    /// Its date has passed but no evaluation ran by then.
    Unknown,
}

/// Each milestone's state, judged on the latest summary on or before its
/// date; `summaries` oldest first.
pub fn milestones(
    campaign: &Campaign,
    summaries: &[DaySummary],
    today: Day,
) -> Vec<(crate::config::Milestone, MilestoneState)> {
    let id = campaign.id.as_str();
    campaign
        .milestones
        .iter()
        .map(|milestone| {
            if milestone.date >= today {
                return (milestone.clone(), MilestoneState::Upcoming);
            }
            let on_the_day = summaries
                .iter()
                .rfind(|s| s.day.is_some_and(|d| d <= milestone.date))
                .map(|s| progress(s, id).org)
                .filter(|tally| tally.total > 0);
            let state = match on_the_day {
                None => MilestoneState::Unknown,
                Some(tally) if tally.percent() >= milestone.target => {
                    MilestoneState::Met(tally.percent())
                }
                Some(tally) => MilestoneState::Missed(tally.percent()),
            };
            (milestone.clone(), state)
        })
        .collect()
}

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before its start.
    Upcoming,
    /// Between start and deadline.
    Running,
    /// Past its deadline, not archived.
    Ended,
    /// Archived.
    Archived,
}

/// The campaign's phase on `today`.
pub fn phase(campaign: &Campaign, today: Day) -> Phase {
    match () {
        _ if campaign.archived => Phase::Archived,
        _ if today < campaign.start => Phase::Upcoming,
        _ if today > campaign.deadline => Phase::Ended,
        _ => Phase::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::evaluate::CheckResult;

    const CONFIG: &str = "\
collectors: [{id: c, kind: catalog}]
checks:
  - {id: oncall, name: On call, rule: {fact: c.has_on_call, op: equals, value: true}}
  - {id: cov, name: Coverage, rule: {fact: c.cov, op: greater-than, value: 80}, filter: {type: service}}
campaigns:
  - id: camp
    name: On call everywhere
    owner: team-platform-infra
    checks: [oncall, cov]
    filter: {lifecycle: production}
    start: 2026-04-01
    deadline: 2026-09-30
    milestones: [{date: 2026-06-30, target: 50}, {date: 2026-09-30, target: 100}]
";

    fn config() -> Config {
        yaml::parse(CONFIG).unwrap()
    }

    fn subject(spec_type: &str, lifecycle: &str, owner: &str) -> Subject {
        Subject {
            entity_ref: format!("component:default/{owner}-{spec_type}"),
            kind: "component".into(),
            spec_type: Some(spec_type.into()),
            lifecycle: Some(lifecycle.into()),
            owner: Some(format!("group:default/{owner}")),
            ..Subject::default()
        }
    }

    fn results(passing: &[(&str, bool)]) -> EntityResults {
        EntityResults {
            checks: passing
                .iter()
                .map(|(id, passed)| {
                    (
                        id.to_string(),
                        CheckResult {
                            passed: *passed,
                            reason: String::new(),
                            since_ms: 0,
                        },
                    )
                })
                .collect(),
            ..EntityResults::default()
        }
    }

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn an_entity_passes_when_every_campaign_check_that_applies_passes() {
        let config = config();
        let campaign = &config.campaigns[0];
        let service = subject("service", "production", "web");
        let website = subject("website", "production", "web");
        assert_eq!(
            status(
                &config,
                campaign,
                &service,
                &results(&[("oncall", true), ("cov", false)])
            ),
            Some(false)
        );
        assert_eq!(
            status(
                &config,
                campaign,
                &service,
                &results(&[("oncall", true), ("cov", true)])
            ),
            Some(true)
        );
        assert_eq!(
            status(&config, campaign, &website, &results(&[("oncall", true)])),
            Some(true),
            "coverage does not apply to websites"
        );
        let experimental = subject("service", "experimental", "web");
        assert_eq!(
            status(
                &config,
                campaign,
                &experimental,
                &results(&[("oncall", true)])
            ),
            None,
            "out of scope"
        );
    }

    #[test]
    fn progress_is_counted_per_team_and_for_the_organisation() {
        let config = config();
        let mut summary = DaySummary::default();
        let entities = [
            (
                subject("service", "production", "web"),
                results(&[("oncall", true), ("cov", true)]),
            ),
            (
                subject("website", "production", "web"),
                results(&[("oncall", false)]),
            ),
            (
                subject("service", "production", "pay"),
                results(&[("oncall", true), ("cov", true)]),
            ),
            (
                subject("service", "experimental", "pay"),
                results(&[("oncall", false)]),
            ),
        ];
        for (subject, results) in &entities {
            summary.add(&config, subject, results);
        }
        let progress = progress(&summary, "camp");
        assert_eq!(
            progress.org,
            Tally {
                passing: 2,
                total: 3
            }
        );
        assert_eq!(
            progress.teams["group:default/web"],
            Tally {
                passing: 1,
                total: 2
            }
        );
        assert_eq!(
            progress.teams["group:default/pay"],
            Tally {
                passing: 1,
                total: 1
            }
        );
    }

    #[test]
    fn the_target_rises_through_the_milestones() {
        let campaign = &config().campaigns[0];
        assert_eq!(target_on(campaign, day("2026-03-01")), 0.0);
        assert_eq!(target_on(campaign, day("2026-04-01")), 0.0);
        assert_eq!(target_on(campaign, day("2026-06-30")), 50.0);
        let mid = target_on(campaign, day("2026-05-15"));
        assert!(mid > 20.0 && mid < 30.0, "{mid}");
        assert_eq!(target_on(campaign, day("2026-09-30")), 100.0);
        assert_eq!(target_on(campaign, day("2026-12-01")), 100.0);
    }

    #[test]
    fn milestones_are_judged_on_their_day() {
        let campaign = &config().campaigns[0];
        let summary = |d: &str, passing: u32| {
            let mut s = DaySummary {
                day: Some(day(d)),
                ..DaySummary::default()
            };
            s.campaigns.insert(
                "camp".into(),
                BTreeMap::from([("t".into(), Tally { passing, total: 10 })]),
            );
            s
        };
        let summaries = [summary("2026-06-29", 6), summary("2026-07-02", 2)];
        let states = milestones(campaign, &summaries, day("2026-07-10"));
        assert_eq!(states[0].1, MilestoneState::Met(60.0));
        assert_eq!(states[1].1, MilestoneState::Upcoming);
        let states = milestones(campaign, &summaries[..0], day("2026-10-10"));
        assert_eq!(states[0].1, MilestoneState::Unknown);
        let low = [summary("2026-06-30", 4)];
        assert_eq!(
            milestones(campaign, &low, day("2026-07-01"))[0].1,
            MilestoneState::Missed(40.0)
        );
    }

    #[test]
    fn a_campaign_has_phases() {
        let mut campaign = config().campaigns[0].clone();
        assert_eq!(phase(&campaign, day("2026-03-31")), Phase::Upcoming);
        assert_eq!(phase(&campaign, day("2026-09-30")), Phase::Running);
        assert_eq!(phase(&campaign, day("2026-10-01")), Phase::Ended);
        campaign.archived = true;
        assert_eq!(phase(&campaign, day("2026-05-01")), Phase::Archived);
    }
}
