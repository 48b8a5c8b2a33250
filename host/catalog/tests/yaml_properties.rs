//! Properties of the catalog's YAML reader (issue 13), through its public
//! entry point [`parse_documents`]. The unit tests in `src/yaml.rs` check
//! the budget's arithmetic on generated anchors and nesting; these check
//! what an operator sees: whatever a file holds, the reader answers without
//! crashing or recursing, every position it reports is a place in the file,
//! a JSON file reads as the JSON it is, and a refused document costs only
//! itself.

use greenroom_catalog::budget::MAX_DEPTH;
use greenroom_catalog::{Document, Position, YamlError, check_text, parse_documents};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Number, Value};

/// Reads `text` on a thread with a small stack: however deep the input,
/// reading it must not need more (a recursive reader overflows it at a
/// few hundred levels).
fn read_on_small_stack(text: String) -> Result<Vec<Document>, YamlError> {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || parse_documents(&text))
        .expect("a thread starts")
        .join()
        .expect("reading did not crash the thread")
}

/// The lines of `text` as YAML breaks them (`\n`, `\r\n` or `\r`).
fn lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\n', '\r']) {
        lines.push(&rest[..at]);
        let width = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + width..];
    }
    lines.push(rest);
    lines
}

/// Whether `position` is a place in `text` an editor can go to: an
/// existing line, and a column on it or just past its end.
fn is_in(text: &str, position: Position) -> bool {
    let lines = lines(text);
    position.line >= 1
        && position.line <= lines.len()
        && position.column >= 1
        && position.column <= lines[position.line - 1].chars().count() + 1
}

/// The JSON pointer of every value in `value`, found without recursion.
fn pointers(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), value)];
    while let Some((pointer, value)) = pending.pop() {
        match value {
            Value::Object(map) => pending.extend(map.iter().map(|(key, child)| {
                let key = key.replace('~', "~0").replace('/', "~1");
                (format!("{pointer}/{key}"), child)
            })),
            Value::Array(items) => pending.extend(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, child)| (format!("{pointer}/{i}"), child)),
            ),
            _ => {}
        }
        found.push(pointer);
    }
    found
}

/// How deep mappings and sequences nest in `value` (`{a: [1]}` is 2).
fn nesting(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0)];
    while let Some((value, depth)) = pending.pop() {
        let children: Vec<&Value> = match value {
            Value::Object(map) => map.values().collect(),
            Value::Array(items) => items.iter().collect(),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        pending.extend(children.into_iter().map(|child| (child, depth + 1)));
    }
    deepest
}

/// Snippets of YAML that, strung together, make texts with every
/// construct the reader handles: nesting in both styles, anchors and
/// aliases (also as keys), tags, complex keys, block scalars, several
/// documents, odd line breaks and tabs.
fn yaml_token() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "\n",
        "\r\n",
        "\r",
        "  ",
        "\t",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ": ",
        ":",
        ", ",
        "? ",
        "&a ",
        "*a",
        "&b ",
        "*b",
        "!!int ",
        "!!str ",
        "!!map ",
        "!x ",
        "---\n",
        "...\n",
        "'",
        "\"",
        "# c",
        "|\n",
        ">-\n",
        "key",
        "x",
        "12",
        "1.5",
        "~",
        "yes",
        "é",
        "\u{feff}",
        "%YAML 1.2\n",
        "\\",
        "apiVersion: backstage.io/v1alpha1\n",
        "kind: Component\n",
        "metadata:\n  name: a\n",
        "  name: -bad-\n",
        "spec:\n  owner: x\n",
        "  type: service\n",
        "$text: ./x\n",
    ])
}

/// Any JSON value, with strings of any characters (control characters,
/// quotes, line breaks) and numbers of every magnitude.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON numbers are finite", |f| {
            Number::from_f64(f).map(Value::Number)
        }),
        "(?s).{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map("(?s).{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// One level of nesting, as a catalog file could write it.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// `- ` (any number of them on one line).
    BlockSequence,
    /// `key:` and the value on the next line, indented.
    BlockMapping,
    /// `[`
    FlowSequence,
    /// `{key: `
    FlowMapping,
}

