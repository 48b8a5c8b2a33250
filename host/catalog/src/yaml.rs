//! Catalog files: multi-document YAML read into JSON values, remembering
//! where in the file every value was written so a broken rule can be
//! reported as `file:line:column`.
//!
//! saphyr's parser reads YAML 1.2 (the same schema as Backstage's `yaml`
//! package: `yes` is a string, not a boolean). Its events are turned into
//! JSON here, in one loop with an explicit stack rather than saphyr's
//! recursive loader, so that the catalog's budget ([`crate::budget`]) is
//! applied before anything is built: a document nested too deep is never
//! built past the limit, and an alias is counted before it is copied, as a
//! mapping key as much as a value. A document over the budget is refused
//! with the position where it went over; the other documents of the file
//! are read as usual.

use crate::budget::{self, MAX_ALIAS_NODES, MAX_DEPTH, Tally};
use saphyr::{Scalar, ScalarStyle};
use saphyr_parser::{Event, Marker, Parser, Span, Tag};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// After a document is refused, only its first levels are still built, so
/// the problem can name the entity (`kind`, `metadata.name`).
const KEPT_AFTER_REFUSAL: usize = 2;

/// A position in a file: 1-based line and column, as editors show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl Position {
    fn at(marker: Marker) -> Position {
        Position {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }

    /// The end of `text`: its last line, just past its last character.
    fn end_of(text: &str) -> Position {
        let last_line = text.rsplit(['\n', '\r']).next().unwrap_or_default();
        Position {
            line: 1 + text.matches(['\n', '\r']).count() - text.matches("\r\n").count(),
            column: last_line.chars().count() + 1,
        }
    }

    /// This position, or `end` when it is past it: at the end of a text
    /// with no final line break, saphyr reports what it finds there
    /// (running out of input, an empty value) on the line after the last,
    /// a line no editor can go to.
    fn clamped(self, end: Position) -> Position {
        if (self.line, self.column) > (end.line, end.column) {
            end
        } else {
            self
        }
    }

    /// This position, moved back into `text`: [`Position::clamped`] to its
    /// end, and to the end of its line, since on a `%` directive line
    /// saphyr counts columns in bytes (`%`, U+FFFD, NUL was refused at
    /// column 5 of a 3-character line). Finding the line costs a scan, so
    /// only errors pay it.
    fn within(self, text: &str) -> Position {
        let position = self.clamped(Position::end_of(text));
        let line = text
            .split("\r\n")
            .flat_map(|part| part.split(['\n', '\r']))
            .nth(position.line.saturating_sub(1))
            .unwrap_or_default();
        Position {
            column: position.column.min(line.chars().count() + 1),
            ..position
        }
    }
}

/// One YAML document of a file, as JSON, with the position of each value.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document's content (of a refused document, only its first
    /// levels).
    pub value: Value,
    positions: Positions,
    refusal: Option<YamlError>,
}

/// Where each value starts, as a tree of node ids (0 is the document), so
/// that what it takes grows with the keys written, not with their depth.
#[derive(Debug, Clone, Default)]
struct Positions {
    at: Vec<Position>,
    /// A node's child by (parent id, key or index).
    children: HashMap<(usize, String), usize>,
}

impl Document {
    /// Where the value at the JSON pointer `pointer` (`/metadata/name`) was
    /// written, or the nearest enclosing value that was (a missing field is
    /// reported at its parent).
    pub fn position(&self, pointer: &str) -> Position {
        let Some(mut found) = self.positions.at.first().copied() else {
            return Position::default();
        };
        let mut node = 0;
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            match self.positions.children.get(&(node, segment)) {
                Some(&child) => {
                    node = child;
                    found = self.positions.at[child];
                }
                None => break,
            }
        }
        found
    }

    /// A document built from JSON (an API request), which has no positions.
    pub fn from_json(value: Value) -> Document {
        Document {
            value,
            positions: Positions::default(),
            refusal: None,
        }
    }

    /// Why the document was refused, when it went over the catalog's
    /// budget ([`crate::budget`]): where, and which limit.
    pub fn refusal(&self) -> Option<&YamlError> {
        self.refusal.as_ref()
    }
}

