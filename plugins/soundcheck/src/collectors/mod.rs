//! Fact collectors, and the schedule that runs them.
//!
//! # The collector contract (for `http/github.rs`, `http/sonarqube.rs`, `http/pagerduty.rs`)
//!
//! A collector is one function of this type, [`CollectFn`]:
//!
//! ```ignore
//! pub fn collect(config: &CollectorConfig, entity: &Entity) -> Result<serde_json::Value, CollectError>
//! ```
//!
//! - `config` is the configured instance ([`CollectorConfig`]): `id`,
//!   `kind`, and `config`, the per-instance map, read with
//!   `config.setting("base-url")` and `config.setting("credential")`. The
//!   operator's `collectors` setting has already been merged into it, so
//!   `base-url` may point at GitHub Enterprise or a local fixture server.
//!   Without `base-url`, use the public service (`https://api.github.com`,
//!   `https://sonarcloud.io`, `https://api.pagerduty.com`).
//! - `entity` is the catalog entity (`greenroom_sdk::Entity`); its
//!   annotations say what to ask for (`github.com/project-slug`,
//!   `sonarqube.org/project-key`, `pagerduty.com/service-id`).
//! - Send requests with `wasi:http` (see `docs/plugin-author-guide.md`,
//!   "Calling other services"). Name the credential with the
//!   `greenroom-credential` header set to `config.setting("credential")`;
//!   the plugin never sees a token.
//! - Return the fact: one JSON object whose fields rules address as
//!   `<collector id>.<field>`, e.g. `github.branch_protection.required_reviews`.
//!   Keep it small (it is stored per entity) and document its fields at the
//!   top of the module, as `catalog.rs` does.
//! - Errors, [`CollectError`]:
//!   - `NotApplicable` when the entity lacks the annotation: no request is
//!     made, no fact is stored, nothing is counted against the rate limit;
//!   - `Denied` when the host refused the request (`HttpRequestDenied`,
//!     `DestinationIpProhibited`): the run of this collector stops and the
//!     message is shown to admins, so say what to grant;
//!   - `RateLimited` when the upstream says so (GitHub's 403/429 with
//!     `x-ratelimit-remaining: 0`, PagerDuty's 429): the run stops;
//!   - `Upstream` for anything else (a 404, a 5xx, a body that does not
//!     parse); the sweep goes on with the next entity.
//! - Split the request building and response parsing into pure functions
//!   and test those natively on recorded real responses.
//!
//! Then register it in [`registered`] with the most requests one entity
//! can cost, and declare `pub mod http;` below.
//!
//! # The schedule
//!
//! The `collect` task (every 5 minutes) runs each collector that is due.
//! A collector **sweeps** the catalog in reference order, entity by entity,
//! remembering where it stopped ([`CollectorState::cursor`]); a new sweep
//! starts `frequency` after the last one started, so every entity's fact is
//! refreshed about once per `frequency`. A run stops early when it has
//! spent its budget:
//! - the collector's `rate-limit` (a token bucket refilled continuously,
//!   holding at most one period's requests);
//! - the run's share of HTTP requests (`http-requests-per-run`, below the
//!   host's per-call limit, default 50);
//! - the task's time (a run stops after [`RUN_TIME_MS`] of a task's 120 s).
//!
//! "Collect now" on an entity's tab runs every collector for that one
//! entity at once, and spends the same tokens.

pub mod catalog;
pub mod http;

use crate::config::{CollectorConfig, CollectorKind};
use crate::entity::Subject;
use crate::facts::{self, Fact};
use crate::keys;
use crate::source::EntitySource;
use crate::store::Store;
use greenroom_sdk::{Entity, Error, HostError, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// How long one task run may spend collecting before it stops and saves
/// its place: the host stops a task at 120 s, and evaluating the entities
/// collected needs time after.
pub const RUN_TIME_MS: u64 = 80_000;

/// The most entities a collector without HTTP (the catalog) handles in one
/// run; more wait for the next run.
const MAX_ENTITIES_PER_RUN: u32 = 20_000;

/// The fact collectors produce for one entity, or why there is none.
pub type CollectFn = fn(&CollectorConfig, &Entity) -> Result<Value, CollectError>;

/// Why a collector produced no fact for an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectError {
    /// The entity is not for this collector (no annotation); not a failure.
    NotApplicable(String),
    /// The host refused (an origin not granted, a credential not bound);
    /// stops the collector's run.
    Denied(String),
    /// The upstream's rate limit is exhausted; stops the collector's run.
    RateLimited(String),
    /// Anything else; the sweep goes on.
    Upstream(String),
}

