//! One depth and size budget for every catalog document, wherever it comes
//! from: a YAML file (checked while it is parsed, before any tree is
//! built), a `$json`/`$yaml` placeholder, an entity posted to the API or
//! written by a plugin (checked by [`crate::validate`]).
//!
//! Catalog input is hostile until proven otherwise. Without a budget a
//! 4 KB file nested 2 000 levels deep overflows the stack of whatever walks
//! it (the parser, the tree, its drop), a few hundred bytes of aliases
//! expand to gigabytes, and an entity nested past serde_json's recursion
//! limit (128) is stored but can never be read back, so every list that
//! contains it fails. Within the budget, every recursive walk of an entity
//! in the host is at most [`MAX_DEPTH`] frames deep.

use crate::validate::Problem;
use serde_json::Value;

/// The deepest nesting of mappings and sequences in one document or
/// entity: `{a: {b: [1]}}` nests 3 deep. Real entities nest fewer than 10
/// levels; an OpenAPI document read by `$json` rarely more than 30. It
/// must stay well below serde_json's recursion limit (128) after the API
/// wraps the entity (`{"items": [entity]}`) and well within the stacks of
/// the threads that walk it; raising it past ~120 makes stored entities
/// unreadable again.
pub const MAX_DEPTH: usize = 64;

/// The most values (mappings, sequences and scalars, aliases expanded) in
/// one document or entity. A hand-written entity has tens; a large
/// template a few thousand. Each value costs about a hundred bytes in
/// memory and in every read of the entity, so raising this raises what one
/// file can make the server hold and each list page cost.
pub const MAX_NODES: usize = 100_000;

/// The most text (scalars and keys, aliases expanded) in one document or
/// entity: as much as one catalog file may hold, so an API definition read
/// whole by `$text` still fits, while aliases cannot grow a small file past
/// it. Raising it raises the memory one entity may take in every read.
pub const MAX_BYTES: usize = crate::ingest::MAX_FILE_BYTES as usize;

/// The most values all the aliases of one file may expand to, across its
/// documents. Anchors are for sharing a few annotations or links; a file
/// whose aliases expand further is a "billion laughs". Raising it raises
/// how much more than its own size a file can make the server hold.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// What the budget allows, in words, for messages.
pub(crate) fn depth_exceeded() -> String {
    format!(
        "nests deeper than {MAX_DEPTH} levels, the most a catalog document may (docs/catalog.md, Limits)"
    )
}

pub(crate) fn nodes_exceeded() -> String {
    format!(
        "holds more than {MAX_NODES} values (aliases expanded), the most a catalog document may (docs/catalog.md, Limits)"
    )
}

pub(crate) fn bytes_exceeded() -> String {
    format!(
        "holds more than {MAX_BYTES} bytes of text (aliases expanded), the most a catalog document may (docs/catalog.md, Limits)"
    )
}

pub(crate) fn aliases_exceeded() -> String {
    format!(
        "the aliases of this file expand to more than {MAX_ALIAS_NODES} values here, the most a catalog file may (docs/catalog.md, Limits); is it a \"billion laughs\"?"
    )
}

/// A running count of what a document holds, checked as it grows.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub nodes: usize,
    pub bytes: usize,
}

impl Tally {
    /// Adds `nodes` values holding `bytes` of text; what is exceeded, if
    /// anything.
    pub fn add(&mut self, nodes: usize, bytes: usize) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.nodes > MAX_NODES {
            return Err(nodes_exceeded());
        }
        if self.bytes > MAX_BYTES {
            return Err(bytes_exceeded());
        }
        Ok(())
    }
}

/// Checks an entity (or any JSON document) against the budget without
/// recursion, so a value of any depth is refused rather than overflowing
/// the stack. The problem points at the first value past the budget.
pub fn check(value: &Value) -> Result<(), Problem> {
    enum Children<'a> {
        Object(serde_json::map::Iter<'a>),
        Array(std::iter::Enumerate<std::slice::Iter<'a, Value>>),
    }
    fn children(value: &Value) -> Option<Children<'_>> {
        match value {
            Value::Object(map) => Some(Children::Object(map.iter())),
            Value::Array(items) => Some(Children::Array(items.iter().enumerate())),
            _ => None,
        }
    }
    fn text(value: &Value) -> usize {
        match value {
            Value::String(s) => s.len(),
            _ => 0,
        }
    }
    let mut tally = Tally::default();
    // The path to the value being visited, one segment per open frame.
    let mut path: Vec<String> = Vec::new();
    let pointer = |path: &[String]| -> String {
        path.iter()
            .map(|segment| format!("/{}", crate::validate::escape(segment)))
            .collect()
    };
    let refuse = |path: &[String], message: String| {
        Err(Problem::new(pointer(path), format!("the entity {message}")))
    };
    if let Err(message) = tally.add(1, text(value)) {
        return refuse(&path, message);
    }
    let mut frames: Vec<Children<'_>> = children(value).into_iter().collect();
    while let Some(frame) = frames.last_mut() {
        let next = match frame {
            Children::Object(entries) => entries.next().map(|(k, v)| (k.clone(), k.len(), v)),
            Children::Array(items) => items.next().map(|(i, v)| (i.to_string(), 0, v)),
        };
        let Some((segment, key_bytes, child)) = next else {
            frames.pop();
            path.pop();
            continue;
        };
        path.push(segment);
        if let Err(message) = tally.add(1, key_bytes + text(child)) {
            return refuse(&path, message);
        }
        match children(child) {
            Some(_) if frames.len() >= MAX_DEPTH => return refuse(&path, depth_exceeded()),
            Some(grandchildren) => frames.push(grandchildren),
            None => {
                path.pop();
            }
        }
    }
    Ok(())
}

/// A JSON value nested `depth` levels deep (`[[…[1]…]]`), built and
/// dropped without recursion, for tests.
#[cfg(test)]
pub(crate) fn nested_array(depth: usize) -> Value {
    let mut value = Value::from(1);
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entity_within_the_budget_passes() {
        assert!(check(&json!({"metadata": {"name": "a", "tags": ["x"]}})).is_ok());
        assert!(check(&nested_array(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn one_level_too_deep_is_refused_where_it_is() {
        let too_deep = json!({"spec": {"a": nested_array(MAX_DEPTH - 1)}});
        let problem = check(&too_deep).unwrap_err();
        let expected = format!("/spec/a{}", "/0".repeat(MAX_DEPTH - 2));
        assert_eq!(problem.pointer, expected);
        assert!(problem.message.contains("deeper than 64"), "{problem:?}");
    }

    #[test]
    fn too_many_values_or_too_much_text_is_refused() {
        let wide = Value::Array(vec![Value::Null; MAX_NODES]);
        assert!(check(&wide).unwrap_err().message.contains("values"));
        let long = json!({"spec": {"definition": "x".repeat(MAX_BYTES + 1)}});
        let problem = check(&long).unwrap_err();
        assert_eq!(problem.pointer, "/spec/definition");
        assert!(problem.message.contains("bytes"), "{problem:?}");
    }
}