/// A file that is not YAML, or a document over the catalog's budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Where the parser gave up.
    pub position: Position,
    /// What it found.
    pub message: String,
}

impl YamlError {
    fn new(position: Position, message: impl Into<String>) -> YamlError {
        YamlError {
            position,
            message: message.into(),
        }
    }
}

/// Parses every document of a (multi-document) YAML text. Empty documents
/// (a trailing `---`) are skipped, as Backstage skips them. A document
/// over the budget is returned with its [`Document::refusal`]; a text that
/// is not YAML is an error.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let end = Position::end_of(text);
    let mut builder = Builder {
        end,
        ..Builder::default()
    };
    for event in Parser::new_from_str(text) {
        let (event, span) =
            event.map_err(|e| YamlError::new(Position::at(*e.marker()).within(text), e.info()))?;
        builder.event(event, span)?;
    }
    Ok(builder.documents)
}

/// A mapping or sequence being built.
struct Frame {
    collection: Collection,
    /// Its node id.
    node: usize,
    /// Its anchor id (0 for none).
    anchor: usize,
    /// The document's tally when it began, to know what it holds.
    start: Tally,
    /// How many levels it spans, itself included.
    height: usize,
}

enum Collection {
    Mapping {
        map: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<(String, Position)>,
    },
    Sequence(Vec<Value>),
}

/// An anchored value, and what copying it costs.
struct Anchor {
    value: Value,
    tally: Tally,
    height: usize,
}

