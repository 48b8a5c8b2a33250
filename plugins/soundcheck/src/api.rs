//! The JSON API at `/api/plugins/soundcheck/…`.
//!
//! | Route | Body | Answer |
//! |---|---|---|
//! | `GET entities/<ref>` | — | the entity's levels per track and every check's result ([`entity_json`]) |
//! | `GET tracks` | — | tracks with their levels and checks |
//! | `GET checks` | — | checks: id, name, kind, description, how to fix |
//! | `GET campaigns` | — | campaigns with today's progress |
//! | `POST facts` | `{"entity": "component:default/pay", "collector": "ci", "facts": {…}}` | the fact stored and the entity evaluated |
//! | `POST results` | `{"entity": "component:default/pay", "check": "pen-test", "result": "pass", "note": "…"}` | the result recorded and the entity evaluated |
//!
//! **Who may push** (`POST`): a caller the host vouches for in the
//! `greenroom-caller` header — `service:<name>` for an API token the
//! operator bound to this plugin, `plugin:<id>` for another plugin calling
//! through the host (the host removes the header from every other request,
//! so it cannot be forged) — when the `push-callers` setting lists it; or a
//! signed-in user holding `soundcheck.admin`. Anyone else gets `401` (no one
//! identified) or `403` (identified, not allowed), with `{"error": "…"}`.
//!
//! A pushed fact goes to a collector configured with `kind: external`, a
//! pushed result to a check configured with `external: true`; the entity
//! must exist in the catalog.

use crate::config::{CheckKind, CollectorKind, Config};
use crate::day::now_ms;
use crate::entity::Subject;
use crate::evaluate::{self, Recorded, evaluate_entity, level_name};
use crate::facts::{self, Fact};
use crate::history;
use crate::settings::Loaded;
use crate::source::{EntitySource, HostCatalog, NoEntity};
use crate::store::{HostStore, Store};
use crate::{campaigns, day::Day, permissions};
use greenroom_sdk::{Method, Request, Response, Result};
use serde::Deserialize;
use serde_json::{Value, json};

/// The header in which the host names a non-user caller.
pub const CALLER_HEADER: &str = "greenroom-caller";

/// The largest pushed fact kept, in bytes of JSON: facts are stored per
/// entity, and the quota is shared by every entity's facts and history.
const MAX_PUSHED_FACT_BYTES: usize = 64 * 1024;

/// The longest note kept with a pushed result.
const MAX_NOTE_CHARS: usize = 1000;

/// A route of the API.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET entities/<ref>`.
    Entity(String),
    /// `GET tracks`.
    Tracks,
    /// `GET checks`.
    Checks,
    /// `GET campaigns`.
    Campaigns,
    /// `POST facts`.
    PushFacts,
    /// `POST results`.
    PushResult,
}

/// The route for a method and path, or `None`.
pub fn route(method: Method, path: &str) -> Option<Route> {
    let path = path.trim_matches('/');
    match (method, path) {
        (Method::Get, "tracks") => Some(Route::Tracks),
        (Method::Get, "checks") => Some(Route::Checks),
        (Method::Get, "campaigns") => Some(Route::Campaigns),
        (Method::Post, "facts") => Some(Route::PushFacts),
        (Method::Post, "results") => Some(Route::PushResult),
        (Method::Get, p) => p
            .strip_prefix("entities/")
            .map(|r| Route::Entity(percent_decode(r))),
        _ => None,
    }
}

/// Decodes `%XX` escapes (an entity reference's `:` and `/` may come
/// escaped); anything malformed is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// Who is pushing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pusher {
    /// A caller the host named, listed in `push-callers`.
    Caller(String),
    /// A signed-in user with `soundcheck.admin`.
    Admin(String),
}

impl Pusher {
    /// The name kept with what was pushed.
    pub fn name(&self) -> &str {
        match self {
            Pusher::Caller(name) | Pusher::Admin(name) => name,
        }
    }
}

/// A refused request: its status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 401 or 403.
    pub status: u16,
    /// Why, and what would be allowed.
    pub message: String,
}