/// A document nested through `block` levels, then `flow` ones (flow style
/// cannot hold block style), with one scalar at the bottom.
fn nested(block: &[Level], flow: &[Level]) -> String {
    let mut text = String::new();
    let mut indent = 0;
    for level in block {
        match level {
            Level::BlockSequence => text += "- ",
            _ => {
                text += "key:\n";
                text.extend(std::iter::repeat_n(' ', indent + 2));
            }
        }
        indent += 2;
    }
    let mut closing = String::new();
    for level in flow {
        match level {
            Level::FlowSequence => {
                text += "[";
                closing.insert(0, ']');
            }
            _ => {
                text += "{key: ";
                closing.insert(0, '}');
            }
        }
    }
    text + "leaf" + &closing + "\n"
}

/// Block levels, mostly runs of `- ` (cheap to write thousands of) with
/// mappings between them.
fn block_levels() -> impl Strategy<Value = Vec<Level>> {
    let run = prop_oneof![
        (1usize..40).prop_map(|n| vec![Level::BlockSequence; n]),
        Just(vec![Level::BlockMapping]),
    ];
    vec(run, 0..24).prop_map(|runs| runs.concat())
}

fn flow_levels() -> impl Strategy<Value = Vec<Level>> {
    vec(
        prop_oneof![Just(Level::FlowSequence), Just(Level::FlowMapping)],
        0..90,
    )
}