/// Turns parser events into documents, within the budget.
#[derive(Default)]
struct Builder {
    documents: Vec<Document>,
    frames: Vec<Frame>,
    /// How many levels of a collection that is not being built are open.
    skipping: usize,
    /// Where that collection began.
    skipped_at: Position,
    /// Whether that collection stands where a mapping key should.
    skipped_key: bool,
    root: Option<Value>,
    positions: Positions,
    tally: Tally,
    refusal: Option<YamlError>,
    anchors: HashMap<usize, Anchor>,
    /// Values the file's aliases have expanded to so far.
    alias_nodes: usize,
    /// Where the text ends.
    end: Position,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let position = Position::at(span.start).clamped(self.end);
        match event {
            Event::DocumentStart(_) => self.begin_document(),
            Event::DocumentEnd => self.end_document(),
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            _ if self.skipping > 0 => self.skip(&event),
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(text, style, anchor, tag, position)?
            }
            Event::Alias(id) => self.alias(id, position)?,
            Event::SequenceStart(anchor, _) => {
                self.begin(Collection::Sequence(Vec::new()), anchor, position)
            }
            Event::MappingStart(anchor, _) => {
                let mapping = Collection::Mapping {
                    map: Map::new(),
                    key: None,
                };
                self.begin(mapping, anchor, position)
            }
            Event::SequenceEnd | Event::MappingEnd => self.end()?,
        }
        Ok(())
    }

    fn begin_document(&mut self) {
        self.frames.clear();
        self.skipping = 0;
        self.root = None;
        self.positions = Positions::default();
        self.tally = Tally::default();
        self.refusal = None;
        self.anchors.clear();
    }

    fn end_document(&mut self) {
        let Some(value) = self.root.take() else {
            return;
        };
        if value.is_null() && self.refusal.is_none() {
            return;
        }
        self.documents.push(Document {
            value,
            positions: std::mem::take(&mut self.positions),
            refusal: self.refusal.take(),
        });
    }

    /// Refuses the document (once: the first limit broken is the one
    /// reported).
    fn refuse(&mut self, position: Position, message: String) {
        if self.refusal.is_none() {
            self.refusal = Some(YamlError::new(position, message));
        }
    }

    /// Whether the next value is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                collection: Collection::Mapping { key: None, .. },
                ..
            })
        )
    }

    /// Inside a collection that is not being built: only its end matters.
    fn skip(&mut self, event: &Event<'_>) {
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => self.skipping += 1,
            Event::SequenceEnd | Event::MappingEnd => {
                self.skipping -= 1;
                if self.skipping == 0 && self.skipped_key {
                    self.set_key(String::new(), self.skipped_at);
                } else if self.skipping == 0 {
                    // What was not built reads as null, at its start (in
                    // a refused document, where keys may repeat).
                    self.register(self.skipped_at);
                    let _ = self.place(Value::Null);
                }
            }
            _ => {}
        }
    }

    /// A new node id for a value starting at `position`, as the next child
    /// of the innermost collection.
    fn register(&mut self, position: Position) -> usize {
        let id = self.positions.at.len();
        self.positions.at.push(position);
        let segment = match self.frames.last() {
            Some(Frame {
                collection:
                    Collection::Mapping {
                        key: Some((key, _)),
                        ..
                    },
                ..
            }) => key.clone(),
            Some(Frame {
                collection: Collection::Sequence(items),
                ..
            }) => items.len().to_string(),
            _ => return id,
        };
        let parent = self.frames.last().map_or(0, |f| f.node);
        self.positions.children.insert((parent, segment), id);
        id
    }

    /// Puts a finished value into the innermost collection (or makes it the
    /// document).
    fn place(&mut self, value: Value) -> Result<(), YamlError> {
        let Some(frame) = self.frames.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        match &mut frame.collection {
            Collection::Sequence(items) => items.push(value),
            Collection::Mapping { map, key } => {
                let (key, at) = key.take().expect("a value in a mapping follows its key");
                if map.insert(key, value).is_some() && self.refusal.is_none() {
                    return Err(YamlError::new(at, "duplicated key in mapping"));
                }
            }
        }
        Ok(())
    }

    fn set_key(&mut self, key: String, position: Position) {
        if let Some(Frame {
            collection: Collection::Mapping { key: slot, .. },
            ..
        }) = self.frames.last_mut()
        {
            *slot = Some((key, position));
        }
    }

    fn count(&mut self, nodes: usize, bytes: usize, position: Position) {
        if self.refusal.is_some() {
            return;
        }
        if let Err(message) = self.tally.add(nodes, bytes) {
            self.refuse(position, format!("this document {message}"));
        }
    }

    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<Cow<'_, Tag>>,
        position: Position,
    ) -> Result<(), YamlError> {
        // Only a scalar with a core tag (`!!int`) can fail to parse: only
        // then is its text kept for the message.
        let shown = tag
            .as_ref()
            .filter(|t| t.is_yaml_core_schema())
            .map(|_| text.to_string());
        let scalar =
            Scalar::parse_from_cow_and_metadata(text, style, tag.as_ref()).ok_or_else(|| {
                let tag = tag.map(|t| t.to_string()).unwrap_or_default();
                let shown = shown.unwrap_or_default();
                YamlError::new(
                    position,
                    format!("\"{shown}\" does not match its tag {tag}"),
                )
            })?;
        let value = scalar_value(&scalar);
        let bytes = value.as_str().map_or(0, str::len);
        if anchor > 0 {
            let anchored = Anchor {
                value: value.clone(),
                tally: Tally { nodes: 1, bytes },
                height: 0,
            };
            self.anchors.insert(anchor, anchored);
        }
        if self.expecting_key() {
            let key = key_text(&value).expect("a scalar is a valid key");
            self.count(0, key.len(), position);
            self.set_key(key, position);
            return Ok(());
        }
        self.count(1, bytes, position);
        self.register(position);
        self.place(value)
    }

    fn alias(&mut self, id: usize, position: Position) -> Result<(), YamlError> {
        // A refused document copies nothing more (and keeps no anchors).
        if self.refusal.is_some() {
            if self.expecting_key() {
                self.set_key(String::new(), position);
                return Ok(());
            }
            self.register(position);
            return self.place(Value::Null);
        }
        let Some(anchor) = self.anchors.get(&id) else {
            return Err(YamlError::new(position, "an alias to an unknown anchor"));
        };
        if self.expecting_key() {
            // A mapping or sequence as a key is refused without being
            // copied, however large it is.
            let Some(key) = key_text(&anchor.value) else {
                self.refuse(position, KEY_RULE.into());
                self.set_key(String::new(), position);
                return Ok(());
            };
            let bytes = key.len();
            self.alias_nodes = self.alias_nodes.saturating_add(1);
            self.count(0, bytes, position);
            self.set_key(key, position);
            return Ok(());
        }
        let (tally, height) = (anchor.tally, anchor.height);
        if let Some(parent) = self.frames.last_mut() {
            parent.height = parent.height.max(height + 1);
        }
        let depth = self.frames.len() + height;
        if depth > MAX_DEPTH {
            self.refuse(position, format!("this alias {}", budget::depth_exceeded()));
        }
        self.alias_nodes = self.alias_nodes.saturating_add(tally.nodes);
        if self.alias_nodes > MAX_ALIAS_NODES {
            self.refuse(position, budget::aliases_exceeded());
        }
        self.count(tally.nodes, tally.bytes, position);
        let value = match &self.refusal {
            None => self.anchors[&id].value.clone(),
            Some(_) => Value::Null,
        };
        self.register(position);
        self.place(value)
    }

    fn begin(&mut self, collection: Collection, anchor: usize, position: Position) {
        let is_key = self.expecting_key();
        if is_key {
            self.refuse(position, KEY_RULE.into());
        }
        let depth = self.frames.len() + 1;
        if depth > MAX_DEPTH {
            self.refuse(position, format!("this value {}", budget::depth_exceeded()));
        }
        self.count(1, 0, position);
        if is_key || (self.refusal.is_some() && depth > KEPT_AFTER_REFUSAL) {
            self.skipping = 1;
            self.skipped_at = position;
            self.skipped_key = is_key;
            return;
        }
        let node = self.register(position);
        self.frames.push(Frame {
            collection,
            node,
            anchor,
            start: self.tally,
            height: 1,
        });
    }

    fn end(&mut self) -> Result<(), YamlError> {
        let frame = self
            .frames
            .pop()
            .expect("the parser ends only the collections it began");
        let value = match frame.collection {
            Collection::Mapping { map, .. } => Value::Object(map),
            Collection::Sequence(items) => Value::Array(items),
        };
        if let Some(parent) = self.frames.last_mut() {
            parent.height = parent.height.max(frame.height + 1);
        }
        if frame.anchor > 0 && self.refusal.is_none() {
            let anchored = Anchor {
                value: value.clone(),
                tally: Tally {
                    // The collection itself was counted before `start`.
                    nodes: self.tally.nodes - frame.start.nodes + 1,
                    bytes: self.tally.bytes - frame.start.bytes,
                },
                height: frame.height,
            };
            self.anchors.insert(frame.anchor, anchored);
        }
        self.place(value)
    }
}

