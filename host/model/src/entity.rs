//! Entity references: `[kind:][namespace/]name`, as Backstage parses and
//! prints them.

use std::fmt;

/// The namespace an entity is in when its metadata names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A reference to one entity. Kind and namespace compare case-insensitively
/// (as Backstage does); the name keeps the case it was written in, but
/// comparisons use [`EntityRef::key`], which is lower-cased throughout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityRef {
    kind: String,
    namespace: String,
    name: String,
}

/// Why a string is not an entity reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// No kind was written and the context gives none.
    MissingKind(String),
    /// `kind:` or `namespace/` with nothing around the separator.
    Empty(String, &'static str),
    /// More separators than the format allows.
    Malformed(String),
}

// Written out rather than derived with thiserror: a proc-macro dependency
// here would join the guest plugins' build and change every plugin's
// bytes (and so its digest in the marketplace index), not only theirs that
// use this crate.
impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::MissingKind(text) => write!(
                f,
                "entity reference \"{text}\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"
            ),
            RefError::Empty(text, part) => {
                write!(f, "entity reference \"{text}\" has an empty {part}")
            }
            RefError::Malformed(text) => write!(
                f,
                "entity reference \"{text}\" is not of the form [kind:][namespace/]name"
            ),
        }
    }
}

impl std::error::Error for RefError {}

impl EntityRef {
    /// A reference from its three parts, as written.
    pub fn new(kind: &str, namespace: &str, name: &str) -> EntityRef {
        EntityRef {
            kind: kind.to_ascii_lowercase(),
            namespace: namespace.to_ascii_lowercase(),
            name: name.to_owned(),
        }
    }

    /// Parses `[kind:][namespace/]name`, filling in what is not written
    /// from the context: `default_kind` (e.g. `Group` for `spec.owner`) and
    /// `default_namespace` (the referring entity's namespace).
    pub fn parse(
        text: &str,
        default_kind: Option<&str>,
        default_namespace: &str,
    ) -> Result<EntityRef, RefError> {
        let text = text.trim();
        let (kind, rest) = match text.split_once(':') {
            Some((kind, rest)) => (Some(kind), rest),
            None => (None, text),
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, rest),
        };
        if name.contains([':', '/']) {
            return Err(RefError::Malformed(text.to_owned()));
        }
        let kind = match kind {
            Some("") => return Err(RefError::Empty(text.to_owned(), "kind")),
            Some(kind) => kind,
            None => default_kind.ok_or_else(|| RefError::MissingKind(text.to_owned()))?,
        };
        let namespace = match namespace {
            Some("") => return Err(RefError::Empty(text.to_owned(), "namespace")),
            Some(namespace) => namespace,
            None => default_namespace,
        };
        if name.is_empty() {
            return Err(RefError::Empty(text.to_owned(), "name"));
        }
        Ok(EntityRef::new(kind, namespace, name))
    }

    /// The kind, lower-cased.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The namespace, lower-cased.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lower-cased `kind:namespace/name` the store indexes by.
    pub fn key(&self) -> String {
        format!("{}:{}/{}", self.kind, self.namespace, self.name).to_lowercase()
    }
}

/// Prints `kind:namespace/name`, kind and namespace lower-cased, as
/// Backstage's `stringifyEntityRef`.
impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The cases of Backstage's `parseEntityRef` tests.
    #[test]
    fn parses_every_form_backstage_accepts() {
        let full = EntityRef::parse("Component:Ns/Pay-API", None, "default").unwrap();
        assert_eq!(full.to_string(), "component:ns/Pay-API");
        assert_eq!(full.key(), "component:ns/pay-api");

        let no_ns = EntityRef::parse("component:pay", None, "team-a").unwrap();
        assert_eq!(no_ns.to_string(), "component:team-a/pay");

        let only_name = EntityRef::parse("platform", Some("Group"), "default").unwrap();
        assert_eq!(only_name.to_string(), "group:default/platform");

        let ns_name = EntityRef::parse("other/platform", Some("group"), "default").unwrap();
        assert_eq!(ns_name.to_string(), "group:other/platform");
    }

    #[test]
    fn refuses_what_backstage_refuses() {
        assert!(matches!(
            EntityRef::parse("pay", None, "default"),
            Err(RefError::MissingKind(_))
        ));
        assert!(matches!(
            EntityRef::parse(":pay", None, "default"),
            Err(RefError::Empty(_, "kind"))
        ));
        assert!(matches!(
            EntityRef::parse("component:/pay", None, "default"),
            Err(RefError::Empty(_, "namespace"))
        ));
        assert!(matches!(
            EntityRef::parse("component:ns/", None, "default"),
            Err(RefError::Empty(_, "name"))
        ));
        assert!(matches!(
            EntityRef::parse("a:b/c/d", None, "default"),
            Err(RefError::Malformed(_))
        ));
        assert!(matches!(
            EntityRef::parse("a:b:c", None, "default"),
            Err(RefError::Malformed(_))
        ));
    }

    #[test]
    fn the_message_names_the_reference_and_the_fix() {
        let error = EntityRef::parse("pay", None, "default").unwrap_err();
        assert_eq!(
            error.to_string(),
            "entity reference \"pay\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"
        );
    }
}
