//! The built-in catalog collector: facts read from the entity itself and
//! the entities it relates to. No HTTP; it needs `catalog:read`.
//!
//! The fact, for a rule's `catalog.<field>`:
//!
//! | Field | Value |
//! |---|---|
//! | `kind`, `type`, `lifecycle`, `title` | as in the entity (`type` is `spec.type`) |
//! | `owner`, `system` | full references, or `null` |
//! | `has_owner`, `has_system`, `has_description`, `has_techdocs` | booleans (`has_techdocs`: a `backstage.io/techdocs-ref` annotation) |
//! | `tags` | list of text |
//! | `annotations`, `labels` | objects; address keys with dots as `catalog.annotations["github.com/project-slug"]` |
//! | `links_count` | number of `metadata.links` |
//! | `has_on_call`, `on_call` | a PagerDuty or Opsgenie annotation; `on_call` is `pagerduty`, `opsgenie` or `null` |
//! | `provides_apis` | references of the APIs it provides (`providesApi` relations) |
//! | `provides_api_with_definition` | true when at least one provided API has a `spec.definition` |
//! | `apis_without_definition` | provided APIs lacking one |
//! | `consumes_apis_count`, `depends_on_count` | numbers of those relations |

use super::CollectError;
use crate::config::CollectorConfig;
use greenroom_sdk::{Entity, catalog};
use serde_json::{Map, Value, json};

/// Annotations that name an on-call service, and the tool each means.
const ON_CALL_ANNOTATIONS: [(&str, &str); 4] = [
    ("pagerduty.com/service-id", "pagerduty"),
    ("pagerduty.com/integration-key", "pagerduty"),
    ("opsgenie.com/component-selector", "opsgenie"),
    ("opsgenie.com/team", "opsgenie"),
];

/// Collects the catalog fact of `entity`, reading the APIs it provides.
pub fn collect(_config: &CollectorConfig, entity: &Entity) -> Result<Value, CollectError> {
    derive(entity, |api| {
        catalog::get(api)
            .map(|found| found.is_some_and(|api| has_definition(&api)))
            .map_err(|e| CollectError::from_host(e, "reading a provided API"))
    })
}

/// The fact of `entity`; `api_has_definition` answers for each provided API.
pub fn derive(
    entity: &Entity,
    mut api_has_definition: impl FnMut(&str) -> Result<bool, CollectError>,
) -> Result<Value, CollectError> {
    let json: Value = serde_json::from_str(&entity.json).unwrap_or_default();
    let annotation = |name: &str| entity.annotations.iter().any(|(k, _)| k == name);
    let on_call = ON_CALL_ANNOTATIONS
        .iter()
        .find(|(name, _)| annotation(name))
        .map(|(_, tool)| *tool);
    let related = |kind: &str| -> Vec<String> {
        entity
            .relations
            .iter()
            .filter(|r| r.relation_type == kind)
            .map(|r| r.target.clone())
            .collect()
    };
    let provides = related("providesApi");
    let mut without = Vec::new();
    for api in &provides {
        if !api_has_definition(api)? {
            without.push(api.clone());
        }
    }
    let system = crate::entity::Subject::of(entity).system;
    let description = entity.description.as_deref().unwrap_or_default();
    Ok(json!({
        "kind": entity.kind,
        "type": entity.spec_type,
        "lifecycle": entity.lifecycle,
        "title": entity.title,
        "owner": entity.owner,
        "has_owner": entity.owner.is_some(),
        "system": system,
        "has_system": system.is_some(),
        "has_description": !description.trim().is_empty(),
        "has_techdocs": annotation("backstage.io/techdocs-ref"),
        "tags": entity.tags,
        "annotations": pairs(&entity.annotations),
        "labels": pairs(&entity.labels),
        "links_count": json["metadata"]["links"].as_array().map_or(0, Vec::len),
        "has_on_call": on_call.is_some(),
        "on_call": on_call,
        "provides_apis": provides,
        "provides_api_with_definition": provides.len() > without.len(),
        "apis_without_definition": without,
        "consumes_apis_count": related("consumesApi").len(),
        "depends_on_count": related("dependsOn").len(),
    }))
}

fn pairs(pairs: &[(String, String)]) -> Value {
    let map: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(map)
}

/// Whether an API entity has a definition (`spec.definition` not empty).
pub fn has_definition(api: &Entity) -> bool {
    let json: Value = serde_json::from_str(&api.json).unwrap_or_default();
    match &json["spec"]["definition"] {
        Value::String(text) => !text.trim().is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::entity;

    fn gateway() -> Entity {
        entity(json!({
            "kind": "Component",
            "metadata": {
                "name": "payment-gateway",
                "description": "Takes payments.",
                "tags": ["java", "tier-1"],
                "annotations": {
                    "github.com/project-slug": "acme/payment-gateway",
                    "backstage.io/techdocs-ref": "dir:.",
                    "pagerduty.com/service-id": "PCC1583"
                },
                "links": [{"url": "https://grafana.example"}, {"url": "https://wiki.example"}]
            },
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-payments-core", "system": "payment-processing"},
            "relations": [
                {"type": "providesApi", "targetRef": "api:default/payments-api"},
                {"type": "providesApi", "targetRef": "api:default/refunds-api"},
                {"type": "dependsOn", "targetRef": "resource:default/payments-db"},
                {"type": "partOf", "targetRef": "system:default/payment-processing"}
            ]
        }))
    }

    #[test]
    fn derives_facts_from_the_entity_and_its_apis() {
        let fact = derive(&gateway(), |api| Ok(api == "api:default/payments-api")).unwrap();
        assert_eq!(fact["owner"], "group:default/team-payments-core");
        assert_eq!(fact["system"], "system:default/payment-processing");
        assert_eq!(fact["has_techdocs"], true);
        assert_eq!(fact["has_description"], true);
        assert_eq!(fact["has_on_call"], true);
        assert_eq!(fact["on_call"], "pagerduty");
        assert_eq!(fact["links_count"], 2);
        assert_eq!(
            fact["annotations"]["github.com/project-slug"],
            "acme/payment-gateway"
        );
        assert_eq!(fact["provides_api_with_definition"], true);
        assert_eq!(
            fact["apis_without_definition"],
            json!(["api:default/refunds-api"])
        );
        assert_eq!(fact["depends_on_count"], 1);
    }

    #[test]
    fn an_entity_with_little_gets_false_facts_not_missing_ones() {
        let bare = entity(json!({"kind": "Component", "metadata": {"name": "x"}, "spec": {}}));
        let fact = derive(&bare, |_| Ok(true)).unwrap();
        assert_eq!(fact["has_owner"], false);
        assert_eq!(fact["owner"], Value::Null);
        assert_eq!(fact["has_on_call"], false);
        assert_eq!(fact["provides_api_with_definition"], false);
        assert_eq!(fact["links_count"], 0);
    }

    #[test]
    fn an_api_needs_a_definition() {
        let with = entity(
            json!({"kind": "API", "metadata": {"name": "a"}, "spec": {"definition": "openapi: 3.0.0"}}),
        );
        let without =
            entity(json!({"kind": "API", "metadata": {"name": "b"}, "spec": {"definition": " "}}));
        assert!(has_definition(&with));
        assert!(!has_definition(&without));
    }
}
