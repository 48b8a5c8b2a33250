//! Properties of the catalog's query parsers (issue 13): Backstage's
//! `filter` parameters ([`Predicate::from_filter_params`]), `orderField`
//! ([`Order::parse`]) and the opaque paging cursor ([`Cursor`]), through
//! the crate's public API. The unit tests in `src/query.rs` check that any
//! predicate compiles to SQL SQLite runs; these check what a client of the
//! REST API sees: what it writes is read as Backstage reads it, the same
//! filter written again reads the same, and anything else is refused with
//! a message quoting what was wrong.

use greenroom_catalog::{
    Cursor, EntityQuery, FullText, MAX_TERMS, MAX_VALUES, Order, Predicate, QueryError,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// A condition of a filter as a client means it: a key, and a value
/// unless it asks only that the key exists.
type Condition = (String, Option<String>);

/// The filter parameters that say `predicate`, written as a client
/// would: one parameter per alternative, `key=value` for each accepted
/// value and a bare `key` for "exists". Only for the shapes
/// [`Predicate::from_filter_params`] produces.
fn render(predicate: &Predicate) -> Vec<String> {
    let alternatives = match predicate {
        Predicate::AnyOf(alternatives) => alternatives.iter().collect(),
        one => vec![one],
    };
    alternatives
        .into_iter()
        .map(|alternative| {
            let Predicate::AllOf(fields) = alternative else {
                panic!("a filter parameter reads as all of its conditions: {alternative:?}");
            };
            let conditions: Vec<String> = fields
                .iter()
                .flat_map(|field| match field {
                    Predicate::Field { key, values } if values.is_empty() => vec![key.clone()],
                    Predicate::Field { key, values } => values
                        .iter()
                        .map(|value| format!("{key}={value}"))
                        .collect(),
                    other => panic!("a condition is a field: {other:?}"),
                })
                .collect();
            conditions.join(",")
        })
        .collect()
}

/// What Backstage's documentation says `params` mean: within a parameter
/// every key must match (its values, written under any case of the key,
/// being alternatives; a bare key asks only that it exists), and the
/// parameters are alternatives.
fn meaning(params: &[Vec<Condition>]) -> Option<Predicate> {
    let mut alternatives: Vec<Predicate> = params
        .iter()
        .map(|conditions| {
            let mut fields: Vec<(String, Vec<String>)> = Vec::new();
            for (key, value) in conditions {
                let at = match fields.iter().position(|(k, _)| k.eq_ignore_ascii_case(key)) {
                    Some(at) => at,
                    None => {
                        fields.push((key.clone(), Vec::new()));
                        fields.len() - 1
                    }
                };
                fields[at]
                    .1
                    .extend(value.iter().map(|v| v.trim().to_owned()));
            }
            Predicate::AllOf(
                fields
                    .into_iter()
                    .map(|(key, values)| Predicate::Field { key, values })
                    .collect(),
            )
        })
        .collect();
    match alternatives.len() {
        0 => None,
        1 => alternatives.pop(),
        _ => Some(Predicate::AnyOf(alternatives)),
    }
}

/// Keys as clients write them, with case variants of the same key.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "kind",
            "Kind",
            "KIND",
            "spec.type",
            "metadata.name",
            "relations.ownedBy",
            "metadata.annotations.backstage.io/techdocs-ref",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z][a-zA-Z0-9._/:-]{0,10}",
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    (key(), proptest::option::of("[a-zA-Z0-9:/_=.é -]{0,8}"))
}

/// Blanks a client may leave around keys, values and commas.
fn blank() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec!["", "", "", " ", "  ", "\t"])
}