impl CollectError {
    /// A failed host call while collecting, `doing` what.
    pub fn from_host(error: Error, doing: &str) -> CollectError {
        match error {
            Error::Host(HostError::Denied(m)) => CollectError::Denied(format!("{doing}: {m}")),
            other => CollectError::Upstream(format!("{doing}: {other:?}")),
        }
    }

    /// Whether the collector's run should stop.
    pub fn stops_run(&self) -> bool {
        matches!(self, CollectError::Denied(_) | CollectError::RateLimited(_))
    }
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CollectError::NotApplicable(m) => write!(f, "not applicable: {m}"),
            CollectError::Denied(m) => write!(f, "denied by the host: {m}"),
            CollectError::RateLimited(m) => write!(f, "rate limited: {m}"),
            CollectError::Upstream(m) => f.write_str(m),
        }
    }
}

/// A collector kind's function and what one entity can cost.
#[derive(Clone, Copy)]
pub struct Registered {
    /// Collects one entity.
    pub collect: CollectFn,
    /// The most HTTP requests one entity can cost (0: no HTTP).
    pub requests_per_entity: u32,
}

/// The collector of `kind` built into this version, if any. `external`
/// collectors have none: their facts are pushed.
pub fn registered(kind: CollectorKind) -> Option<Registered> {
    match kind {
        CollectorKind::Catalog => Some(Registered {
            collect: catalog::collect,
            requests_per_entity: 0,
        }),
        CollectorKind::Github => Some(Registered {
            collect: http::github::collect,
            requests_per_entity: http::github::REQUESTS_PER_ENTITY,
        }),
        CollectorKind::Sonarqube => Some(Registered {
            collect: http::sonarqube::collect,
            requests_per_entity: http::sonarqube::REQUESTS_PER_ENTITY,
        }),
        CollectorKind::Pagerduty => Some(Registered {
            collect: http::pagerduty::collect,
            requests_per_entity: http::pagerduty::REQUESTS_PER_ENTITY,
        }),
        CollectorKind::External => None,
    }
}

/// What the schedule remembers about a collector, under `collector/<id>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectorState {
    /// When the current (or last) sweep started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_started_ms: Option<u64>,
    /// The last entity collected in the current sweep; none between sweeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// When the last sweep finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_done_ms: Option<u64>,
    /// Requests the rate limit still allows.
    #[serde(default)]
    pub tokens: f64,
    /// When the tokens were last refilled.
    #[serde(default)]
    pub refilled_ms: u64,
    /// When it last ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_ms: Option<u64>,
    /// Facts collected, ever.
    #[serde(default)]
    pub collected: u64,
    /// Entities that failed, ever.
    #[serde(default)]
    pub failed: u64,
    /// The last failure, for the admin page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl CollectorState {
    /// Refills the rate limit's tokens for the time since the last refill.
    pub fn refill(&mut self, collector: &CollectorConfig, now_ms: u64) {
        let Some(limit) = collector.rate_limit else {
            return;
        };
        let capacity = f64::from(limit.requests);
        if self.refilled_ms == 0 {
            self.tokens = capacity;
        } else {
            let elapsed = now_ms.saturating_sub(self.refilled_ms) as f64;
            self.tokens = (self.tokens + capacity * elapsed / limit.per.ms() as f64).min(capacity);
        }
        self.refilled_ms = now_ms;
    }

    /// How many entities this run may collect, starting a new sweep when
    /// one is due; 0 when the collector is not due.
    pub fn plan(
        &mut self,
        collector: &CollectorConfig,
        requests_per_entity: u32,
        http_budget: u32,
        now_ms: u64,
    ) -> u32 {
        if self.cursor.is_none() {
            let due = self
                .sweep_started_ms
                .is_none_or(|started| now_ms.saturating_sub(started) >= collector.frequency.ms());
            if !due {
                return 0;
            }
            self.sweep_started_ms = Some(now_ms);
        }
        self.refill(collector, now_ms);
        if requests_per_entity == 0 {
            return MAX_ENTITIES_PER_RUN;
        }
        let by_budget = http_budget / requests_per_entity;
        let by_tokens = match collector.rate_limit {
            Some(_) => (self.tokens.max(0.0) / f64::from(requests_per_entity)) as u32,
            None => u32::MAX,
        };
        by_budget.min(by_tokens)
    }

    /// Spends tokens for `requests` requests.
    pub fn spend(&mut self, requests: u32) {
        self.tokens -= f64::from(requests);
    }
}

