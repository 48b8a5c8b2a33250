//! Facts: what a collector learnt about an entity, as JSON.
//!
//! A fact is one JSON value per (entity, collector), with the time it was
//! collected, kept under `fact/<collector>/<entity>`. Rules address into
//! the facts of an entity with a [`FactPath`] whose first segment is the
//! collector's id: `github.branch_protection.required_reviews` reads
//! `required_reviews` inside `branch_protection` of the `github` fact.

use crate::keys;
use crate::store::Store;
use greenroom_sdk::Result;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// What one collector knows about one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// The entity, `kind:namespace/name`.
    pub entity: String,
    /// The collector's id.
    pub collector: String,
    /// What it found: usually an object.
    pub value: Value,
    /// When, in milliseconds since the epoch.
    pub collected_at_ms: u64,
}

/// Stores a fact, replacing the collector's previous one for the entity.
pub fn save(store: &dyn Store, fact: &Fact) -> Result<()> {
    store.set_json(&keys::fact(&fact.collector, &fact.entity), fact)
}

/// The facts about `entity` from each of `collectors` that has one.
pub fn load<'a>(
    store: &dyn Store,
    entity: &str,
    collectors: impl IntoIterator<Item = &'a str>,
) -> Result<Facts> {
    let collectors: Vec<&str> = collectors.into_iter().collect();
    let keys: Vec<String> = collectors
        .iter()
        .map(|collector| keys::fact(collector, entity))
        .collect();
    let found = store.read_json_many::<Fact>(&keys)?;
    let facts = collectors
        .into_iter()
        .zip(found)
        .filter_map(|(collector, fact)| Some((collector.to_owned(), fact?)));
    Ok(Facts(facts.collect()))
}

/// The facts about one entity, by collector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts(pub BTreeMap<String, Fact>);

impl Facts {
    /// The value at `path`, or why there is none.
    pub fn lookup(&self, path: &FactPath) -> Result<&Value, Missing> {
        let Some(Segment::Key(collector)) = path.0.first() else {
            return Err(Missing::NoCollector);
        };
        let fact = self
            .0
            .get(collector)
            .ok_or_else(|| Missing::NotCollected(collector.clone()))?;
        path.lookup_from(1, &fact.value)
            .ok_or_else(|| Missing::NoValue(path.to_string()))
    }

    /// When the fact from `collector` was collected.
    pub fn collected_at(&self, collector: &str) -> Option<u64> {
        self.0.get(collector).map(|f| f.collected_at_ms)
    }
}

/// Why a fact path has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The path names no collector.
    NoCollector,
    /// The collector has no fact about the entity yet.
    NotCollected(String),
    /// The fact does not contain the path.
    NoValue(String),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::NoCollector => f.write_str("the rule names no collector"),
            Missing::NotCollected(c) => write!(f, "no `{c}` facts have been collected yet"),
            Missing::NoValue(p) => write!(f, "{p} is missing"),
        }
    }
}

/// One step of a fact path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path into facts: `github.branch_protection.required_reviews`,
/// `catalog.annotations["pagerduty.com/service-id"]`,
/// `github.workflow_runs[0].conclusion`. Keys with dots or slashes go in
/// brackets and quotes. The empty path is the value itself (inside `all`
/// and `any`, the list element).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FactPath(pub Vec<Segment>);

impl FactPath {
    /// Parses a path.
    pub fn parse(text: &str) -> Result<FactPath, String> {
        let mut segments = Vec::new();
        let mut rest = text.trim();
        let bad = |why: &str| format!("fact path `{text}`: {why}");
        while !rest.is_empty() {
            if let Some(inside) = rest.strip_prefix('[') {
                let (segment, after) = bracket(inside).ok_or_else(|| {
                    bad("a bracket holds a quoted key or an index, e.g. [\"a/b\"] or [0]")
                })?;
                segments.push(segment);
                rest = after;
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let key = &rest[..end];
                if key.is_empty() {
                    return Err(bad("empty segment"));
                }
                segments.push(Segment::Key(key.to_owned()));
                rest = &rest[end..];
            }
            if let Some(after) = rest.strip_prefix('.') {
                if after.is_empty() || after.starts_with(['.', '[']) {
                    return Err(bad("empty segment"));
                }
                rest = after;
            } else if !rest.is_empty() && !rest.starts_with('[') {
                return Err(bad("expected `.` or `[`"));
            }
        }
        Ok(FactPath(segments))
    }

