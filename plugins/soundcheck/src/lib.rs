//! Soundcheck: tech health for the software catalog, as a Greenroom plugin.
//!
//! Collectors gather **facts** about catalog entities (from the catalog
//! itself, GitHub, SonarQube, PagerDuty, or pushed by other systems);
//! **checks** decide pass or fail from them (rules), from an owner's record
//! (manual) or from a pushed result (external); **tracks** order checks into
//! levels, and an entity holds the highest level whose checks, and those
//! below, pass: a certification, visibly lost when a check starts failing.
//! **Campaigns** drive a set of checks across teams by a deadline; every
//! change of a result is kept as **history** for the trend charts.
//!
//! It is written against the Greenroom SDK alone, like any third-party
//! plugin. The pure logic (configuration, rules, evaluation, history,
//! campaigns, schedules) runs natively in unit tests; storage, the catalog
//! and HTTP sit behind small traits ([`store::Store`],
//! [`source::EntitySource`], the collectors' `Upstream`).
//!
//! | Module | What |
//! |---|---|
//! | [`config`] | tracks, checks, collectors, campaigns: YAML plus admin edits |
//! | [`facts`], [`rules`] | facts and fact paths; rules and their reasons |
//! | [`evaluate`] | results, levels, certifications; manual and external results |
//! | [`history`], [`campaigns`] | changes, daily summaries; campaign progress |
//! | [`collectors`], [`tasks`] | collectors and the schedule that runs them |
//! | [`api`], [`actions`], [`views`], [`admin`] | what the host calls |
//! | [`keys`] | the storage layout |

#![warn(missing_docs)]

pub mod actions;
pub mod admin;
pub mod api;
pub mod campaigns;
pub mod collectors;
pub mod config;
pub mod day;
pub mod entity;
pub mod evaluate;
pub mod facts;
pub mod filter;
pub mod history;
pub mod keys;
pub mod permissions;
pub mod rules;
pub mod settings;
pub mod source;
pub mod store;
pub mod tasks;
pub mod views;

use greenroom_sdk::{
    Context, Error, FormData, Outcome, Plugin, Request, Response, Result, Slot, SlotKind, View,
};
use settings::Loaded;
use store::HostStore;

/// The task that collects facts.
pub const COLLECT_TASK: &str = "collect";

/// The task that evaluates every entity and writes the day's summary.
pub const EVALUATE_TASK: &str = "evaluate";

/// How long the `evaluate` task may run before it stops (the host stops
/// a task at 120 s; a run cut short writes no summary).
const EVALUATE_TIME_MS: u64 = 100_000;

struct Soundcheck;

impl Plugin for Soundcheck {
    fn render(slot: &Slot, cx: &Context) -> Result<View> {
        let store = HostStore;
        let loaded = Loaded::read(&store)?;
        if slot.kind == SlotKind::Page {
            return views::page(&store, &loaded, cx);
        }
        let Some(entity) = &cx.entity else {
            return Err(Error::invalid_input(format!(
                "the slot `{}` needs an entity",
                slot.name
            )));
        };
        let config = loaded.config()?;
        match slot.kind {
            SlotKind::EntityCard => views::entity::entity_card(&store, config, entity),
            SlotKind::EntityTab if entity.kind.eq_ignore_ascii_case("group") => {
                views::group::group_tab(&store, config, entity)
            }
            SlotKind::EntityTab if entity.kind.eq_ignore_ascii_case("system") => {
                views::group::system_tab(&store, config, entity)
            }
            SlotKind::EntityTab => views::entity::entity_tab(&store, config, entity),
            _ => Err(Error::unsupported(format!(
                "Soundcheck has no slot `{}`",
                slot.name
            ))),
        }
    }

    fn action(name: &str, form: &FormData, cx: &Context) -> Result<Outcome> {
        actions::action(name, form, cx)
    }

    fn handle(request: &Request) -> Result<Response> {
        api::handle(request)
    }

    fn run_task(name: &str) -> Result<()> {
        let store = HostStore;
        let loaded = Loaded::read(&store)?;
        let config = loaded.config()?;
        let now = day::now_ms();
        match name {
            COLLECT_TASK => {
                let mut budget = collectors::Budget {
                    http_requests: loaded.settings.http_requests_per_run,
                    deadline_ms: now + collectors::RUN_TIME_MS,
                    now: day::now_ms,
                };
                let collected = tasks::collect(&store, &source::HostCatalog, config, &mut budget)?;
                for report in &collected.reports {
                    greenroom_sdk::info!(
                        "collector {}: {} facts, {} failed{}",
                        report.collector,
                        report.collected,
                        report.failed,
                        report
                            .stopped
                            .as_ref()
                            .map(|s| format!("; stopped: {s}"))
                            .unwrap_or_default()
                    );
                }
                Ok(())
            }
            EVALUATE_TASK => {
                let evaluated = tasks::evaluate_all(
                    &store,
                    &source::HostCatalog,
                    config,
                    day::now_ms,
                    now + EVALUATE_TIME_MS,
                )?;
                let run = evaluated.run;
                greenroom_sdk::info!(
                    "evaluated {} entities in {} ms, {} changes{}",
                    run.entities,
                    run.took_ms,
                    run.changes,
                    if evaluated.complete {
                        ""
                    } else {
                        "; out of time, no summary written"
                    }
                );
                Ok(())
            }
            _ => Err(Error::unsupported(format!(
                "Soundcheck has no task `{name}`"
            ))),
        }
    }
}

greenroom_sdk::export!(Soundcheck);