/// Reads a collector's state.
pub fn load_state(store: &dyn Store, id: &str) -> Result<CollectorState> {
    Ok(store.get_json(&keys::collector(id))?.unwrap_or_default())
}

/// Saves a collector's state.
pub fn save_state(store: &dyn Store, id: &str, state: &CollectorState) -> Result<()> {
    store.set_json(&keys::collector(id), state)
}

/// What one collector's run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    /// The collector.
    pub collector: String,
    /// Facts stored.
    pub collected: u32,
    /// Entities that failed.
    pub failed: u32,
    /// HTTP requests spent, at most.
    pub requests: u32,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
    /// Entities whose facts changed, to evaluate.
    pub touched: Vec<Subject>,
}

/// What a run may still spend.
pub struct Budget {
    /// HTTP requests left in this call.
    pub http_requests: u32,
    /// When the run must stop, in milliseconds since the epoch.
    pub deadline_ms: u64,
    /// The clock.
    pub now: fn() -> u64,
}

/// Runs one collector if it is due: continues its sweep within the budget
/// and saves its facts and state.
pub fn run(
    store: &dyn Store,
    source: &dyn EntitySource,
    collector: &CollectorConfig,
    registered: Registered,
    budget: &mut Budget,
) -> Result<RunReport> {
    let id = collector.id.as_str();
    let mut state = load_state(store, id)?;
    let now_ms = (budget.now)();
    let cost = registered.requests_per_entity;
    let allowed = state.plan(collector, cost, budget.http_requests, now_ms);
    let mut report = RunReport {
        collector: id.to_owned(),
        ..RunReport::default()
    };
    if allowed == 0 {
        return Ok(report);
    }
    state.last_run_ms = Some(now_ms);
    let finished = sweep(
        store,
        source,
        collector,
        registered,
        budget,
        &mut state,
        allowed,
        &mut report,
    )?;
    if finished {
        state.cursor = None;
        state.sweep_done_ms = Some((budget.now)());
    }
    state.spend(report.requests);
    budget.http_requests = budget.http_requests.saturating_sub(report.requests);
    state.collected += u64::from(report.collected);
    state.failed += u64::from(report.failed);
    save_state(store, id, &state)?;
    Ok(report)
}

/// Collects entity after entity from the cursor; true when the sweep
/// reached the end of the catalog.
#[allow(clippy::too_many_arguments)]
fn sweep(
    store: &dyn Store,
    source: &dyn EntitySource,
    collector: &CollectorConfig,
    registered: Registered,
    budget: &Budget,
    state: &mut CollectorState,
    allowed: u32,
    report: &mut RunReport,
) -> Result<bool> {
    let mut page_cursor = None;
    // Entities that cost requests; one the collector does not apply to
    // (no annotation) costs nothing and does not count.
    let mut handled = 0;
    loop {
        let (entities, next) = source.page(&collector.filter, page_cursor)?;
        for entity in entities {
            let subject = Subject::of(&entity);
            let after_cursor = state
                .cursor
                .as_ref()
                .is_none_or(|c| subject.entity_ref > *c);
            if !after_cursor || !collector.filter.matches(&subject) {
                continue;
            }
            if handled >= allowed || (budget.now)() >= budget.deadline_ms {
                report.stopped = Some(format!(
                    "budget spent after {handled} entities; continues next run"
                ));
                return Ok(false);
            }
            let now_ms = (budget.now)();
            match collect_one(store, collector, registered, &entity, now_ms) {
                Ok(Some(())) => {
                    handled += 1;
                    report.collected += 1;
                    report.requests += registered.requests_per_entity;
                    report.touched.push(subject.clone());
                }
                Ok(None) => {}
                Err(error) if error.stops_run() => {
                    state.last_error = Some(format!("{}: {error}", subject.entity_ref));
                    report.stopped = Some(error.to_string());
                    return Ok(false);
                }
                Err(error) => {
                    handled += 1;
                    report.failed += 1;
                    report.requests += registered.requests_per_entity;
                    state.last_error = Some(format!("{}: {error}", subject.entity_ref));
                }
            }
            state.cursor = Some(subject.entity_ref);
        }
        match next {
            Some(next) => page_cursor = Some(next),
            None => return Ok(true),
        }
    }
}

