//! Catalog files: multi-document YAML read into JSON values, remembering
//! where in the file every value was written so a broken rule can be
//! reported as `file:line:column`.
//!
//! saphyr is a YAML 1.2 parser (the same schema as Backstage's `yaml`
//! package: `yes` is a string, not a boolean) that keeps each node's span.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, ScalarStyle, YamlData};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// A position in a file: 1-based line and column, as editors show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

/// One YAML document of a file, as JSON, with the position of each value.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document's content.
    pub value: Value,
    /// Where each value starts, by JSON pointer (`/metadata/name`); `""` is
    /// the document itself.
    positions: HashMap<String, Position>,
}

impl Document {
    /// Where the value at `pointer` was written, or the nearest enclosing
    /// value that was (a missing field is reported at its parent).
    pub fn position(&self, pointer: &str) -> Position {
        let mut pointer = pointer;
        loop {
            if let Some(position) = self.positions.get(pointer) {
                return *position;
            }
            match pointer.rfind('/') {
                Some(slash) => pointer = &pointer[..slash],
                None => return Position::default(),
            }
        }
    }

    /// A document built from JSON (an API request), which has no positions.
    pub fn from_json(value: Value) -> Document {
        Document {
            value,
            positions: HashMap::new(),
        }
    }
}

/// A file that is not YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Where the parser gave up.
    pub position: Position,
    /// What it found.
    pub message: String,
}

/// Parses every document of a (multi-document) YAML text. Empty documents
/// (a trailing `---`) are skipped, as Backstage skips them.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let nodes = MarkedYaml::load_from_str(text).map_err(|e| YamlError {
        position: Position {
            line: e.marker().line(),
            column: e.marker().col() + 1,
        },
        message: e.info().to_owned(),
    })?;
    nodes
        .iter()
        .filter(|node| !matches!(node.data, YamlData::Value(Scalar::Null)))
        .map(|node| {
            let mut positions = HashMap::new();
            let value = convert(node, String::new(), &mut positions)?;
            Ok(Document { value, positions })
        })
        .collect()
}

fn convert(
    node: &MarkedYaml<'_>,
    pointer: String,
    positions: &mut HashMap<String, Position>,
) -> Result<Value, YamlError> {
    let position = Position {
        line: node.span.start.line(),
        column: node.span.start.col() + 1,
    };
    let value = match &node.data {
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Representation(text, style, _) => representation(text, *style),
        YamlData::Tagged(_, inner) => convert(inner, pointer.clone(), positions)?,
        YamlData::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, format!("{pointer}/{i}"), positions))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(entries) => {
            let mut map = Map::new();
            for (key, item) in entries {
                let key = key_text(key).ok_or_else(|| YamlError {
                    position,
                    message: "mapping keys must be strings, numbers or booleans".into(),
                })?;
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                let item = convert(item, child, positions)?;
                map.insert(key, item);
            }
            Value::Object(map)
        }
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(YamlError {
                position,
                message: "an alias or value that could not be resolved".into(),
            });
        }
    };
    positions.insert(pointer, position);
    Ok(value)
}

fn key_text(key: &MarkedYaml<'_>) -> Option<String> {
    match &key.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Null) => Some("null".into()),
        YamlData::Representation(text, _, _) => Some(text.to_string()),
        YamlData::Tagged(_, inner) => key_text(inner),
        _ => None,
    }
}

fn scalar_value(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => Number::from_f64(f.into_inner())
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

/// A scalar the loader left unresolved: plain scalars follow YAML 1.2's
/// core schema, quoted and block scalars are strings.
fn representation(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    scalar_value(&Scalar::parse_from_cow(text.to_owned().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_where_each_value_was_written() {
        let docs = parse_documents(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: pay\n  tags: [a, b]\n---\nkind: API\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value["metadata"]["name"], "pay");
        assert_eq!(
            docs[0].position("/metadata/name"),
            Position { line: 4, column: 9 }
        );
        assert_eq!(docs[0].position("/metadata/tags/1").line, 5);
        // A missing field is reported where its parent is.
        assert_eq!(docs[0].position("/metadata/owner").line, 4);
        assert_eq!(docs[1].position("/kind").line, 7);
    }

    #[test]
    fn reads_yaml_1_2_scalars_as_backstage_does() {
        let docs = parse_documents("a: yes\nb: 12\nc: '12'\nd: ~\ne: true\nf: 1.5\n").unwrap();
        let v = &docs[0].value;
        assert_eq!(v["a"], "yes");
        assert_eq!(v["b"], 12);
        assert_eq!(v["c"], "12");
        assert_eq!(v["d"], Value::Null);
        assert_eq!(v["e"], true);
        assert_eq!(v["f"], 1.5);
    }

    #[test]
    fn skips_empty_documents() {
        let docs = parse_documents("---\nkind: A\n---\n---\nkind: B\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn a_syntax_error_says_where() {
        let error = parse_documents("kind: A\nmetadata:\n  name: [unclosed\n").unwrap_err();
        assert!(error.position.line >= 3, "{error:?}");
        assert!(!error.message.is_empty());
    }
}
