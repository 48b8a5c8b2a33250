//! What Soundcheck draws: the entity card and tab, the group page, and the
//! plugin's own pages (tech health, campaigns, admin), each built from
//! stored results and summaries so a render stays within its deadline.

pub mod admin;
pub mod campaign;
pub mod check;
pub mod entity;
pub mod group;
pub mod health;

use crate::config::yaml::ConfigError;
use crate::config::{Config, Track};
use crate::day::{Day, date};
use crate::entity::{NO_OWNER, page_path, short_name};
use crate::evaluate::level_name;
use crate::history::Tally;
use crate::permissions::{ADMIN, may};
use crate::settings::Loaded;
use crate::source::HostCatalog;
use crate::store::Store;
use greenroom_sdk::view::*;
use greenroom_sdk::{Context, Result};

/// The plugin's page at `/plugins/soundcheck/<cx.path>`: tech health,
/// campaigns, and (for admins) the admin pages.
pub fn page(store: &dyn Store, loaded: &Loaded, cx: &Context) -> Result<View> {
    let is_admin = may(ADMIN, None)?;
    let path = cx.path.trim_matches('/');
    let admin_path = match path {
        "admin" => Some(""),
        p => p.strip_prefix("admin/"),
    };
    if let Some(rest) = admin_path {
        if !is_admin {
            return Ok(error_state(
                "Admins only",
                "The Soundcheck admin pages need the soundcheck.admin permission.",
            )
            .into());
        }
        return admin::admin_page(store, loaded, rest, cx);
    }
    let config = match &loaded.config {
        Ok(resolved) => &resolved.config,
        Err(errors) => {
            let admin = is_admin.then(|| cx.link_to("admin"));
            return Ok(config_problems(errors, admin, Extent::Nothing).into());
        }
    };
    match path.split_once('/') {
        None if path.is_empty() => {
            let problems = problems_notice(loaded.problems(), is_admin, cx);
            health::health_page(store, config, problems, cx, is_admin)
        }
        None if path == "campaigns" => Ok(campaign::campaign_list(config, cx)),
        Some(("campaigns", id)) => campaign::campaign_page(store, config, id, cx, is_admin),
        Some(("checks", id)) => check::check_page(store, &HostCatalog, config, id, cx),
        _ => Ok(empty("No such page", format!("Soundcheck has no page `{path}`.")).into()),
    }
}

/// The entity tab's slot name, as in the manifest.
pub const TAB_SLOT: &str = "checks";

/// Days of history the trend charts show.
pub const TREND_DAYS: i32 = 30;

/// The path of an entity's Soundcheck tab.
pub fn tab_path(entity_ref: &str) -> String {
    format!("{}/soundcheck/{TAB_SLOT}", page_path(entity_ref))
}

/// How a level is coloured: none grey, the top level green, others blue.
pub fn level_tone(track: &Track, level: usize) -> Tone {
    match level {
        0 => Tone::Neutral,
        l if l >= track.levels.len() => Tone::Success,
        _ => Tone::Info,
    }
}

/// A badge naming the level held.
pub fn level_badge(track: &Track, level: usize) -> El {
    badge(level_label(track, level), level_tone(track, level))
}

/// A table cell naming the level held.
pub fn level_cell(track: &Track, level: usize) -> Cell {
    badge_cell(level_label(track, level), level_tone(track, level))
}

fn level_label(track: &Track, level: usize) -> String {
    if level == 0 {
        "No level".to_owned()
    } else {
        level_name(track, level)
    }
}

/// A pass/fail cell.
pub fn result_cell(passed: bool) -> Cell {
    if passed {
        badge_cell("Pass", Tone::Success)
    } else {
        badge_cell("Fail", Tone::Danger)
    }
}

/// A team's name for people: `team-web`, or `(no owner)`.
pub fn team_label(team: &str) -> String {
    if team == NO_OWNER {
        team.to_owned()
    } else {
        short_name(team).to_owned()
    }
}

/// A link to a team's (or any entity's) Soundcheck tab.
pub fn team_cell(team: &str) -> Cell {
    if team == NO_OWNER {
        Cell::from(team)
    } else {
        link_cell(team_label(team), tab_path(team))
    }
}

/// A link to an entity's Soundcheck tab, labelled with its name.
pub fn entity_cell(entity_ref: &str) -> Cell {
    link_cell(short_name(entity_ref), tab_path(entity_ref))
}

/// `72%`, or `—` when nothing counts.
pub fn percent(tally: Tally) -> String {
    if tally.total == 0 {
        "—".to_owned()
    } else {
        format!("{:.0}%", tally.percent())
    }
}

/// A date for people.
pub fn when(ms: u64) -> String {
    date(ms)
}

/// The last `n` days up to `today`, oldest first.
pub fn last_days(today: Day, n: i32) -> Vec<Day> {
    (0..n).rev().map(|back| today.plus(-back)).collect()
}

/// The name of a check, or its id when it is no longer configured.
pub fn check_name(config: &Config, id: &str) -> String {
    config
        .check(id)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| id.to_owned())
}

/// Every problem with the configuration, in place of a page's content.
/// How much of the configuration a set of problems stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// The YAML cannot be read: nothing is evaluated.
    Nothing,
    /// The items with problems are set aside; the rest is evaluated.
    TheItemsNamed,
}

/// What the tech-health page says of configuration problems: the list,
/// with a link to fix them, for admins; for everyone else, only that some
/// tracks or checks are not evaluated, since the problems quote the
/// configuration.
pub fn problems_notice(problems: &[ConfigError], is_admin: bool, cx: &Context) -> Option<El> {
    if problems.is_empty() {
        return None;
    }
    if is_admin {
        let admin = Some(cx.link_to("admin"));
        return Some(config_problems(problems, admin, Extent::TheItemsNamed));
    }
    Some(
        text(
            "Some tracks or checks are not evaluated until a Soundcheck admin fixes a problem in their configuration.",
        )
        .tone(Tone::Warning)
        .into(),
    )
}

/// Every problem with the configuration, and what they stop.
pub fn config_problems(errors: &[ConfigError], admin_link: Option<String>, extent: Extent) -> El {
    let mut list = bullet_list();
    for error in errors {
        list = list.child(text(error.to_string()).code());
    }
    let subtitle = match extent {
        Extent::Nothing => {
            "Nothing is evaluated until they are fixed, in the YAML setting or the admin pages."
        }
        Extent::TheItemsNamed => {
            "The items named are set aside until they are fixed, in the YAML setting or the admin pages; everything else is evaluated."
        }
    };
    let mut card = card("Soundcheck's configuration has problems")
        .subtitle(subtitle)
        .child(list);
    if let Some(href) = admin_link {
        card = card.child(link("Open the admin pages", href));
    }
    card.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_the_tab_of_an_entity() {
        assert_eq!(
            tab_path("component:default/pay"),
            "/catalog/default/component/pay/soundcheck/checks"
        );
    }

    #[test]
    fn percentages_say_when_nothing_counts() {
        assert_eq!(
            percent(Tally {
                passing: 2,
                total: 3
            }),
            "67%"
        );
        assert_eq!(percent(Tally::default()), "—");
    }

    #[test]
    fn lists_the_last_days_oldest_first() {
        let today = Day::parse("2026-05-03").unwrap();
        let days: Vec<String> = last_days(today, 3)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(days, ["2026-05-01", "2026-05-02", "2026-05-03"]);
    }
}
