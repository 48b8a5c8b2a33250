//! Backstage's rules for an entity: the envelope, the format of every
//! metadata field (FieldFormatEntityPolicy), the root fields allowed
//! (NoForeignRootFieldsEntityPolicy) and each built-in kind's spec schema.
//!
//! Every broken rule is reported, not only the first, each with the JSON
//! pointer of the value that broke it, so the caller can name the line.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The JSON pointer of the offending value (`/metadata/name`).
    pub pointer: String,
    /// What rule it broke, naming the field and the value.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(pointer: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

const OBJECT_NAME: &str =
    "sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total";
const DNS_LABEL: &str = "sequences of [a-z0-9] separated by [-], at most 63 characters in total";
const TAG: &str = "sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total";
const PREFIX_SUFFIX: &str = "an optional DNS subdomain prefix and a slash, then sequences of [a-zA-Z0-9] separated by any of [-_.]";

/// The built-in kinds and their spec schemas (`schemas/kinds.json`).
struct Kinds {
    api_versions: HashMap<String, Vec<String>>,
    validators: HashMap<String, jsonschema::Validator>,
}

static KINDS: LazyLock<Kinds> = LazyLock::new(|| {
    let document: Value = serde_json::from_str(include_str!("../schemas/kinds.json"))
        .expect("schemas/kinds.json is JSON (checked by the tests)");
    let api_versions = serde_json::from_value(document["apiVersions"].clone())
        .expect("apiVersions maps kinds to lists of strings");
    let validators = document["kinds"]
        .as_object()
        .expect("kinds is an object")
        .iter()
        .map(|(kind, schema)| {
            let validator = jsonschema::validator_for(schema).expect("kind schemas are valid");
            (kind.to_ascii_lowercase(), validator)
        })
        .collect();
    Kinds {
        api_versions,
        validators,
    }
});

/// The built-in kinds, as Backstage spells them.
pub const BUILT_IN_KINDS: [&str; 9] = [
    "Component",
    "API",
    "Resource",
    "System",
    "Domain",
    "Group",
    "User",
    "Location",
    "Template",
];

/// Every rule `entity` breaks; empty when it is a valid entity. An entity
/// over the catalog's depth and size budget ([`crate::budget`]) is refused
/// with that one problem, before any other rule walks it.
pub fn validate(entity: &Value) -> Vec<Problem> {
    if let Err(problem) = crate::budget::check(entity) {
        return vec![problem];
    }
    let mut problems = Vec::new();
    let Some(root) = entity.as_object() else {
        problems.push(Problem::new(
            "",
            "an entity must be a mapping with apiVersion, kind, metadata and spec",
        ));
        return problems;
    };
    for field in root.keys() {
        if !matches!(
            field.as_str(),
            "apiVersion" | "kind" | "metadata" | "spec" | "relations" | "status"
        ) {
            problems.push(Problem::new(
                format!("/{field}"),
                format!(
                    "root field \"{field}\" is not allowed; an entity has apiVersion, kind, metadata, spec, relations and status"
                ),
            ));
        }
    }
    require(
        &mut problems,
        entity,
        "/apiVersion",
        is_api_version,
        PREFIX_SUFFIX,
    );
    require(
        &mut problems,
        entity,
        "/kind",
        is_kind,
        "a letter followed by letters and digits, at most 63 characters in total",
    );
    match entity.get("metadata") {
        Some(Value::Object(_)) => metadata(&mut problems, entity),
        Some(_) => problems.push(Problem::new("/metadata", "metadata must be a mapping")),
        None => problems.push(Problem::new("", "metadata must have a value")),
    }
    if problems.is_empty() {
        kind_spec(&mut problems, entity);
    }
    problems
}

