//! Catalog entities as Soundcheck sees them: references written the way
//! people write them, normalised to the host's form, and the few fields that
//! scope checks and tracks.

use greenroom_sdk::Entity;

/// An entity reference in the host's form, `kind:namespace/name`, lower-cased.
///
/// People write `component:payments-api`, `Component:default/payments-api`
/// or, where the kind is implied (an owner), `team-payments`; all of them
/// normalise to one string so that keys and comparisons agree.
pub fn normalize_ref(text: &str, default_kind: Option<&str>) -> Result<String, String> {
    normalize_ref_in(text, default_kind, "default")
}

/// [`normalize_ref`], with `namespace` for references that name none (as
/// Backstage resolves `spec.system` relative to the entity's namespace).
pub fn normalize_ref_in(
    text: &str,
    default_kind: Option<&str>,
    namespace: &str,
) -> Result<String, String> {
    let text = text.trim().to_lowercase();
    let (kind, rest) = match text.split_once(':') {
        Some((kind, rest)) => (kind.to_owned(), rest),
        None => match default_kind {
            Some(kind) => (kind.to_owned(), text.as_str()),
            None => {
                return Err(format!(
                    "`{text}` is not an entity reference; write kind:namespace/name, e.g. component:default/payments-api"
                ));
            }
        },
    };
    let (namespace, name) = rest.split_once('/').unwrap_or((namespace, rest));
    let valid = |part: &str| {
        !part.is_empty()
            && part.len() <= 253
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if !valid(&kind) || !valid(namespace) || !valid(name) {
        return Err(format!(
            "`{text}` is not an entity reference; write kind:namespace/name, e.g. component:default/payments-api"
        ));
    }
    Ok(format!("{kind}:{namespace}/{name}"))
}

/// The path of an entity's page in the portal, `/catalog/<ns>/<kind>/<name>`.
pub fn page_path(entity_ref: &str) -> String {
    let (kind, rest) = entity_ref
        .split_once(':')
        .unwrap_or(("component", entity_ref));
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!("/catalog/{namespace}/{kind}/{name}")
}

/// The name part of a reference: `team-payments` for `group:default/team-payments`.
pub fn short_name(entity_ref: &str) -> &str {
    entity_ref
        .rsplit_once('/')
        .map(|(_, name)| name)
        .or_else(|| entity_ref.split_once(':').map(|(_, name)| name))
        .unwrap_or(entity_ref)
}

/// What filters look at: an entity's kind, type, lifecycle, owner, system
/// and tags, lower-cased, references normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// `kind:namespace/name`.
    pub entity_ref: String,
    /// `component`, `api`, `group`, …
    pub kind: String,
    /// `spec.type`.
    pub spec_type: Option<String>,
    /// `spec.lifecycle`.
    pub lifecycle: Option<String>,
    /// `spec.owner` as a full reference.
    pub owner: Option<String>,
    /// `spec.system` as a full reference.
    pub system: Option<String>,
    /// `metadata.tags`.
    pub tags: Vec<String>,
}

impl Subject {
    /// The subject of a catalog entity.
    pub fn of(entity: &Entity) -> Subject {
        Subject {
            system: system_of(entity),
            entity_ref: entity.ref_.to_lowercase(),
            kind: entity.kind.to_lowercase(),
            spec_type: entity.spec_type.as_ref().map(|t| t.to_lowercase()),
            lifecycle: entity.lifecycle.as_ref().map(|l| l.to_lowercase()),
            owner: entity.owner.as_ref().map(|o| o.to_lowercase()),
            tags: entity.tags.iter().map(|t| t.to_lowercase()).collect(),
        }
    }

    /// The team an entity counts towards in aggregates: its owner, or
    /// `(no owner)`.
    pub fn team(&self) -> &str {
        self.owner.as_deref().unwrap_or(NO_OWNER)
    }
}

/// The system an entity is part of: its `partOf` relation to a system (the
/// catalog derives it from `spec.system`), or `spec.system` itself for an
/// entity that carries no relations.
fn system_of(entity: &Entity) -> Option<String> {
    if !entity.relations.is_empty() {
        return entity
            .relations
            .iter()
            .find(|r| r.relation_type == "partOf" && r.target.starts_with("system:"))
            .map(|r| r.target.to_lowercase());
    }
    let json: serde_json::Value = serde_json::from_str(&entity.json).ok()?;
    normalize_ref_in(
        json["spec"]["system"].as_str()?,
        Some("system"),
        &entity.namespace,
    )
    .ok()
}

/// The team of entities without an owner.
pub const NO_OWNER: &str = "(no owner)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_references_as_people_write_them() {
        let n = |t, k| normalize_ref(t, k).unwrap();
        assert_eq!(
            n("Component:payments-api", None),
            "component:default/payments-api"
        );
        assert_eq!(n("component:shop/cart", None), "component:shop/cart");
        assert_eq!(
            n("team-payments", Some("group")),
            "group:default/team-payments"
        );
        assert!(normalize_ref("payments-api", None).is_err());
        assert!(normalize_ref("component:pay ments", None).is_err());
        assert!(normalize_ref("component:", None).is_err());
    }

    #[test]
    fn the_system_comes_from_the_part_of_relation_or_the_spec() {
        use crate::source::entity;
        use serde_json::json;
        let related = entity(json!({
            "kind": "Component", "metadata": {"name": "a"}, "spec": {"system": "ignored"},
            "relations": [{"type": "partOf", "targetRef": "system:default/payments"}]
        }));
        assert_eq!(
            Subject::of(&related).system.as_deref(),
            Some("system:default/payments")
        );
        let bare = entity(
            json!({"kind": "Component", "metadata": {"name": "b"}, "spec": {"system": "shop"}}),
        );
        assert_eq!(
            Subject::of(&bare).system.as_deref(),
            Some("system:default/shop")
        );
    }

    #[test]
    fn links_to_entity_pages() {
        assert_eq!(
            page_path("component:default/pay"),
            "/catalog/default/component/pay"
        );
        assert_eq!(short_name("group:default/team-web"), "team-web");
    }
}
