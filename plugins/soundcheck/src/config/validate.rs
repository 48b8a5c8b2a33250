//! Checks that the combined configuration hangs together: ids unique,
//! levels and campaigns naming checks that exist, rules reading configured
//! collectors, sensible dates. Each problem says which item and field it
//! is about, so it can be traced to a YAML line or an admin edit.

use super::yaml::Step;
use super::{Campaign, Check, CheckKind, CollectorConfig, Config, Section, Track};
use crate::entity::normalize_ref;
use std::collections::BTreeSet;

/// The shortest collection frequency: the `collect` task runs every few
/// minutes, so anything shorter would only pretend.
const MIN_FREQUENCY_SECS: u64 = 60;

/// One problem with one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The item's section.
    pub section: Section,
    /// The item's position in its section.
    pub index: usize,
    /// The field at fault, inside the item.
    pub path: Vec<Step>,
    /// What is wrong, naming the item.
    pub message: String,
}

struct Problems<'c> {
    config: &'c Config,
    found: Vec<Problem>,
}

impl Problems<'_> {
    fn add(&mut self, section: Section, index: usize, path: Vec<Step>, message: String) {
        self.found.push(Problem {
            section,
            index,
            path,
            message,
        });
    }

    fn is_check(&self, id: &str) -> bool {
        self.config.check(id).is_some()
    }
}

fn key(k: &str) -> Step {
    Step::Key(k.to_owned())
}

/// Every problem with `config`, in section order.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Problems {
        config,
        found: Vec::new(),
    };
    for section in Section::ALL {
        unique_ids(&mut problems, section, config.ids(section));
    }
    for (i, track) in config.tracks.iter().enumerate() {
        validate_track(&mut problems, i, track);
    }
    for (i, check) in config.checks.iter().enumerate() {
        validate_check(&mut problems, i, check);
    }
    for (i, collector) in config.collectors.iter().enumerate() {
        validate_collector(&mut problems, i, collector);
    }
    for (i, campaign) in config.campaigns.iter().enumerate() {
        validate_campaign(&mut problems, i, campaign);
    }
    problems.found
}

fn unique_ids(problems: &mut Problems, section: Section, ids: Vec<&str>) {
    let mut seen = BTreeSet::new();
    for (i, id) in ids.into_iter().enumerate() {
        if !seen.insert(id) {
            let noun = section.noun();
            problems.add(
                section,
                i,
                vec![key("id")],
                format!("{noun} `{id}` is defined twice; ids must be unique"),
            );
        }
    }
}

fn blank_name(problems: &mut Problems, section: Section, i: usize, id: &str, name: &str) {
    if name.trim().is_empty() {
        let noun = section.noun();
        problems.add(
            section,
            i,
            vec![key("name")],
            format!("{noun} `{id}` needs a `name`"),
        );
    }
}

fn filter_problem(
    problems: &mut Problems,
    section: Section,
    i: usize,
    id: &str,
    filter: &crate::filter::EntityFilter,
) {
    if let Some(problem) = filter.problem() {
        let noun = section.noun();
        problems.add(
            section,
            i,
            vec![key("filter")],
            format!("{noun} `{id}`: filter: {problem}"),
        );
    }
}

fn validate_track(problems: &mut Problems, i: usize, track: &Track) {
    let id = track.id.as_str();
    let section = Section::Tracks;
    blank_name(problems, section, i, id, &track.name);
    filter_problem(problems, section, i, id, &track.filter);
    if track.levels.is_empty() {
        problems.add(
            section,
            i,
            vec![key("levels")],
            format!("track `{id}` needs at least one level"),
        );
    }
    let mut names = BTreeSet::new();
    let mut listed = BTreeSet::new();
    for (l, level) in track.levels.iter().enumerate() {
        let at = |rest: &[Step]| [&[key("levels"), Step::Index(l)], rest].concat();
        let name = level.name.trim();
        if name.is_empty() {
            problems.add(
                section,
                i,
                at(&[key("name")]),
                format!("track `{id}`, level {}: needs a `name`", l + 1),
            );
        } else if !names.insert(name.to_lowercase()) {
            problems.add(
                section,
                i,
                at(&[key("name")]),
                format!("track `{id}`: two levels are called `{name}`"),
            );
        }
        if level.checks.is_empty() {
            problems.add(
                section,
                i,
                at(&[key("checks")]),
                format!("track `{id}`, level `{name}`: list at least one check"),
            );
        }
        for (c, check) in level.checks.iter().enumerate() {
            let path = at(&[key("checks"), Step::Index(c)]);
            if !problems.is_check(check) {
                problems.add(section, i, path, format!(
                    "track `{id}`, level `{name}`: unknown check `{check}`; define it under `checks:` or take it out of the level"
                ));
            } else if !listed.insert(check.as_str()) {
                problems.add(section, i, path, format!(
                    "track `{id}`, level `{name}`: check `{check}` is already in a lower level of this track"
                ));
            }
        }
    }
}