fn metadata(problems: &mut Vec<Problem>, entity: &Value) {
    let metadata = &entity["metadata"];
    require(
        problems,
        entity,
        "/metadata/name",
        is_object_name,
        OBJECT_NAME,
    );
    if metadata.get("namespace").is_some() {
        require(
            problems,
            entity,
            "/metadata/namespace",
            is_dns_label,
            DNS_LABEL,
        );
    }
    for field in ["title", "description"] {
        if let Some(value) = metadata.get(field).filter(|v| !v.is_string()) {
            problems.push(Problem::new(
                format!("/metadata/{field}"),
                format!("metadata.{field} must be a string but found {value}"),
            ));
        }
    }
    for (field, value_rule, value_expected) in [
        ("labels", is_label_value as fn(&str) -> bool, OBJECT_NAME),
        (
            "annotations",
            (|_: &str| true) as fn(&str) -> bool,
            "a string",
        ),
    ] {
        let Some(map) = metadata.get(field) else {
            continue;
        };
        let Some(map) = map.as_object() else {
            problems.push(Problem::new(
                format!("/metadata/{field}"),
                format!("metadata.{field} must be a mapping of strings to strings"),
            ));
            continue;
        };
        for (key, value) in map {
            let pointer = format!("/metadata/{field}/{}", escape(key));
            if !is_prefixed_name(key) {
                problems.push(Problem::new(
                    &pointer,
                    format!("metadata.{field} key \"{key}\" must be {PREFIX_SUFFIX}"),
                ));
            }
            if !value.as_str().is_some_and(value_rule) {
                problems.push(Problem::new(
                    &pointer,
                    format!(
                        "metadata.{field}.{key} {} must be {value_expected}",
                        shown(value)
                    ),
                ));
            }
        }
    }
    if let Some(tags) = metadata.get("tags") {
        match tags.as_array() {
            Some(tags) => {
                for (i, tag) in tags.iter().enumerate() {
                    if !tag.as_str().is_some_and(is_tag) {
                        problems.push(Problem::new(
                            format!("/metadata/tags/{i}"),
                            format!("metadata.tags.{i} {} must be {TAG}", shown(tag)),
                        ));
                    }
                }
            }
            None => problems.push(Problem::new(
                "/metadata/tags",
                "metadata.tags must be a list of strings",
            )),
        }
    }
    if let Some(links) = metadata.get("links") {
        let Some(links) = links.as_array() else {
            problems.push(Problem::new(
                "/metadata/links",
                "metadata.links must be a list of {url, title, icon}",
            ));
            return;
        };
        for (i, link) in links.iter().enumerate() {
            let at = format!("/metadata/links/{i}");
            match link.get("url") {
                Some(Value::String(url)) if url::Url::parse(url).is_ok() => {}
                Some(url) => problems.push(Problem::new(
                    format!("{at}/url"),
                    format!("metadata.links.{i}.url {} must be a valid URL", shown(url)),
                )),
                None => problems.push(Problem::new(
                    &at,
                    format!("metadata.links.{i}.url must have a value"),
                )),
            }
            if let Some(title) = link.get("title")
                && title.as_str().is_none_or(|t| t.trim().is_empty())
            {
                problems.push(Problem::new(
                    format!("{at}/title"),
                    format!("metadata.links.{i}.title must be a non-empty string"),
                ));
            }
            if let Some(icon) = link.get("icon")
                && !icon.as_str().is_some_and(is_object_name)
            {
                problems.push(Problem::new(
                    format!("{at}/icon"),
                    format!(
                        "metadata.links.{i}.icon {} must be {OBJECT_NAME}",
                        shown(icon)
                    ),
                ));
            }
        }
    }
}

