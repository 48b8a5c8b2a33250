//! PagerDuty (REST API v2): whether the service has an escalation policy,
//! and its state.
//!
//! For an entity annotated `pagerduty.com/service-id: <id>` it asks
//! `GET /services/{id}` under the base URL and keeps this fact
//! (`pagerduty.has_escalation_policy`):
//!
//! ```json
//! {
//!   "service": "PPZP6XW",
//!   "name": "order-service",
//!   "url": "https://acme-retail.pagerduty.com/service-directory/PPZP6XW",
//!   "status": "active",
//!   "has_escalation_policy": true,
//!   "escalation_policy": "Order Management – primary on-call",
//!   "escalation_policy_id": "P…",
//!   "teams": ["Order Management"]
//! }
//! ```
//!
//! `status` is PagerDuty's: `active`, `warning`, `critical`, `maintenance`
//! or `disabled`.

use super::{CollectError, HostHttp, Instance, Upstream, json, segment, unexpected};
use crate::config::CollectorConfig;
use greenroom_sdk::Entity;
use greenroom_sdk::http::Request;
use serde_json::{Value, json};

/// PagerDuty's API, unless the instance says otherwise (the EU service
/// region: `https://api.eu.pagerduty.com`).
pub const DEFAULT_BASE_URL: &str = "https://api.pagerduty.com";

/// The annotation naming the service.
pub const ANNOTATION: &str = "pagerduty.com/service-id";

/// The most requests one entity costs: the service.
pub const REQUESTS_PER_ENTITY: u32 = 1;

/// Collects the PagerDuty fact of an entity (a [`CollectFn`](crate::collectors::CollectFn)).
pub fn collect(config: &CollectorConfig, entity: &Entity) -> Result<Value, CollectError> {
    let instance = Instance::of(config, DEFAULT_BASE_URL)?;
    collect_with(&instance, &entity.annotations, &HostHttp)
}

/// [`collect`], for an entity with these annotations, through `upstream`.
pub fn collect_with(
    instance: &Instance,
    annotations: &[(String, String)],
    upstream: &dyn Upstream,
) -> Result<Value, CollectError> {
    let id = Instance::annotation(annotations, ANNOTATION)?;
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(CollectError::Upstream(format!(
            "`{ANNOTATION}: {id}` is not a PagerDuty service id (e.g. `PIJ90N7`)"
        )));
    }
    let what = format!("services/{id}");
    let request = headers(instance.get(&format!("/services/{}", segment(id)))?);
    let response = instance.send(upstream, request)?;
    match response.status {
        200 => service_fact(&json(&response, "PagerDuty")?),
        404 => Err(CollectError::Upstream(format!(
            "PagerDuty answered 404 for {what}: the service does not exist (was it deleted?) or \
             the token cannot see it"
        ))),
        _ => Err(unexpected("PagerDuty", &what, &response, instance)),
    }
}

/// What PagerDuty's REST API v2 asks clients to accept.
fn headers(request: Request) -> Request {
    request.header("accept", "application/vnd.pagerduty+json;version=2")
}

/// The service (`GET /services/{id}`).
pub fn service_fact(answer: &Value) -> Result<Value, CollectError> {
    let service = &answer["service"];
    let id = service["id"]
        .as_str()
        .ok_or_else(|| CollectError::Upstream("PagerDuty's answer has no `service.id`".into()))?;
    let policy = &service["escalation_policy"];
    let teams: Vec<&str> = service["teams"]
        .as_array()
        .map(|teams| teams.iter().filter_map(|t| t["summary"].as_str()).collect())
        .unwrap_or_default();
    Ok(json!({
        "service": id,
        "name": service["name"],
        "url": service["html_url"],
        "status": service["status"],
        "has_escalation_policy": policy["id"].is_string(),
        "escalation_policy": policy["summary"],
        "escalation_policy_id": policy["id"],
        "teams": teams,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Recorded, annotations, instance, read};
    use super::*;
    use crate::config::CollectorKind;

    fn collect(id: &str) -> (Result<Value, CollectError>, Vec<String>) {
        let upstream = Recorded::default();
        let result = collect_with(
            &instance(CollectorKind::Pagerduty, None),
            &annotations(&[("pagerduty.com/service-id", id)]),
            &upstream,
        );
        (result, upstream.paths())
    }

    #[test]
    fn reads_a_services_escalation_policy_and_status() {
        let answer: Value =
            serde_json::from_slice(&read("pagerduty/services/PPZP6XW.json")).expect("JSON");
        let fact = service_fact(&answer).expect("valid");
        assert_eq!(fact["service"], "PPZP6XW");
        assert_eq!(fact["name"], "order-service");
        assert_eq!(fact["status"], "active");
        assert_eq!(fact["has_escalation_policy"], true);
        assert_eq!(
            fact["escalation_policy"],
            "Order Management – primary on-call"
        );
        assert_eq!(fact["teams"], json!(["Order Management"]));
        assert_eq!(
            fact["url"],
            "https://acme-retail.pagerduty.com/service-directory/PPZP6XW"
        );
    }

    #[test]
    fn a_service_without_a_policy_reference_has_none() {
        let fact = service_fact(&json!({ "service": { "id": "PX", "escalation_policy": null } }))
            .expect("valid");
        assert_eq!(fact["has_escalation_policy"], false);
    }

    #[test]
    fn collects_a_service_with_one_request() {
        let (result, paths) = collect("PJSKWJQ");
        let Ok(fact) = result else {
            panic!("{result:?}")
        };
        assert_eq!(paths, ["/pagerduty/services/PJSKWJQ"]);
        assert_eq!(fact["status"], "disabled");
    }

    #[test]
    fn a_deleted_service_says_so() {
        let (result, _) = collect("PS12Z65");
        assert_eq!(
            result,
            Err(CollectError::Upstream(
                "PagerDuty answered 404 for services/PS12Z65: the service does not exist (was it deleted?) or the token cannot see it".into()
            ))
        );
    }

    #[test]
    fn refuses_an_id_that_is_not_one() {
        let (result, paths) = collect("../incidents");
        assert!(result.is_err());
        assert!(paths.is_empty());
    }
}
