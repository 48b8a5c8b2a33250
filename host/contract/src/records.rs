//! The contract's records made from the host's data: a stored catalog
//! entity as the WIT `entity`, an identity as the WIT `user`.
//!
//! They live with the bindings, not in the broker, because more than the
//! broker hands them to plugins: the portal passes the entity a page shows
//! and the user a call acts for, the runtime the user of every call.

use crate::wit::latest::greenroom::plugin::types::{Entity, Relation, User};
use greenroom_model::{EntityRef, Identity};
use serde_json::Value;

/// A stored entity (Backstage JSON) as the WIT `entity` record.
pub fn wit_entity(entity: &Value) -> Entity {
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let metadata = &entity["metadata"];
    let spec = &entity["spec"];
    let kind = entity["kind"].as_str().unwrap_or_default().to_owned();
    let namespace = metadata["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let name = metadata["name"].as_str().unwrap_or_default().to_owned();
    let pairs = |value: &Value| -> Vec<(String, String)> {
        value
            .as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let owner = spec["owner"].as_str().and_then(|owner| {
        EntityRef::parse(owner, Some("group"), &namespace)
            .ok()
            .map(|r| r.to_string())
    });
    Entity {
        ref_: EntityRef::new(&kind, &namespace, &name).key(),
        title: text(&metadata["title"]),
        description: text(&metadata["description"]),
        owner,
        spec_type: text(&spec["type"]),
        lifecycle: text(&spec["lifecycle"]),
        tags: metadata["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        labels: pairs(&metadata["labels"]),
        annotations: pairs(&metadata["annotations"]),
        relations: entity["relations"]
            .as_array()
            .map(|relations| {
                relations
                    .iter()
                    .filter_map(|r| {
                        Some(Relation {
                            relation_type: r["type"].as_str()?.to_owned(),
                            target: r["targetRef"].as_str()?.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        json: entity.to_string(),
        kind,
        namespace,
        name,
    }
}

/// The contract's view of an identity.
pub fn wit_user(identity: &Identity) -> User {
    User {
        ref_: identity.entity_ref.clone(),
        display_name: identity.display_name.clone(),
        email: identity.email.clone(),
        groups: identity.groups.clone(),
        guest: identity.guest,
    }
}