fn validate_check(problems: &mut Problems, i: usize, check: &Check) {
    let id = check.id.as_str();
    let section = Section::Checks;
    blank_name(problems, section, i, id, &check.name);
    filter_problem(problems, section, i, id, &check.filter);
    let CheckKind::Rule(rule) = &check.kind else {
        return;
    };
    let collector = rule.fact.collector().unwrap_or_default();
    if problems.config.collector(collector).is_none() {
        let known: Vec<&str> = problems.config.collector_ids().collect();
        let known = if known.is_empty() {
            "none is".to_owned()
        } else {
            format!("configured: {}", known.join(", "))
        };
        problems.add(section, i, vec![key("rule"), key("fact")], format!(
            "check `{id}`: the rule reads `{}`, but no collector is called `{collector}` ({known}); the first part of a fact path names a collector",
            rule.fact
        ));
    }
}

fn validate_collector(problems: &mut Problems, i: usize, collector: &CollectorConfig) {
    let id = collector.id.as_str();
    let section = Section::Collectors;
    filter_problem(problems, section, i, id, &collector.filter);
    if collector.frequency.secs < MIN_FREQUENCY_SECS {
        problems.add(
            section,
            i,
            vec![key("frequency")],
            format!(
                "collector `{id}`: a frequency of {} is shorter than the shortest, 1m",
                collector.frequency
            ),
        );
    }
    if let Some(url) = collector.config.get("base-url") {
        let ok = url
            .as_str()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"));
        if !ok {
            problems.add(section, i, vec![key("config"), key("base-url")], format!(
                "collector `{id}`: `base-url` must be an http(s) URL, e.g. https://api.github.com"
            ));
        }
    }
}

fn validate_campaign(problems: &mut Problems, i: usize, campaign: &Campaign) {
    let id = campaign.id.as_str();
    let section = Section::Campaigns;
    blank_name(problems, section, i, id, &campaign.name);
    filter_problem(problems, section, i, id, &campaign.filter);
    if let Err(problem) = normalize_ref(&campaign.owner, Some("group")) {
        problems.add(
            section,
            i,
            vec![key("owner")],
            format!("campaign `{id}`: owner: {problem}"),
        );
    }
    if campaign.checks.is_empty() {
        problems.add(
            section,
            i,
            vec![key("checks")],
            format!("campaign `{id}` needs at least one check"),
        );
    }
    for (c, check) in campaign.checks.iter().enumerate() {
        if !problems.is_check(check) {
            problems.add(section, i, vec![key("checks"), Step::Index(c)], format!(
                "campaign `{id}`: unknown check `{check}`; define it under `checks:` or take it out of the campaign"
            ));
        }
    }
    if campaign.deadline < campaign.start {
        problems.add(
            section,
            i,
            vec![key("deadline")],
            format!(
                "campaign `{id}`: the deadline {} is before the start {}",
                campaign.deadline, campaign.start
            ),
        );
    }
    let mut previous = None;
    for (m, milestone) in campaign.milestones.iter().enumerate() {
        let at = |field: &str| vec![key("milestones"), Step::Index(m), key(field)];
        if !(0.0..=100.0).contains(&milestone.target) {
            problems.add(
                section,
                i,
                at("target"),
                format!(
                    "campaign `{id}`: milestone {}: a target is a percentage, 0 to 100",
                    m + 1
                ),
            );
        }
        if milestone.date < campaign.start || milestone.date > campaign.deadline {
            problems.add(
                section,
                i,
                at("date"),
                format!(
                    "campaign `{id}`: milestone {} on {} is outside the campaign ({} to {})",
                    m + 1,
                    milestone.date,
                    campaign.start,
                    campaign.deadline
                ),
            );
        }
        if previous.is_some_and(|p| milestone.date <= p) {
            problems.add(
                section,
                i,
                at("date"),
                format!(
                    "campaign `{id}`: milestones must be in date order, each after the one before"
                ),
            );
        }
        previous = Some(milestone.date);
    }
}