/// Decides who may push: `caller` is the `greenroom-caller` header,
/// `user` the signed-in user, `is_admin` asks the host about them.
pub fn authorize_push(
    caller: Option<&str>,
    push_callers: &[String],
    user: Option<&str>,
    is_admin: impl FnOnce() -> Result<bool>,
) -> Result<std::result::Result<Pusher, Refusal>> {
    if let Some(caller) = caller {
        let well_formed = caller.starts_with("service:") || caller.starts_with("plugin:");
        if well_formed && push_callers.iter().any(|c| c == caller) {
            return Ok(Ok(Pusher::Caller(caller.to_owned())));
        }
        return Ok(Err(Refusal {
            status: 403,
            message: format!(
                "caller `{caller}` may not push to Soundcheck; an operator adds it to the plugin's `push-callers` setting"
            ),
        }));
    }
    let Some(user) = user else {
        return Ok(Err(Refusal {
            status: 401,
            message: "sign in, or call with an API token bound to the soundcheck plugin".into(),
        }));
    };
    if is_admin()? {
        return Ok(Ok(Pusher::Admin(user.to_owned())));
    }
    Ok(Err(Refusal {
        status: 403,
        message: format!(
            "{user} may not push to Soundcheck: that needs the `soundcheck.admin` permission, or an API token listed in `push-callers`"
        ),
    }))
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn error(status: u16, message: impl Into<String>) -> Response {
    Response::json(status, &json!({ "error": message.into() }))
}

/// Answers one API request.
pub fn handle(request: &Request) -> Result<Response> {
    let Some(route) = route(request.method, &request.path) else {
        return Ok(error(
            404,
            format!("no route {:?} {}", request.method, request.path),
        ));
    };
    let store = HostStore;
    let loaded = Loaded::read(&store)?;
    let caller = header(request, CALLER_HEADER);
    let user = request.user.as_ref().map(|u| u.ref_.as_str());
    if caller.is_none() && user.is_none() {
        return Ok(error(
            401,
            "sign in, or call with an API token bound to the soundcheck plugin",
        ));
    }
    let config = match &loaded.config {
        Ok(resolved) => &resolved.config,
        Err(problems) => {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            let body =
                json!({ "error": "Soundcheck's configuration has problems", "problems": problems });
            return Ok(Response::json(503, &body));
        }
    };
    match route {
        Route::Entity(entity) => get_entity(&store, config, &entity),
        Route::Tracks => Ok(Response::json(200, &json!({ "tracks": config.tracks }))),
        Route::Checks => Ok(Response::json(200, &json!({ "checks": config.checks }))),
        Route::Campaigns => get_campaigns(&store, config),
        Route::PushFacts | Route::PushResult => {
            let is_admin = || permissions::may(permissions::ADMIN, None);
            let pusher =
                match authorize_push(caller, &loaded.settings.push_callers, user, is_admin)? {
                    Ok(pusher) => pusher,
                    Err(refusal) => return Ok(error(refusal.status, refusal.message)),
                };
            if route == Route::PushFacts {
                push_facts(&store, config, request, &pusher)
            } else {
                push_result(&store, config, request, &pusher)
            }
        }
    }
}

fn get_entity(store: &dyn Store, config: &Config, entity: &str) -> Result<Response> {
    let found = match find_entity(entity)? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let results = evaluate::load_results(store, &found.ref_.to_lowercase())?.unwrap_or_default();
    Ok(Response::json(
        200,
        &entity_json(config, &Subject::of(&found), &results),
    ))
}

/// An entity's levels and check results, as `GET entities/<ref>` answers.
pub fn entity_json(config: &Config, subject: &Subject, results: &evaluate::EntityResults) -> Value {
    let tracks: Vec<Value> = config
        .tracks
        .iter()
        .filter(|t| t.filter.matches(subject))
        .map(|track| {
            let standing = results
                .tracks
                .get(track.id.as_str())
                .cloned()
                .unwrap_or_default();
            json!({
                "id": track.id,
                "name": track.name,
                "level": standing.level,
                "level_name": (standing.level > 0).then(|| level_name(track, standing.level)),
                "levels": track.levels.iter().map(|l| &l.name).collect::<Vec<_>>(),
                "certified_since_ms": standing.since_ms,
                "lost": standing.lost.map(|lost| json!({
                    "level": lost.level,
                    "level_name": level_name(track, lost.level),
                    "at_ms": lost.at_ms,
                    "because": lost.because,
                })),
            })
        })
        .collect();
    let checks: Vec<Value> = config
        .checks
        .iter()
        .filter_map(|check| {
            let result = results.checks.get(check.id.as_str())?;
            Some(json!({
                "id": check.id,
                "name": check.name,
                "kind": check.kind.name(),
                "result": if result.passed { "pass" } else { "fail" },
                "reason": result.reason,
                "since_ms": result.since_ms,
                "how_to_fix": (!check.how_to_fix.is_empty()).then_some(&check.how_to_fix),
            }))
        })
        .collect();
    json!({ "entity": subject.entity_ref, "evaluated": !results.checks.is_empty(), "tracks": tracks, "checks": checks })
}

fn get_campaigns(store: &dyn Store, config: &Config) -> Result<Response> {
    let today = Day::from_ms(now_ms());
    let latest = history::days(store, today.plus(-1), today)?
        .pop()
        .unwrap_or_default();
    let campaigns: Vec<Value> = config
        .campaigns
        .iter()
        .map(|campaign| {
            let progress = campaigns::progress(&latest, campaign.id.as_str());
            json!({
                "id": campaign.id,
                "name": campaign.name,
                "owner": campaign.owner,
                "checks": campaign.checks,
                "start": campaign.start,
                "deadline": campaign.deadline,
                "archived": campaign.archived,
                "passing": progress.org.passing,
                "in_scope": progress.org.total,
                "percent": progress.org.percent(),
            })
        })
        .collect();
    Ok(Response::json(200, &json!({ "campaigns": campaigns })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsBody {
    entity: String,
    collector: String,
    facts: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultBody {
    entity: String,
    check: String,
    result: PassFail,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum PassFail {
    Pass,
    Fail,
}

fn body<T: serde::de::DeserializeOwned>(request: &Request) -> std::result::Result<T, Response> {
    serde_json::from_slice(&request.body).map_err(|e| error(400, format!("request body: {e}")))
}

/// The entity `written` names, if it exists and the caller may see it;
/// otherwise the 400 or 404 to answer.
fn find_entity(written: &str) -> Result<std::result::Result<greenroom_sdk::Entity, Response>> {
    Ok(HostCatalog.find(written)?.map_err(|no| match no {
        NoEntity::Malformed(message) => error(400, message),
        NoEntity::Missing(message) => error(404, message),
    }))
}

fn push_facts(
    store: &dyn Store,
    config: &Config,
    request: &Request,
    pusher: &Pusher,
) -> Result<Response> {
    let body: FactsBody = match body(request) {
        Ok(body) => body,
        Err(refused) => return Ok(refused),
    };
    let external = config
        .collector(&body.collector)
        .is_some_and(|c| c.kind == CollectorKind::External);
    if !external {
        return Ok(error(
            422,
            format!(
                "no collector `{}` takes pushed facts; configure one with `kind: external`",
                body.collector
            ),
        ));
    }
    if !body.facts.is_object() {
        return Ok(error(400, "`facts` must be a JSON object"));
    }
    if body.facts.to_string().len() > MAX_PUSHED_FACT_BYTES {
        return Ok(error(
            413,
            format!("`facts` is over {MAX_PUSHED_FACT_BYTES} bytes of JSON"),
        ));
    }
    let entity = match find_entity(&body.entity)? {
        Ok(entity) => entity,
        Err(refused) => return Ok(refused),
    };
    let now = now_ms();
    let fact = Fact {
        entity: entity.ref_.to_lowercase(),
        collector: body.collector.clone(),
        value: body.facts,
        collected_at_ms: now,
    };
    facts::save(store, &fact)?;
    let evaluation = evaluate_entity(store, config, Subject::of(&entity), now)?;
    greenroom_sdk::info!(
        "{} pushed `{}` facts for {}",
        pusher.name(),
        fact.collector,
        fact.entity
    );
    Ok(Response::json(
        200,
        &json!({
            "stored": true,
            "entity": fact.entity,
            "collector": fact.collector,
            "changes": evaluation.changes.len(),
        }),
    ))
}

fn push_result(
    store: &dyn Store,
    config: &Config,
    request: &Request,
    pusher: &Pusher,
) -> Result<Response> {
    let body: ResultBody = match body(request) {
        Ok(body) => body,
        Err(refused) => return Ok(refused),
    };
    let Some(check) = config
        .check(&body.check)
        .filter(|c| c.kind == CheckKind::External)
    else {
        return Ok(error(
            422,
            format!(
                "no check `{}` takes pushed results; configure one with `external: true`",
                body.check
            ),
        ));
    };
    let entity = match find_entity(&body.entity)? {
        Ok(entity) => entity,
        Err(refused) => return Ok(refused),
    };
    let note = body.note.map(|n| n.chars().take(MAX_NOTE_CHARS).collect());
    let now = now_ms();
    let record = Recorded {
        passed: matches!(body.result, PassFail::Pass),
        note,
        by: pusher.name().to_owned(),
        at_ms: now,
        expires_at_ms: None,
    };
    let entity_ref = entity.ref_.to_lowercase();
    evaluate::record_external(store, check, &entity_ref, &record)?;
    let evaluation = evaluate_entity(store, config, Subject::of(&entity), now)?;
    let result = evaluation.results.checks.get(check.id.as_str());
    Ok(Response::json(
        200,
        &json!({
            "entity": entity_ref,
            "check": check.id,
            "result": if record.passed { "pass" } else { "fail" },
            "applies": result.is_some(),
            "changes": evaluation.changes.len(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::evaluate::{CheckResult, EntityResults, LostLevel, TrackStanding};
    use std::collections::BTreeMap;

    #[test]
    fn routes_requests() {
        assert_eq!(
            route(Method::Get, "entities/component:default/pay"),
            Some(Route::Entity("component:default/pay".into()))
        );
        assert_eq!(
            route(Method::Get, "entities/component%3Adefault%2Fpay"),
            Some(Route::Entity("component:default/pay".into()))
        );
        assert_eq!(route(Method::Get, "/tracks/"), Some(Route::Tracks));
        assert_eq!(route(Method::Post, "facts"), Some(Route::PushFacts));
        assert_eq!(route(Method::Post, "results"), Some(Route::PushResult));
        assert_eq!(route(Method::Get, "facts"), None);
        assert_eq!(route(Method::Delete, "tracks"), None);
    }

    fn push(
        caller: Option<&str>,
        user: Option<&str>,
        admin: bool,
    ) -> std::result::Result<Pusher, Refusal> {
        let allowed = [
            "service:ci".to_owned(),
            "plugin:security-scanner".to_owned(),
        ];
        authorize_push(caller, &allowed, user, || Ok(admin)).unwrap()
    }

    #[test]
    fn a_listed_caller_may_push() {
        assert_eq!(
            push(Some("service:ci"), None, false),
            Ok(Pusher::Caller("service:ci".into()))
        );
        assert_eq!(
            push(Some("plugin:security-scanner"), None, false),
            Ok(Pusher::Caller("plugin:security-scanner".into()))
        );
    }

    #[test]
    fn an_unlisted_caller_is_forbidden_even_with_an_admin_session() {
        let refused = push(Some("service:other"), Some("user:default/ada"), true).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(
            refused.message.contains("`push-callers`"),
            "{}",
            refused.message
        );
        assert_eq!(
            push(Some("ci"), None, false).unwrap_err().status,
            403,
            "not a caller the host names"
        );
    }

    #[test]
    fn a_user_needs_the_admin_permission() {
        assert_eq!(
            push(None, Some("user:default/ada"), true),
            Ok(Pusher::Admin("user:default/ada".into()))
        );
        let refused = push(None, Some("user:default/bob"), false).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(refused.message.contains("soundcheck.admin"));
    }

    #[test]
    fn nobody_at_all_is_unauthenticated() {
        assert_eq!(push(None, None, true).unwrap_err().status, 401);
    }

    #[test]
    fn the_entity_answer_names_levels_and_checks() {
        let config = yaml::parse(
            "collectors: [{id: c, kind: catalog}]
checks:
  - {id: a, name: A, how-to-fix: Do it., rule: {fact: c.a, op: exists}}
  - {id: b, name: B, external: true}
tracks:
  - {id: t, name: T, levels: [{name: Bronze, checks: [a]}, {name: Silver, checks: [b]}]}
",
        )
        .unwrap();
        let subject = Subject {
            entity_ref: "component:default/pay".into(),
            kind: "component".into(),
            ..Subject::default()
        };
        let result = |passed| CheckResult {
            passed,
            reason: "why".into(),
            since_ms: 7,
        };
        let results = EntityResults {
            entity: subject.entity_ref.clone(),
            checks: BTreeMap::from([("a".into(), result(true)), ("b".into(), result(false))]),
            tracks: BTreeMap::from([(
                "t".into(),
                TrackStanding {
                    level: 1,
                    since_ms: Some(9),
                    lost: Some(LostLevel {
                        level: 2,
                        at_ms: 9,
                        because: vec!["b".into()],
                    }),
                },
            )]),
        };
        let answer = entity_json(&config, &subject, &results);
        assert_eq!(answer["tracks"][0]["level_name"], "Bronze");
        assert_eq!(answer["tracks"][0]["lost"]["level_name"], "Silver");
        assert_eq!(answer["checks"][0]["how_to_fix"], "Do it.");
        assert_eq!(answer["checks"][1]["result"], "fail");
    }
}