const KEY_RULE: &str = "mapping keys must be strings, numbers or booleans";

/// A scalar as a mapping key, as JavaScript would write it.
fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some("null".into()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        Value::Array(_) | Value::Object(_) => None,
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

    #[test]
    fn a_file_that_ends_mid_value_is_reported_at_its_end() {
        // Shrunk by tests/yaml_properties.rs: saphyr said line 2 of this
        // one-line file.
        let error = parse_documents("{").unwrap_err();
        assert_eq!(error.position, Position { line: 1, column: 2 });
        let error = parse_documents("a:\r\n  - [x,\r\n").unwrap_err();
        assert_eq!(error.position, Position { line: 3, column: 1 });
        // A directive line with a character of several bytes (shrunk
        // too): saphyr puts the NUL, the third character, at column 5;
        // the end of the line is the nearest place there is.
        let error = parse_documents("%\u{fffd}\0\n").unwrap_err();
        assert_eq!(error.position, Position { line: 1, column: 4 });
        // And an empty value there (shrunk too: it was on line 2).
        let docs = parse_documents("? : ").unwrap();
        let last = docs[0].value.as_object().unwrap().keys().next().unwrap();
        assert_eq!(
            docs[0].position(&format!("/{last}")),
            Position { line: 1, column: 5 }
        );
    }

    #[test]
    fn repeated_keys_and_bad_tags_are_syntax_errors() {
        let error = parse_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.message, "duplicated key in mapping");
        assert_eq!(error.position.line, 3);
        let error = parse_documents("a: !!int twelve\n").unwrap_err();
        assert!(error.message.contains("twelve"), "{error:?}");
    }

    const HEAD: &str =
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: NAME\nspec:\n";

    fn head(name: &str) -> String {
        HEAD.replace("NAME", name)
    }

    /// Runs `f` on a thread with a small stack: however deep the input,
    /// reading it must not need more.
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .expect("a thread starts")
            .join()
            .expect("reading did not crash the thread")
    }

    #[test]
    fn a_file_nested_thousands_of_levels_deep_is_refused_where_it_goes_too_deep() {
        // Block style, two bytes a level: 2 000 levels in 4 KB took the
        // server down, at every restart.
        for levels in [2_000, 100_000] {
            let text = format!(
                "{}  deep:\n    {}x\n---\n{}",
                head("deep"),
                "- ".repeat(levels),
                head("fine")
            );
            let docs = on_small_stack(move || parse_documents(&text)).unwrap();
            assert_eq!(docs.len(), 2);
            let refusal = docs[0].refusal().expect("the deep document is refused");
            // The 65th level: the mapping, spec, then the 63rd sequence.
            assert_eq!(
                refusal.position,
                Position {
                    line: 7,
                    column: 5 + 2 * 62
                }
            );
            assert!(
                refusal.message.contains("deeper than 64 levels"),
                "{refusal:?}"
            );
            assert_eq!(
                docs[0].value["metadata"]["name"], "deep",
                "the problem can still name its entity"
            );
            assert!(docs[1].refusal().is_none(), "the next document is read");
            assert_eq!(docs[1].value["metadata"]["name"], "fine");
        }
    }

    #[test]
    fn flow_style_nesting_is_refused_too() {
        let text = format!(
            "{}  deep: {}x{}\n",
            head("deep"),
            "[".repeat(200),
            "]".repeat(200)
        );
        match on_small_stack(move || parse_documents(&text)) {
            Ok(docs) => assert!(docs[0].refusal().is_some()),
            // The scanner has its own flow-depth limit.
            Err(error) => assert_eq!(error.position.line, 6, "{error:?}"),
        }
    }

    #[test]
    fn a_billion_laughs_is_refused_before_it_is_expanded() {
        let mut text = head("lol") + "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
        for i in 1..10 {
            let aliases = vec![format!("*a{}", i - 1); 9].join(", ");
            text += &format!("  a{i}: &a{i} [{aliases}]\n");
        }
        let docs = parse_documents(&text).unwrap();
        let refusal = docs[0].refusal().expect("refused");
        assert!(refusal.message.contains("billion laughs"), "{refusal:?}");
        // a5's first alias would take the file past 100 000 values.
        assert_eq!(
            refusal.position,
            Position {
                line: 11,
                column: 12
            }
        );
        assert_eq!(docs[0].value["metadata"]["name"], "lol");
    }

    #[test]
    fn aliases_used_as_mapping_keys_are_refused_without_being_copied() {
        // Each level's key is a sequence of nine of the level below: the
        // keys alone would grow a few hundred bytes past 6 GB.
        let mut text = head("keys") + "  k0: &k0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
        for i in 1..10 {
            let aliases = vec![format!("*k{}", i - 1); 9].join(", ");
            text += &format!("  k{i}: &k{i} {{? [{aliases}] : x}}\n");
        }
        text += "  direct: {? *k0 : x}\n";
        let docs = parse_documents(&text).unwrap();
        let refusal = docs[0].refusal().expect("refused");
        assert_eq!(refusal.message, KEY_RULE);
        assert_eq!(
            refusal.position.line, 7,
            "the first key that is not a scalar"
        );
        assert_eq!(docs[0].value["metadata"]["name"], "keys");

        let direct = parse_documents("a: &a [1, 2]\nb: {? *a : x}\n").unwrap();
        assert_eq!(
            direct[0].refusal().map(|r| r.message.as_str()),
            Some(KEY_RULE)
        );
    }

    #[test]
    fn a_scalar_alias_is_a_key_like_any_other() {
        let docs = parse_documents("a: {&k name: 1}\nb: {*k : 2}\nc: *k\n").unwrap();
        assert!(docs[0].refusal().is_none());
        assert_eq!(docs[0].value["b"]["name"], 2);
        assert_eq!(docs[0].value["c"], "name");
    }

    #[test]
    fn the_alias_budget_is_shared_by_the_documents_of_a_file() {
        let one = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["x"; 1_000].join(", "),
            vec!["*a"; 60].join(", ")
        );
        let docs = parse_documents(&format!("{one}---\n{one}")).unwrap();
        assert!(
            docs[0].refusal().is_none(),
            "60 000 values is within budget"
        );
        assert_eq!(docs[0].value["b"][59][999], "x");
        let refusal = docs[1]
            .refusal()
            .expect("the second takes the file past it");
        assert!(refusal.message.contains("billion laughs"), "{refusal:?}");
    }

    #[test]
    fn problems_inside_an_alias_are_reported_at_the_alias() {
        let docs = parse_documents("a: &a {x: 1}\nb:\n  c: *a\n").unwrap();
        assert_eq!(docs[0].position("/b/c/x"), Position { line: 3, column: 6 });
        assert_eq!(
            docs[0].position("/a/x"),
            Position {
                line: 1,
                column: 11
            }
        );
    }

    /// A document nested `depth` levels deep, in block or flow style,
    /// whose leaf is a chain of `chain` anchors, each aliased `fan_out`
    /// times by the next.
    fn generated(depth: usize, flow: bool, chain: usize, fan_out: usize) -> String {
        let mut text = String::from("anchors:\n");
        text += "  l0: &l0 leaf\n";
        for i in 1..=chain {
            let aliases = vec![format!("*l{}", i - 1); fan_out].join(", ");
            text += &format!("  l{i}: &l{i} [{aliases}]\n");
        }
        let leaf = format!("*l{chain}");
        if flow {
            text += &format!("deep: {}{leaf}{}\n", "[".repeat(depth), "]".repeat(depth));
        } else {
            text += "deep:\n";
            for level in 0..depth {
                text += &format!("{}k{level}:\n", "  ".repeat(level + 1));
            }
            text += &format!("{}{leaf}\n", "  ".repeat(depth + 1));
        }
        text
    }

    proptest::proptest! {
        // Items 1 and 2 of issue 12: whatever the nesting and aliases, the
        // reader never crashes, and a document is either within the budget
        // or refused with a position in the file.
        #[test]
        fn nesting_and_aliases_are_read_within_budget_or_refused_where_they_break_it(
            depth in 0usize..160,
            flow in proptest::bool::ANY,
            chain in 0usize..8,
            fan_out in 1usize..12,
        ) {
            let text = generated(depth, flow, chain, fan_out);
            let lines = text.lines().count();
            let docs = match parse_documents(&text) {
                Ok(docs) => docs,
                // The scanner's own flow-depth limit.
                Err(error) => {
                    proptest::prop_assert!(flow && error.position.line <= lines, "{error:?}");
                    return Ok(());
                }
            };
            let doc = &docs[0];
            // What each anchor holds, and what the aliases copy.
            let mut held = vec![1u64];
            for i in 1..=chain {
                held.push(1 + fan_out as u64 * held[i - 1]);
            }
            let copied = held[chain] + held[..chain].iter().map(|h| h * fan_out as u64).sum::<u64>();
            let values = 2 + held.iter().sum::<u64>() + depth as u64 + held[chain];
            let too_deep = depth + 1 + chain > crate::budget::MAX_DEPTH;
            let too_big = copied > crate::budget::MAX_ALIAS_NODES as u64
                || values > crate::budget::MAX_NODES as u64;
            match doc.refusal() {
                Some(refusal) => {
                    proptest::prop_assert!(too_deep || too_big, "refused within budget: {refusal:?}");
                    proptest::prop_assert!((1..=lines).contains(&refusal.position.line));
                }
                None => {
                    proptest::prop_assert!(!too_deep && !too_big);
                    proptest::prop_assert!(crate::budget::check(&doc.value).is_ok());
                }
            }
        }

        // Any text at all: an error or documents, never a crash, and never
        // a document over the budget that is not refused.
        #[test]
        fn any_text_is_read_or_refused(text in "([-\\[\\]{}:,&*?!|>'\" \\na-c]|&a |\\*a|- ){0,300}") {
            if let Ok(docs) = parse_documents(&text) {
                for doc in docs {
                    if doc.refusal().is_none() {
                        proptest::prop_assert!(crate::budget::check(&doc.value).is_ok());
                    }
                }
            }
        }
    }
}