    /// The collector the path reads from.
    pub fn collector(&self) -> Option<&str> {
        match self.0.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The value at the path inside `value` (the path's own start).
    pub fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.lookup_from(0, value)
    }

    fn lookup_from<'v>(&self, skip: usize, value: &'v Value) -> Option<&'v Value> {
        self.0
            .iter()
            .skip(skip)
            .try_fold(value, |at, segment| match segment {
                Segment::Key(key) => at.get(key.as_str()),
                Segment::Index(i) => at.get(*i),
            })
    }
}

fn bracket(inside: &str) -> Option<(Segment, &str)> {
    if let Some(quote) = inside.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &inside[1..];
        let end = body.find(quote)?;
        let after = body[end + 1..].strip_prefix(']')?;
        return Some((Segment::Key(body[..end].to_owned()), after));
    }
    let end = inside.find(']')?;
    let index = inside[..end].trim().parse().ok()?;
    Some((Segment::Index(index), &inside[end + 1..]))
}

impl fmt::Display for FactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) if k.contains(['.', '[', ']', '"']) || k.is_empty() => {
                    write!(f, "[{}]", serde_json::Value::from(k.as_str()))?
                }
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
            }
        }
        Ok(())
    }
}

impl Serialize for FactPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FactPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FactPath, D::Error> {
        let text = String::deserialize(deserializer)?;
        FactPath::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use serde_json::json;

    fn path(text: &str) -> FactPath {
        FactPath::parse(text).unwrap()
    }

    #[test]
    fn parses_dotted_bracketed_and_indexed_paths() {
        assert_eq!(
            path("catalog.annotations[\"pagerduty.com/service-id\"]").0,
            vec![
                Segment::Key("catalog".into()),
                Segment::Key("annotations".into()),
                Segment::Key("pagerduty.com/service-id".into()),
            ]
        );
        assert_eq!(path("github.runs[0].conclusion").0[2], Segment::Index(0));
        assert_eq!(path("a['x.y'].b").0[1], Segment::Key("x.y".into()));
        assert_eq!(path(""), FactPath::default());
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in ["a..b", "a.", ".a", "a[", "a[x]", "a['x]", "a[0]b"] {
            assert!(FactPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prints_paths_as_they_parse() {
        for text in [
            "github.runs[0].conclusion",
            "catalog.annotations[\"pagerduty.com/service-id\"]",
        ] {
            assert_eq!(path(text).to_string(), text);
        }
    }

    #[test]
    fn looks_up_facts_by_collector_and_path() {
        let store = MemoryStore::default();
        let fact = Fact {
            entity: "component:default/pay".into(),
            collector: "sonarqube".into(),
            value: json!({"coverage": 61.2, "gate": {"status": "OK"}}),
            collected_at_ms: 5,
        };
        save(&store, &fact).unwrap();
        assert_eq!(store.keys(), ["fact/sonarqube/component:default/pay"]);
        let facts = load(&store, "component:default/pay", ["sonarqube", "github"]).unwrap();
        assert_eq!(
            facts.lookup(&path("sonarqube.gate.status")),
            Ok(&json!("OK"))
        );
        assert_eq!(
            facts.lookup(&path("github.private")),
            Err(Missing::NotCollected("github".into()))
        );
        assert_eq!(
            facts.lookup(&path("sonarqube.bugs")),
            Err(Missing::NoValue("sonarqube.bugs".into()))
        );
        assert_eq!(facts.collected_at("sonarqube"), Some(5));
    }
}
