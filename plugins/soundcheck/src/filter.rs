//! Filters that scope checks, tracks, collectors and campaigns to entities.
//!
//! ```yaml
//! filter:
//!   kind: Component            # one value or a list
//!   type: [service, website]
//!   lifecycle: production
//!   owner: team-payments-core  # group:default/… implied
//!   system: payment-processing
//!   tags: [tier-1, pci-dss]    # any of them
//! ```
//!
//! Every field given must match (AND); within a field, any value may
//! (OR). Values compare case-insensitively; owners and systems as
//! references, so `team-web` and `group:default/team-web` are the same.

use crate::entity::{Subject, normalize_ref};
use serde::{Deserialize, Deserializer, Serialize};

/// Which entities something applies to. Empty: every entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct EntityFilter {
    /// Entity kinds, e.g. `Component`.
    #[serde(deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<String>,
    /// `spec.type` values, e.g. `service`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spec_type: Vec<String>,
    /// `spec.lifecycle` values, e.g. `production`.
    #[serde(deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lifecycle: Vec<String>,
    /// Owners (groups unless a kind is written).
    #[serde(deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owner: Vec<String>,
    /// Systems the entity is part of.
    #[serde(deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<String>,
    /// Tags; the entity needs one of them.
    #[serde(deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl EntityFilter {
    /// True when the filter has no conditions.
    pub fn is_empty(&self) -> bool {
        *self == EntityFilter::default()
    }

    /// Whether `subject` is in scope.
    pub fn matches(&self, subject: &Subject) -> bool {
        any_of(&self.kind, Some(&subject.kind))
            && any_of(&self.spec_type, subject.spec_type.as_deref())
            && any_of(&self.lifecycle, subject.lifecycle.as_deref())
            && any_ref(&self.owner, "group", subject.owner.as_deref())
            && any_ref(&self.system, "system", subject.system.as_deref())
            && (self.tags.is_empty() || subject.tags.iter().any(|t| contains(&self.tags, t)))
    }

    /// A problem with a value, such as an owner that is no reference.
    pub fn problem(&self) -> Option<String> {
        let refs = self.owner.iter().map(|o| (o, "group"));
        let refs = refs.chain(self.system.iter().map(|s| (s, "system")));
        refs.filter_map(|(value, kind)| normalize_ref(value, Some(kind)).err())
            .next()
    }

    /// A one-line description, e.g. `kind Component, lifecycle production`.
    pub fn describe(&self) -> String {
        let parts = [
            ("kind", &self.kind),
            ("type", &self.spec_type),
            ("lifecycle", &self.lifecycle),
            ("owner", &self.owner),
            ("system", &self.system),
            ("tags", &self.tags),
        ];
        let described: Vec<String> = parts
            .iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(name, values)| format!("{name} {}", values.join(" or ")))
            .collect();
        if described.is_empty() {
            "every entity".to_owned()
        } else {
            described.join(", ")
        }
    }
}

fn contains(values: &[String], value: &str) -> bool {
    values.iter().any(|v| v.eq_ignore_ascii_case(value))
}

fn any_of(values: &[String], value: Option<&str>) -> bool {
    values.is_empty() || value.is_some_and(|v| contains(values, v))
}

fn any_ref(values: &[String], kind: &str, value: Option<&str>) -> bool {
    values.is_empty()
        || value.is_some_and(|v| {
            values
                .iter()
                .any(|w| normalize_ref(w, Some(kind)).is_ok_and(|w| w == v))
        })
}

/// `kind: Component` or `kind: [Component, API]`.
pub fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payments_gateway() -> Subject {
        Subject {
            entity_ref: "component:default/payment-gateway".into(),
            kind: "component".into(),
            spec_type: Some("service".into()),
            lifecycle: Some("production".into()),
            owner: Some("group:default/team-payments-core".into()),
            system: Some("system:default/payment-processing".into()),
            tags: vec!["java".into(), "tier-1".into()],
        }
    }

    fn filter(yaml: &str) -> EntityFilter {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn an_empty_filter_matches_every_entity() {
        assert!(EntityFilter::default().matches(&payments_gateway()));
        assert!(EntityFilter::default().matches(&Subject::default()));
    }

    #[test]
    fn every_field_must_match_and_any_value_may() {
        let subject = payments_gateway();
        assert!(filter("{kind: Component, type: [website, service]}").matches(&subject));
        assert!(!filter("{kind: Component, lifecycle: experimental}").matches(&subject));
        assert!(filter("{tags: [pci-dss, Tier-1]}").matches(&subject));
        assert!(!filter("{tags: [python]}").matches(&subject));
    }

    #[test]
    fn owners_and_systems_match_as_references() {
        let subject = payments_gateway();
        assert!(filter("{owner: team-payments-core}").matches(&subject));
        assert!(filter("{owner: 'group:default/team-payments-core'}").matches(&subject));
        assert!(!filter("{owner: team-web}").matches(&subject));
        assert!(filter("{system: payment-processing}").matches(&subject));
    }

    #[test]
    fn a_field_the_entity_lacks_does_not_match() {
        let subject = Subject {
            kind: "component".into(),
            ..Subject::default()
        };
        assert!(!filter("{lifecycle: production}").matches(&subject));
        assert!(!filter("{owner: team-web}").matches(&subject));
    }

    #[test]
    fn describes_itself() {
        assert_eq!(
            filter("{kind: Component, lifecycle: [production, experimental]}").describe(),
            "kind Component, lifecycle production or experimental"
        );
        assert_eq!(EntityFilter::default().describe(), "every entity");
    }
}
