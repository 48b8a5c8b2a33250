//! Catalog queries as a client writes them: repeated `filter` parameters
//! (`Predicate::from_filter_params`), an `orderField` (`Order::parse`) and
//! a paging cursor handed back (`Cursor::decode`).
//!
//! Checks: none panics; a filter reads into Backstage's shape (one
//! alternative per parameter, each all of its conditions, keys non-empty,
//! trimmed and distinct, values trimmed) within the query limits, or is
//! refused with an `Invalid filter`/`Invalid query` message; an order
//! names a field or is refused naming `orderField`; a cursor either is
//! refused as malformed or over the limits, or is within the limits and
//! encodes back to itself; any filter that reads makes a cursor that does.

#![no_main]

use greenroom_catalog::{Cursor, EntityQuery, Order, Predicate};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, arbitrary::Arbitrary)]
struct Request {
    filters: Vec<String>,
    order_field: String,
    cursor: String,
}

fuzz_target!(|request: Request| {
    check_filter(&request.filters);
    check_order(&request.order_field);
    check_cursor(&request.cursor);
});

fn check_filter(filters: &[String]) {
    let predicate = match Predicate::from_filter_params(filters) {
        Ok(None) => return assert!(filters.is_empty()),
        Ok(Some(predicate)) => predicate,
        Err(error) => {
            return assert!(
                error.0.starts_with("Invalid filter") || error.0.starts_with("Invalid query"),
                "{error}"
            );
        }
    };
    assert!(predicate.check_limits().is_ok());
    let alternatives = match &predicate {
        Predicate::AnyOf(alternatives) => alternatives.iter().collect(),
        one => vec![one],
    };
    assert_eq!(alternatives.len(), filters.len());
    for alternative in alternatives {
        let Predicate::AllOf(fields) = alternative else {
            panic!("a filter parameter reads as all of its conditions: {alternative:?}");
        };
        let mut keys: Vec<String> = Vec::new();
        for field in fields {
            let Predicate::Field { key, values } = field else {
                panic!("a condition is a field: {field:?}");
            };
            assert!(!key.is_empty() && key.trim() == key && !key.contains([',', '=']));
            assert!(values.iter().all(|v| v.trim() == v && !v.contains(',')));
            assert!(
                !keys.iter().any(|k| k.eq_ignore_ascii_case(key)),
                "{key} twice"
            );
            keys.push(key.clone());
        }
    }
    let cursor = Cursor::first(EntityQuery {
        filter: Some(predicate),
        ..EntityQuery::default()
    });
    assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
}

fn check_order(text: &str) {
    match Order::parse(text) {
        Ok(order) => assert!(
            !order.field.is_empty()
                && order.field.trim() == order.field
                && !order.field.contains(',')
        ),
        Err(error) => assert!(error.0.contains("orderField"), "{error}"),
    }
}

fn check_cursor(text: &str) {
    match Cursor::decode(text) {
        Ok(cursor) => {
            assert!(cursor.query.check_limits().is_ok());
            assert_eq!(Cursor::decode(&cursor.encode()).as_ref(), Ok(&cursor));
        }
        Err(error) => assert!(
            error.0.starts_with("Malformed cursor") || error.0.starts_with("Invalid"),
            "{error}"
        ),
    }
}