/// `conditions` written as one `filter` parameter, with blanks and empty
/// conditions (`a=b,,c=d`) here and there.
fn written(conditions: Vec<Condition>) -> impl Strategy<Value = String> {
    let parts = conditions.len();
    (
        vec((blank(), blank(), blank()), parts),
        vec(any::<bool>(), parts),
    )
        .prop_map(move |(blanks, empty_after)| {
            let mut text = String::new();
            for (i, ((key, value), (before, around, after))) in
                conditions.iter().zip(blanks).enumerate()
            {
                if i > 0 {
                    text.push(',');
                }
                text += &format!("{before}{key}{around}");
                if let Some(value) = value {
                    text += &format!("={around}{value}{after}");
                }
                if empty_after[i] {
                    text += &format!(",{after}");
                }
            }
            text
        })
}

/// Filter parameters with what they mean.
fn filters() -> impl Strategy<Value = (Vec<String>, Vec<Vec<Condition>>)> {
    vec(vec(condition(), 0..5), 0..5).prop_flat_map(|params| {
        let texts: Vec<_> = params.iter().cloned().map(written).collect();
        (texts, Just(params))
    })
}

/// Whether `error` quotes `text` as it was written.
fn quotes(error: &QueryError, text: &str) -> bool {
    error.0.contains(&format!("\"{text}\""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // What a client writes reads as Backstage's documentation says.
    #[test]
    fn filters_read_as_backstage_documents_them((texts, params) in filters()) {
        let parsed = Predicate::from_filter_params(&texts);
        prop_assert_eq!(parsed, Ok(meaning(&params)), "reading {:?}", texts);
    }

    // Reading a filter, writing it back and reading that gives the same
    // predicate (the portal's links and a client's saved filters rely on
    // it), whatever the text.
    #[test]
    fn a_filter_written_back_reads_the_same(texts in vec("[a-cA-C=, .\t]{0,16}|.{0,16}", 0..4)) {
        let Ok(Some(predicate)) = Predicate::from_filter_params(&texts) else {
            return Ok(());
        };
        let again = render(&predicate);
        prop_assert_eq!(
            Predicate::from_filter_params(&again),
            Ok(Some(predicate)),
            "{:?} written back as {:?}", texts, again
        );
    }

    // A filter is refused exactly when one of its conditions has no key,
    // and the refusal quotes the first parameter that has one, so the
    // client sees which.
    #[test]
    fn a_condition_without_a_key_is_refused_quoting_its_filter(
        texts in vec("[ab=, ]{0,10}", 0..4),
    ) {
        let keyless = texts.iter().find(|text| {
            text.split(',').map(str::trim).any(|part| {
                !part.is_empty() && part.split('=').next().is_some_and(|k| k.trim().is_empty())
            })
        });
        match (Predicate::from_filter_params(&texts), keyless) {
            (Ok(_), None) => {}
            (Err(error), Some(text)) => {
                prop_assert!(quotes(&error, text), "{error} does not quote {text:?}");
                prop_assert!(error.0.starts_with("Invalid filter"), "{error}");
            }
            (outcome, keyless) => {
                return Err(TestCaseError::fail(format!("{texts:?}: {outcome:?}, keyless {keyless:?}")));
            }
        }
    }

    // Filters past the query limits are refused naming the limit they
    // pass, and those within are read, however the terms and values are
    // spread over the parameters.
    #[test]
    fn filters_within_the_limits_are_read_and_those_past_them_refused_naming_the_limit(
        params in vec((0usize..4, 0usize..60), 0..300),
    ) {
        // Each parameter: `keys` keys, the first with `values` values.
        let texts: Vec<String> = params
            .iter()
            .map(|&(keys, values)| {
                let mut conditions: Vec<String> = match (keys, values) {
                    (0, _) => Vec::new(),
                    (_, 0) => vec!["k0".into()],
                    _ => (0..values).map(|v| format!("k0={v}")).collect(),
                };
                conditions.extend((1..keys).map(|k| format!("k{k}")));
                conditions.join(",")
            })
            .collect();
        let terms = usize::from(params.len() > 1)
            + params.iter().map(|&(keys, _)| 1 + keys).sum::<usize>();
        let values: usize = params
            .iter()
            .map(|&(keys, values)| if keys > 0 { values } else { 0 })
            .sum();
        let too_many_terms = terms > MAX_TERMS;
        let too_many_values = values > MAX_VALUES;
        match Predicate::from_filter_params(&texts) {
            Ok(_) => prop_assert!(!too_many_terms && !too_many_values, "{terms} terms, {values} values read"),
            Err(error) => {
                let names_terms = error.0.contains(&format!("{MAX_TERMS} terms"));
                let names_values = error.0.contains(&format!("{MAX_VALUES} values"));
                prop_assert!(
                    (too_many_terms && names_terms) || (too_many_values && names_values),
                    "{terms} terms, {values} values: {error}"
                );
            }
        }
    }

    // `orderField` as Backstage's clients write it reads as the order it
    // names, blanks and all.
    #[test]
    fn order_fields_read_as_written(
        field in "[a-zA-Z][a-zA-Z0-9._/-]{0,15}",
        descending in any::<bool>(),
        explicit in any::<bool>(),
        (a, b, c) in (blank(), blank(), blank()),
    ) {
        let text = match (descending, explicit) {
            (true, _) => format!("{a}{field}{b},{c}desc{a}"),
            (false, true) => format!("{a}{field}{b},{c}asc"),
            (false, false) => format!("{a}{field}{b}"),
        };
        prop_assert_eq!(Order::parse(&text), Ok(Order { field, descending }));
    }

    // Any other `orderField` is refused naming the parameter and quoting
    // it; one that reads names a field.
    #[test]
    fn any_order_field_is_read_or_refused_quoting_it(text in "[a ,]{0,6}(asc|desc|ASC)?|.{0,24}") {
        match Order::parse(&text) {
            Ok(order) => {
                prop_assert!(!order.field.is_empty());
                prop_assert_eq!(order.field.trim(), &order.field);
                prop_assert!(!order.field.contains(','), "{:?}", order);
            }
            Err(error) => {
                prop_assert!(error.0.contains("orderField"), "{error}");
                prop_assert!(quotes(&error, &text), "{error} does not quote {text:?}");
            }
        }
    }

    // A cursor the catalog issued reads back as the page it points to.
    #[test]
    fn a_cursor_reads_back_as_issued(
        (texts, _) in filters(),
        term in proptest::option::of((".{0,20}", vec("[a-z.]{1,12}", 0..3))),
        order in proptest::option::of(("[a-z.]{1,12}", any::<bool>())),
        boundary in proptest::option::of((any::<bool>(), ".{0,12}", ".{0,12}")),
        previous in any::<bool>(),
        total_items in proptest::option::of(any::<u64>()),
    ) {
        let cursor = Cursor {
            query: EntityQuery {
                filter: Predicate::from_filter_params(&texts).expect("within the limits"),
                full_text: term.map(|(term, fields)| FullText { term, fields }),
                order: order.map(|(field, descending)| Order { field, descending }),
            },
            boundary,
            previous,
            total_items,
        };
        prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    // Whatever a client hands back as a cursor is read or refused as
    // malformed, never a crash (the API answers 400, not 500).
    #[test]
    fn any_cursor_text_is_read_or_refused(text in "[A-Za-z0-9_=-]{0,80}|.{0,40}") {
        if let Err(error) = Cursor::decode(&text) {
            prop_assert!(
                error.0.starts_with("Malformed cursor") || error.0.starts_with("Invalid"),
                "{error}"
            );
        }
    }
}

#[test]
fn the_renderer_writes_what_the_parser_reads() {
    let texts = vec!["kind=component,KIND=api,spec.type".to_owned(), "x=1".into()];
    let parsed = Predicate::from_filter_params(&texts).unwrap().unwrap();
    assert_eq!(
        render(&parsed),
        ["kind=component,kind=api,spec.type", "x=1"]
    );
}