/// The spec of a built-in kind, against its schema. A kind no processor
/// knows is refused, as Backstage refuses it.
fn kind_spec(problems: &mut Vec<Problem>, entity: &Value) {
    let kind = entity["kind"].as_str().unwrap_or_default();
    let api_version = entity["apiVersion"].as_str().unwrap_or_default();
    let known = BUILT_IN_KINDS.iter().find(|k| k.eq_ignore_ascii_case(kind));
    let Some(known) = known else {
        problems.push(Problem::new(
            "/kind",
            format!(
                "kind \"{kind}\" is not one the catalog knows ({})",
                BUILT_IN_KINDS.join(", ")
            ),
        ));
        return;
    };
    let versions = &KINDS.api_versions[*known];
    if !versions.iter().any(|v| v == api_version) {
        problems.push(Problem::new(
            "/apiVersion",
            format!(
                "apiVersion \"{api_version}\" is not one {known} supports ({})",
                versions.join(", ")
            ),
        ));
        return;
    }
    let spec = entity.get("spec").cloned().unwrap_or(Value::Null);
    if !spec.is_object() {
        problems.push(Problem::new(
            "/spec",
            format!("spec must be a mapping for kind {known}"),
        ));
        return;
    }
    let validator = &KINDS.validators[&known.to_ascii_lowercase()];
    for error in validator.iter_errors(&spec) {
        let at = error.instance_path().to_string();
        let field = format!("spec{}", at.replace('/', "."));
        let (pointer, message) = match error.kind() {
            jsonschema::error::ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                (
                    format!("/spec{at}"),
                    format!("{field}.{property} is required for kind {known}"),
                )
            }
            _ => (
                format!("/spec{at}"),
                format!("{field}: {error} (kind {known})"),
            ),
        };
        problems.push(Problem::new(pointer, message));
    }
}

fn require(
    problems: &mut Vec<Problem>,
    entity: &Value,
    pointer: &str,
    rule: fn(&str) -> bool,
    expected: &str,
) {
    let field = pointer.trim_start_matches('/').replace('/', ".");
    match entity.pointer(pointer) {
        None | Some(Value::Null) => {
            problems.push(Problem::new(pointer, format!("{field} must have a value")))
        }
        Some(Value::String(value)) if rule(value) => {}
        Some(value) => problems.push(Problem::new(
            pointer,
            format!("{field} {} must be {expected}", shown(value)),
        )),
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        other => format!("{other} (not a string)"),
    }
}

pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Kubernetes' object name: `[A-Za-z0-9]` runs separated by `[-_.]`.
pub fn is_object_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// RFC 1123 DNS label: `[a-z0-9]` runs separated by single `-`.
pub fn is_dns_label(value: &str) -> bool {
    (1..=63).contains(&value.len())
        && value.split('-').all(|run| {
            !run.is_empty()
                && run
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn is_dns_subdomain(value: &str) -> bool {
    (1..=253).contains(&value.len()) && value.split('.').all(is_dns_label)
}

/// `[prefix/]name`: an optional DNS subdomain, then an object name.
fn is_prefixed_name(value: &str) -> bool {
    match value.split_once('/') {
        None => is_object_name(value),
        Some((prefix, name)) => {
            !name.contains('/') && is_dns_subdomain(prefix) && is_object_name(name)
        }
    }
}

fn is_api_version(value: &str) -> bool {
    let suffix_ok =
        |n: &str| (1..=63).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric());
    match value.split_once('/') {
        None => suffix_ok(value),
        Some((prefix, suffix)) => {
            !suffix.contains('/') && is_dns_subdomain(prefix) && suffix_ok(suffix)
        }
    }
}

fn is_kind(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphabetic()
        && bytes.iter().all(u8::is_ascii_alphanumeric)
}

fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_object_name(value)
}

/// Backstage's tag rule: lower-case runs of `[a-z0-9:+#]` joined by `-`.
pub fn is_tag(value: &str) -> bool {
    (1..=63).contains(&value.len())
        && value.split('-').all(|run| {
            !run.is_empty()
                && run.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'+' | b'#')
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "pay"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
        })
    }

    fn messages(entity: &Value) -> Vec<String> {
        validate(entity).into_iter().map(|p| p.message).collect()
    }

    #[test]
    fn an_entity_over_the_budget_is_refused_before_any_other_rule() {
        let mut entity = component();
        entity["spec"]["deep"] = crate::budget::nested_array(70);
        let problems = validate(&entity);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].pointer.starts_with("/spec/deep/0/0"));
        assert!(
            problems[0].message.contains("deeper than 64"),
            "{problems:?}"
        );
    }

    #[test]
    fn kind_schemas_load() {
        assert_eq!(KINDS.validators.len(), BUILT_IN_KINDS.len());
    }

    #[test]
    fn a_valid_component_has_no_problems() {
        assert!(validate(&component()).is_empty());
    }

    // The cases of Backstage's KubernetesValidatorFunctions tests.
    #[test]
    fn object_names_follow_kubernetes() {
        for good in ["a", "a-b", "a.b", "a_b", "A9", &"a".repeat(63)] {
            assert!(is_object_name(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "_a",
            "a_",
            ".a",
            "a b",
            "a/b",
            "Pay_Svc!",
            &"a".repeat(64),
        ] {
            assert!(!is_object_name(bad), "{bad}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        for good in ["default", "a-b", "a1"] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in ["", "A", "a_b", "-a", "a-", "a--b", "a.b"] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn tags_are_lower_case_runs() {
        for good in ["java", "c++", "c#", "a:b", "a-b"] {
            assert!(is_tag(good), "{good}");
        }
        for bad in ["Java", "a b", "-a", "a--b", "", &"a".repeat(64)] {
            assert!(!is_tag(bad), "{bad}");
        }
    }

    #[test]
    fn annotation_and_label_keys_may_have_a_dns_prefix() {
        assert!(is_prefixed_name("backstage.io/techdocs-ref"));
        assert!(is_prefixed_name("simple"));
        assert!(!is_prefixed_name("a/b/c"));
        assert!(!is_prefixed_name("Bad_Prefix/x"));
        assert!(is_api_version("backstage.io/v1alpha1"));
        assert!(!is_api_version("backstage.io/v1/x"));
    }

    #[test]
    fn a_bad_name_names_the_field_the_value_and_the_rule() {
        let mut entity = component();
        entity["metadata"]["name"] = json!("Pay_Svc!");
        assert_eq!(
            validate(&entity),
            vec![Problem::new(
                "/metadata/name",
                format!("metadata.name \"Pay_Svc!\" must be {OBJECT_NAME}")
            )]
        );
    }

    #[test]
    fn a_missing_owner_is_reported_on_the_spec() {
        let mut entity = component();
        entity["spec"].as_object_mut().unwrap().remove("owner");
        assert_eq!(
            validate(&entity),
            vec![Problem::new(
                "/spec",
                "spec.owner is required for kind Component"
            )]
        );
    }

    #[test]
    fn a_wrong_kind_is_refused() {
        let mut entity = component();
        entity["kind"] = json!("Service");
        assert_eq!(
            messages(&entity),
            vec![
                "kind \"Service\" is not one the catalog knows (Component, API, Resource, System, Domain, Group, User, Location, Template)"
            ]
        );
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let entity = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "extra": 1,
            "metadata": {
                "name": "ok",
                "namespace": "Bad",
                "tags": ["Java"],
                "labels": {"a": "not ok!"},
                "links": [{"url": "not a url"}]
            },
            "spec": {}
        });
        let pointers: Vec<String> = validate(&entity).into_iter().map(|p| p.pointer).collect();
        assert_eq!(
            pointers,
            [
                "/extra",
                "/metadata/namespace",
                "/metadata/labels/a",
                "/metadata/tags/0",
                "/metadata/links/0/url"
            ]
        );
    }

    #[test]
    fn the_spec_is_checked_against_the_kind() {
        let entity = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": "team-a"},
            "spec": {"type": "team", "children": "nope"}
        });
        let problems = validate(&entity);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].pointer, "/spec/children");
        assert!(
            problems[0].message.starts_with("spec.children:"),
            "{problems:?}"
        );
    }
}