/// A document the budget refuses, and what the refusal says.
fn refused_document() -> impl Strategy<Value = (String, &'static str)> {
    let billion_laughs = {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let aliases = vec![format!("*a{}", i - 1); 9].join(", ");
            text += &format!("a{i}: &a{i} [{aliases}]\n");
        }
        text
    };
    prop_oneof![
        ((MAX_DEPTH + 1)..400).prop_map(|depth| ("- ".repeat(depth) + "x\n", "deeper than")),
        Just((billion_laughs, "billion laughs")),
        Just(("a: {? [b, c] : d}\n".to_owned(), "mapping keys")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // Whatever bytes a location serves (read as UTF-8 with replacement,
    // as a file that is not UTF-8 is), the reader answers on a small
    // stack, and any error it reports points into the file.
    #[test]
    fn any_bytes_are_read_or_refused_at_a_place_in_the_file(
        bytes in vec(any::<u8>(), 0..600),
    ) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Err(error) = read_on_small_stack(text.clone()) {
            prop_assert!(is_in(&text, error.position), "{error:?} is not in {text:?}");
        }
    }

    // Texts made of YAML's own constructs reach far more of the reader
    // than random bytes. Every position it reports — a syntax error, a
    // refusal, where a value was written — and every `file:line:column`
    // of a problem found checking the file as a catalog file is a place
    // in the file.
    #[test]
    fn every_position_reported_is_a_place_in_the_file(tokens in vec(yaml_token(), 0..160)) {
        let text = tokens.concat();
        for problem in check_text("catalog-info.yaml", &text, None).problems {
            if let Some(position) = problem.position {
                prop_assert!(is_in(&text, position), "{problem} is not in {text:?}");
            }
        }
        let docs = match read_on_small_stack(text.clone()) {
            Ok(docs) => docs,
            Err(error) => {
                prop_assert!(is_in(&text, error.position), "{error:?} is not in {text:?}");
                return Ok(());
            }
        };
        for doc in &docs {
            if let Some(refusal) = doc.refusal() {
                prop_assert!(is_in(&text, refusal.position), "{refusal:?} is not in {text:?}");
            }
            for pointer in pointers(&doc.value) {
                let position = doc.position(&pointer);
                prop_assert!(is_in(&text, position), "{pointer} at {position:?} is not in {text:?}");
            }
        }
    }

    // Nesting of any mix of styles and any depth, to thousands of levels:
    // read whole within the budget, refused past it, never recursing.
    #[test]
    fn nesting_of_any_style_is_read_within_the_depth_budget_and_refused_past_it(
        block in block_levels(),
        flow in flow_levels(),
    ) {
        let depth = block.len() + flow.len();
        let text = nested(&block, &flow);
        let docs = match read_on_small_stack(text.clone()) {
            Ok(docs) => docs,
            Err(error) => {
                // The scanner's own limit on flow nesting, past the budget.
                prop_assert!(depth > MAX_DEPTH, "{error:?} for {depth} levels");
                prop_assert!(is_in(&text, error.position), "{error:?}");
                return Ok(());
            }
        };
        prop_assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        match doc.refusal() {
            Some(refusal) => {
                prop_assert!(depth > MAX_DEPTH, "{depth} levels refused: {refusal:?}");
                prop_assert!(refusal.message.contains("deeper than"), "{refusal:?}");
                prop_assert!(is_in(&text, refusal.position), "{refusal:?}");
            }
            None => {
                prop_assert!(depth <= MAX_DEPTH, "{depth} levels accepted");
                prop_assert_eq!(nesting(&doc.value), depth);
            }
        }
    }

    // YAML 1.2 reads JSON: a catalog file written as JSON (compact or
    // pretty) reads as exactly that JSON.
    #[test]
    fn a_json_document_reads_as_the_same_json(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        }
        .expect("a JSON value serialises");
        let docs = parse_documents(&text).map_err(|e| {
            TestCaseError::fail(format!("{e:?} reading {text}"))
        })?;
        // A document that is only `null` is empty, and skipped.
        let expected: Vec<&Value> = Some(&value).filter(|v| !v.is_null()).into_iter().collect();
        let read: Vec<&Value> = docs.iter().map(|doc| &doc.value).collect();
        prop_assert_eq!(read, expected, "reading {}", text);
        prop_assert!(docs.iter().all(|doc| doc.refusal().is_none()));
    }

    // A file mixing documents the budget refuses with good ones: each
    // good one reads as written, each bad one is refused at a line of its
    // own, and none affects another.
    #[test]
    fn a_refused_document_costs_only_itself(
        documents in vec(prop_oneof![
            json_value().prop_filter("a null document is skipped", |v| !v.is_null()).prop_map(Ok),
            refused_document().prop_map(Err),
        ], 1..6),
    ) {
        let mut text = String::new();
        // Each document's first and last line.
        let mut spans = Vec::new();
        for document in &documents {
            text += "---\n";
            let first = lines(&text).len();
            match document {
                Ok(value) => text += &serde_json::to_string_pretty(value).expect("serialises"),
                Err((bad, _)) => text += bad,
            }
            if !text.ends_with('\n') {
                text.push('\n');
            }
            spans.push(first..=lines(&text).len() - 1);
        }
        let docs = read_on_small_stack(text.clone())
            .map_err(|e| TestCaseError::fail(format!("{e:?} reading {text}")))?;
        prop_assert_eq!(docs.len(), documents.len());
        for ((doc, document), span) in docs.iter().zip(&documents).zip(spans) {
            match (document, doc.refusal()) {
                (Ok(value), None) => prop_assert_eq!(&doc.value, value),
                (Err((_, says)), Some(refusal)) => {
                    prop_assert!(refusal.message.contains(says), "{refusal:?}, expected {says}");
                    prop_assert!(span.contains(&refusal.position.line), "{refusal:?} outside {span:?}");
                }
                (document, refusal) => {
                    return Err(TestCaseError::fail(format!("{document:?} read with refusal {refusal:?}")));
                }
            }
        }
    }
}

#[test]
fn lines_are_split_as_yaml_breaks_them() {
    assert_eq!(lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
    assert_eq!(lines("a\n"), ["a", ""]);
    assert!(is_in("ab\n", Position { line: 2, column: 1 }));
    assert!(!is_in("ab\n", Position { line: 1, column: 4 }));
    assert!(!is_in("ab", Position { line: 0, column: 1 }));
}
