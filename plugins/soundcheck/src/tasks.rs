//! The scheduled work: collecting facts (`collect`) and evaluating every
//! entity into the day's summary (`evaluate`), and the same on demand.

use crate::collectors::{self, Budget, CollectError, RunReport, registered};
use crate::config::{Check, CollectorKind, Config};
use crate::day::Day;
use crate::entity::Subject;
use crate::evaluate::{applies, evaluate_entity, evaluate_loaded, needed_keys};
use crate::filter::EntityFilter;
use crate::history::{self, DaySummary, EvaluationRun, FailingEntities};
use crate::keys;
use crate::source::EntitySource;
use crate::store::Store;
use greenroom_sdk::{Entity, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Whether anything Soundcheck is configured with applies to `subject`.
pub fn relevant(config: &Config, subject: &Subject) -> bool {
    config.tracks.iter().any(|t| t.filter.matches(subject))
        || config.checks.iter().any(|c| applies(config, c, subject))
}

/// The kinds a filter admits, lower-cased; `None` for every kind.
fn kinds(filter: &EntityFilter) -> Option<BTreeSet<String>> {
    (!filter.kind.is_empty()).then(|| filter.kind.iter().map(|k| k.to_lowercase()).collect())
}

/// `None` (every kind) if any is; otherwise the union.
fn union(sets: impl IntoIterator<Item = Option<BTreeSet<String>>>) -> Option<BTreeSet<String>> {
    sets.into_iter().try_fold(BTreeSet::new(), |mut all, set| {
        all.extend(set?);
        Some(all)
    })
}

/// The kinds of entity a check can apply to (see [`applies`]).
fn check_kinds(config: &Config, check: &Check) -> Option<BTreeSet<String>> {
    let id = check.id.as_str();
    let tracks = config
        .tracks
        .iter()
        .filter(|t| t.levels.iter().flat_map(|l| &l.checks).any(|c| c == id))
        .map(|t| kinds(&t.filter));
    let campaigns = config
        .campaigns
        .iter()
        .filter(|c| !c.archived && c.checks.iter().any(|c| c == id))
        .map(|c| kinds(&c.filter));
    let uses: Vec<Option<BTreeSet<String>>> = tracks.chain(campaigns).collect();
    let own = kinds(&check.filter);
    if uses.is_empty() {
        return own;
    }
    match (own, union(uses)) {
        (Some(own), Some(used)) => Some(own.intersection(&used).cloned().collect()),
        (own, used) => own.or(used),
    }
}

/// The entities worth reading for a full evaluation: only the kinds some
/// track or check can apply to (the catalog filters them), or all.
pub fn scope(config: &Config) -> EntityFilter {
    let tracks = config.tracks.iter().map(|t| kinds(&t.filter));
    let checks = config.checks.iter().map(|c| check_kinds(config, c));
    EntityFilter {
        kind: union(tracks.chain(checks))
            .map(|k| k.into_iter().collect())
            .unwrap_or_default(),
        ..EntityFilter::default()
    }
}

/// What a `collect` run did.
#[derive(Debug, Default)]
pub struct Collected {
    /// One report per collector that ran.
    pub reports: Vec<RunReport>,
    /// Entities evaluated afterwards.
    pub evaluated: usize,
}

/// Runs every due collector within `budget`, then evaluates the entities
/// whose facts changed.
pub fn collect(
    store: &dyn Store,
    source: &dyn EntitySource,
    config: &Config,
    budget: &mut Budget,
) -> Result<Collected> {
    let mut collected = Collected::default();
    for collector in &config.collectors {
        let Some(registered) = registered(collector.kind) else {
            continue;
        };
        if (budget.now)() >= budget.deadline_ms {
            break;
        }
        collected.reports.push(collectors::run(
            store, source, collector, registered, budget,
        )?);
    }
    let mut seen = BTreeSet::new();
    let touched = collected.reports.iter().flat_map(|r| r.touched.iter());
    for subject in touched.filter(|s| seen.insert(s.entity_ref.clone())) {
        if relevant(config, subject) {
            evaluate_entity(store, config, subject.clone(), (budget.now)())?;
            collected.evaluated += 1;
        }
    }
    Ok(collected)
}

/// What an `evaluate` run did.
#[derive(Debug)]
pub struct Evaluated {
    /// The run.
    pub run: EvaluationRun,
    /// Whether every entity was reached before the deadline (only then is
    /// the day's summary written).
    pub complete: bool,
}

/// Evaluates every entity something applies to, and writes the day's
/// summary when it got through them all before `deadline_ms`.
pub fn evaluate_all(
    store: &dyn Store,
    source: &dyn EntitySource,
    config: &Config,
    now: fn() -> u64,
    deadline_ms: u64,
) -> Result<Evaluated> {
    let started = now();
    let mut summary = DaySummary {
        day: Some(Day::from_ms(started)),
        at_ms: started,
        ..DaySummary::default()
    };
    let mut run = EvaluationRun {
        at_ms: started,
        ..EvaluationRun::default()
    };
    let scope = scope(config);
    let mut failing: BTreeMap<&str, FailingEntities> = config
        .checks
        .iter()
        .map(|c| {
            let list = FailingEntities {
                at_ms: started,
                ..FailingEntities::default()
            };
            (c.id.as_str(), list)
        })
        .collect();
    let mut cursor = None;
    loop {
        let (entities, next) = source.page(&scope, cursor)?;
        if now() >= deadline_ms {
            run.took_ms = now() - started;
            return Ok(Evaluated {
                run,
                complete: false,
            });
        }
        let subjects: Vec<Subject> = entities
            .iter()
            .map(Subject::of)
            .filter(|s| relevant(config, s))
            .collect();
        // One read for the whole page: results, facts and records.
        let needed: Vec<String> = subjects
            .iter()
            .flat_map(|s| needed_keys(config, s))
            .collect();
        let values = store.read_many(&needed)?;
        for subject in subjects {
            let evaluation = evaluate_loaded(store, config, subject.clone(), &values, started)?;
            summary.add(config, &subject, &evaluation.results);
            for (check, result) in &evaluation.results.checks {
                if let Some(list) = failing.get_mut(check.as_str()).filter(|_| !result.passed) {
                    list.add(&subject.entity_ref);
                }
            }
            run.entities += 1;
            run.changes += evaluation.changes.len() as u32;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    run.took_ms = now() - started;
    history::save_day(store, &summary)?;
    for (check, list) in &failing {
        store.set_json(&keys::failing(check), list)?;
    }
    store.set_json(keys::EVALUATION, &run)?;
    Ok(Evaluated {
        run,
        complete: true,
    })
}

/// One collector's outcome for one entity, for "Collect now".
#[derive(Debug)]
pub struct Attempt {
    /// The collector.
    pub collector: String,
    /// A fact stored (`true`), not applicable (`false`), or why not.
    pub outcome: std::result::Result<bool, CollectError>,
}

/// Runs every collector for one entity now, then evaluates it.
pub fn collect_entity(
    store: &dyn Store,
    config: &Config,
    entity: &Entity,
    now_ms: u64,
) -> Result<Vec<Attempt>> {
    let subject = Subject::of(entity);
    let mut attempts = Vec::new();
    for collector in &config.collectors {
        let Some(registered) = registered(collector.kind) else {
            if collector.kind != CollectorKind::External {
                let kind = collector.kind.name();
                attempts.push(Attempt {
                    collector: collector.id.to_string(),
                    outcome: Err(CollectError::Upstream(format!(
                        "this version of Soundcheck has no `{kind}` collector"
                    ))),
                });
            }
            continue;
        };
        if !collector.filter.matches(&subject) {
            continue;
        }
        let outcome = collectors::collect_one(store, collector, registered, entity, now_ms);
        if outcome.as_ref().is_ok_and(Option::is_some) {
            let mut state = collectors::load_state(store, collector.id.as_str())?;
            state.refill(collector, now_ms);
            state.spend(registered.requests_per_entity);
            collectors::save_state(store, collector.id.as_str(), &state)?;
        }
        attempts.push(Attempt {
            collector: collector.id.to_string(),
            outcome: outcome.map(|stored| stored.is_some()),
        });
    }
    evaluate_entity(store, config, subject, now_ms)?;
    Ok(attempts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::evaluate::load_results;
    use crate::source::{Listed, entity};
    use crate::store::MemoryStore;
    use serde_json::json;

    fn now() -> u64 {
        1_780_000_000_000
    }

    const CONFIG: &str = "\
collectors: [{id: catalog, kind: catalog}]
checks:
  - {id: owner, name: Has an owner, rule: {fact: catalog.has_owner, op: equals, value: true}}
  - {id: docs, name: Has docs, rule: {fact: catalog.has_techdocs, op: equals, value: true}}
tracks:
  - id: basics
    name: Basics
    filter: {kind: Component}
    levels: [{name: Bronze, checks: [owner]}, {name: Silver, checks: [docs]}]
";

    fn catalog() -> Listed {
        let component = |name: &str, owner: Option<&str>, docs: bool| {
            let mut json = json!({"kind": "Component", "metadata": {"name": name, "annotations": {}}, "spec": {}});
            if let Some(owner) = owner {
                json["spec"]["owner"] = json!(owner);
            }
            if docs {
                json["metadata"]["annotations"]["backstage.io/techdocs-ref"] = json!("dir:.");
            }
            entity(json)
        };
        Listed(vec![
            component("cart", Some("team-web"), true),
            component("search", Some("team-web"), false),
            component("orphan", None, true),
            entity(json!({"kind": "Group", "metadata": {"name": "team-web"}, "spec": {}})),
        ])
    }

    #[test]
    fn collecting_then_evaluating_fills_the_days_summary() {
        let store = MemoryStore::default();
        let config = yaml::parse(CONFIG).unwrap();
        let source = catalog();
        let mut budget = Budget {
            http_requests: 45,
            deadline_ms: now() + 1000,
            now,
        };
        let collected = collect(&store, &source, &config, &mut budget).unwrap();
        assert_eq!(collected.reports[0].collected, 4);
        assert_eq!(collected.evaluated, 3, "the group is not in any track");
        let cart = load_results(&store, "component:default/cart")
            .unwrap()
            .unwrap();
        assert_eq!(cart.tracks["basics"].level, 2);

        let evaluated = evaluate_all(&store, &source, &config, now, now() + 1000).unwrap();
        assert!(evaluated.complete);
        assert_eq!(
            (evaluated.run.entities, evaluated.run.changes),
            (3, 0),
            "already evaluated after collecting"
        );
        let day = history::days(&store, Day::from_ms(now()), Day::from_ms(now())).unwrap();
        let web = &day[0].tracks["basics"]["group:default/team-web"];
        assert_eq!((web.entities, web.levels.clone()), (2, vec![0, 1, 1]));
        assert_eq!(
            day[0].tracks["basics"][crate::entity::NO_OWNER].levels,
            vec![1, 0, 0]
        );
        // Each check's page lists the entities failing it.
        let failing = |check: &str| -> FailingEntities {
            (&store as &dyn Store)
                .get_json(&keys::failing(check))
                .unwrap()
                .unwrap()
        };
        assert_eq!(failing("owner").entities, ["component:default/orphan"]);
        assert_eq!(failing("docs").entities, ["component:default/search"]);
        assert_eq!(failing("docs").total, 1);
    }

    #[test]
    fn a_full_evaluation_reads_only_the_kinds_something_applies_to() {
        let config = yaml::parse(CONFIG).unwrap();
        assert_eq!(scope(&config).kind, ["component"]);
        let with_any = format!(
            "{CONFIG}campaigns:\n  - {{id: c, name: C, owner: t, checks: [owner], start: 2026-01-01, deadline: 2026-12-31}}\n"
        );
        assert!(
            scope(&yaml::parse(&with_any).unwrap()).kind.is_empty(),
            "a campaign for every kind"
        );
        let standalone = CONFIG.replace(
            "checks:\n",
            "checks:\n  - {id: teams, name: Teams, external: true, filter: {kind: [Group]}}\n",
        );
        assert_eq!(
            scope(&yaml::parse(&standalone).unwrap()).kind,
            ["component", "group"]
        );
    }

    #[test]
    fn an_evaluation_cut_short_writes_no_summary() {
        let store = MemoryStore::default();
        let config = yaml::parse(CONFIG).unwrap();
        let evaluated = evaluate_all(&store, &catalog(), &config, now, now()).unwrap();
        assert!(!evaluated.complete);
        assert!(store.keys().iter().all(|k| !k.starts_with("daily/")));
    }

    #[test]
    fn collect_now_collects_and_evaluates_one_entity() {
        let store = MemoryStore::default();
        let with_more = CONFIG.replace(
            "collectors: [{id: catalog, kind: catalog}]",
            "collectors: [{id: catalog, kind: catalog}, {id: gh, kind: github}, {id: ci, kind: external}]",
        );
        let config = yaml::parse(&with_more).unwrap();
        let source = catalog();
        let cart = source.get("component:default/cart").unwrap().unwrap();
        let attempts = collect_entity(&store, &config, &cart, now()).unwrap();
        let outcomes: Vec<(&str, Option<bool>)> = attempts
            .iter()
            .map(|a| (a.collector.as_str(), a.outcome.clone().ok()))
            .collect();
        assert_eq!(
            outcomes,
            [("catalog", Some(true)), ("gh", Some(false))],
            "gh does not apply (no project slug); external collectors are pushed to"
        );
        assert!(
            load_results(&store, "component:default/cart")
                .unwrap()
                .is_some()
        );
    }
}