/// Collects one entity with one collector and stores the fact: `Some` when
/// a fact was stored, `None` when the collector does not apply.
pub fn collect_one(
    store: &dyn Store,
    collector: &CollectorConfig,
    registered: Registered,
    entity: &Entity,
    now_ms: u64,
) -> Result<Option<()>, CollectError> {
    let value = match (registered.collect)(collector, entity) {
        Ok(value) => value,
        Err(CollectError::NotApplicable(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    let fact = Fact {
        entity: entity.ref_.to_lowercase(),
        collector: collector.id.to_string(),
        value,
        collected_at_ms: now_ms,
    };
    facts::save(store, &fact)
        .map(Some)
        .map_err(|e| CollectError::Upstream(format!("storing the fact: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Interval, RateLimit, yaml};
    use crate::source::{Listed, entity};
    use crate::store::MemoryStore;
    use serde_json::json;
    use std::cell::Cell;

    const MINUTE: u64 = 60_000;

    thread_local! {
        static CLOCK: Cell<u64> = const { Cell::new(1_000 * MINUTE) };
    }

    fn now() -> u64 {
        CLOCK.with(Cell::get)
    }

    fn advance(ms: u64) {
        CLOCK.with(|c| c.set(c.get() + ms));
    }

    fn fake_collect(_: &CollectorConfig, entity: &Entity) -> Result<Value, CollectError> {
        match entity.name.as_str() {
            n if n.starts_with("no-") => Err(CollectError::NotApplicable("no annotation".into())),
            n if n.starts_with("broken") => Err(CollectError::Upstream("404 Not Found".into())),
            n if n.starts_with("denied") => Err(CollectError::Denied(
                "http:api.github.com was not granted".into(),
            )),
            n => Ok(json!({"name": n})),
        }
    }

    fn fake(requests_per_entity: u32) -> Registered {
        Registered {
            collect: fake_collect,
            requests_per_entity,
        }
    }

    fn catalog(names: &[&str]) -> Listed {
        Listed(
            names
                .iter()
                .map(|n| entity(json!({"kind": "Component", "metadata": {"name": n}, "spec": {}})))
                .collect(),
        )
    }

    fn collector(yaml_text: &str) -> CollectorConfig {
        yaml::parse(&format!("collectors: [{yaml_text}]"))
            .unwrap()
            .collectors
            .remove(0)
    }

    fn budget(http_requests: u32) -> Budget {
        Budget {
            http_requests,
            deadline_ms: now() + RUN_TIME_MS,
            now,
        }
    }

    #[test]
    fn a_sweep_continues_where_the_budget_stopped_it() {
        let store = MemoryStore::default();
        let source = catalog(&["a", "b", "c", "d", "e"]);
        let github = collector("{id: gh, kind: github, frequency: 1h}");
        let first = run(&store, &source, &github, fake(4), &mut budget(8)).unwrap();
        assert_eq!((first.collected, first.requests), (2, 8));
        assert!(first.stopped.is_some());
        assert_eq!(
            load_state(&store, "gh").unwrap().cursor.as_deref(),
            Some("component:default/b")
        );
        advance(5 * MINUTE);
        let second = run(&store, &source, &github, fake(4), &mut budget(12)).unwrap();
        assert_eq!(second.collected, 3);
        assert_eq!(second.stopped, None);
        let state = load_state(&store, "gh").unwrap();
        assert_eq!((state.cursor, state.collected), (None, 5));
        assert_eq!(
            store
                .keys()
                .iter()
                .filter(|k| k.starts_with("fact/gh/"))
                .count(),
            5
        );
    }

    #[test]
    fn a_new_sweep_waits_for_the_frequency() {
        let store = MemoryStore::default();
        let source = catalog(&["a", "b"]);
        let cat = collector("{id: cat, kind: catalog, frequency: 1h}");
        assert_eq!(
            run(&store, &source, &cat, fake(0), &mut budget(0))
                .unwrap()
                .collected,
            2
        );
        advance(30 * MINUTE);
        assert_eq!(
            run(&store, &source, &cat, fake(0), &mut budget(0))
                .unwrap()
                .collected,
            0,
            "not due"
        );
        advance(30 * MINUTE);
        assert_eq!(
            run(&store, &source, &cat, fake(0), &mut budget(0))
                .unwrap()
                .collected,
            2,
            "due again"
        );
    }

    #[test]
    fn the_rate_limit_refills_over_time() {
        let mut github = collector("{id: gh, kind: github, frequency: 1m}");
        github.rate_limit = Some(RateLimit {
            requests: 8,
            per: Interval::hour(),
        });
        let mut state = CollectorState::default();
        assert_eq!(
            state.plan(&github, 4, 100, now()),
            2,
            "a full bucket: 8 requests"
        );
        state.spend(8);
        assert_eq!(
            state.plan(&github, 4, 100, now() + 15 * MINUTE),
            0,
            "2 tokens back, one entity needs 4"
        );
        assert_eq!(state.plan(&github, 4, 100, now() + 30 * MINUTE), 1);
        assert_eq!(
            state.plan(&github, 4, 100, now() + 10 * 60 * MINUTE),
            2,
            "never more than one period's worth"
        );
        assert_eq!(
            state.plan(&github, 4, 6, now() + 10 * 60 * MINUTE + 2 * MINUTE),
            1,
            "the run's HTTP budget"
        );
    }

    #[test]
    fn inapplicable_entities_cost_nothing_and_failures_do_not_stop_the_sweep() {
        let store = MemoryStore::default();
        let source = catalog(&["a", "broken", "c", "no-repo"]);
        let github = collector("{id: gh, kind: github}");
        let report = run(&store, &source, &github, fake(2), &mut budget(100)).unwrap();
        assert_eq!(
            (report.collected, report.failed, report.requests),
            (2, 1, 6)
        );
        let state = load_state(&store, "gh").unwrap();
        assert_eq!(
            state.last_error.as_deref(),
            Some("component:default/broken: 404 Not Found")
        );
        assert_eq!(report.touched.len(), 2);
    }

    #[test]
    fn entities_a_collector_does_not_apply_to_leave_the_budget_alone() {
        let store = MemoryStore::default();
        let source = catalog(&["a", "no-1", "no-2", "no-3", "z"]);
        let github = collector("{id: gh, kind: github}");
        let report = run(&store, &source, &github, fake(4), &mut budget(8)).unwrap();
        assert_eq!((report.collected, report.stopped), (2, None));
    }

    #[test]
    fn a_denial_stops_the_run_and_says_why() {
        let store = MemoryStore::default();
        let source = catalog(&["a", "denied", "z"]);
        let github = collector("{id: gh, kind: github}");
        let report = run(&store, &source, &github, fake(1), &mut budget(100)).unwrap();
        assert_eq!(report.collected, 1);
        assert_eq!(
            report.stopped.as_deref(),
            Some("denied by the host: http:api.github.com was not granted")
        );
        let state = load_state(&store, "gh").unwrap();
        assert_eq!(
            state.cursor.as_deref(),
            Some("component:default/a"),
            "tries the denied entity again next run"
        );
    }

    #[test]
    fn only_entities_in_the_collectors_scope_are_collected() {
        let store = MemoryStore::default();
        let mut source = catalog(&["a"]);
        source.0.push(entity(
            json!({"kind": "Group", "metadata": {"name": "team"}, "spec": {}}),
        ));
        let components = collector("{id: gh, kind: github, filter: {kind: Component}}");
        let report = run(&store, &source, &components, fake(1), &mut budget(100)).unwrap();
        assert_eq!(report.collected, 1);
    }
}
