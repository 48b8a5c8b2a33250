//! Backstage's filter predicates, the `query` of its POST endpoints:
//!
//! ```json
//! { "$all": [ { "kind": "component" },
//!             { "spec.type": { "$in": ["service", "website"] } },
//!             { "$not": { "metadata.annotations.backstage.io/orphan": { "$exists": true } } } ] }
//! ```
//!
//! read into the catalog's [`Predicate`], so they are applied in SQL like
//! every other condition. Values compare case-insensitively and numbers as
//! strings, as in Backstage. `$hasPrefix` and `$contains` are refused: the
//! store has no index for them.

use super::input_error;
use crate::error::AppError;
use greenroom_catalog::Predicate;
use serde_json::{Map, Value};

/// The `query` of a request body, when it has one; a 400 saying what is
/// wrong with it otherwise.
pub(super) fn parse_query(query: Option<&Value>) -> Result<Option<Predicate>, AppError> {
    let predicate = query.map(parse).transpose().map_err(input_error)?;
    if let Some(predicate) = &predicate {
        // Too many terms or values for one query: a 400 naming the limit.
        predicate.check_limits().map_err(input_error)?;
    }
    Ok(predicate)
}

/// The predicate `value` writes, or what is wrong with it.
pub(super) fn parse(value: &Value) -> Result<Predicate, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "Invalid query: a filter predicate must be an object, not {value}"
        ));
    };
    for operator in ["$all", "$any", "$not"] {
        if let Some(operand) = map.get(operator) {
            if map.len() > 1 {
                return Err(format!(
                    "Invalid query: {operator} must stand alone in its object"
                ));
            }
            return logical(operator, operand);
        }
    }
    let mut all = map
        .iter()
        .map(|(key, matcher)| field(key, matcher))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if all.len() == 1 {
        all.pop().expect("one")
    } else {
        Predicate::AllOf(all)
    })
}

fn logical(operator: &str, operand: &Value) -> Result<Predicate, String> {
    let list = || match operand {
        Value::Array(items) => items.iter().map(parse).collect::<Result<Vec<_>, _>>(),
        other => Err(format!(
            "Invalid query: {operator} takes an array, not {other}"
        )),
    };
    Ok(match operator {
        "$all" => Predicate::AllOf(list()?),
        "$any" => Predicate::AnyOf(list()?),
        _ => Predicate::Not(Box::new(parse(operand)?)),
    })
}

/// A condition on one dotted field.
fn field(key: &str, matcher: &Value) -> Result<Predicate, String> {
    if key.starts_with('$') {
        return Err(format!("Invalid query: unknown operator {key}"));
    }
    match matcher {
        Value::Object(operators) => field_operator(key, operators),
        primitive => Ok(Predicate::Field {
            key: key.to_owned(),
            values: vec![primitive_text(key, primitive)?],
        }),
    }
}

fn field_operator(key: &str, operators: &Map<String, Value>) -> Result<Predicate, String> {
    let mut entries = operators.iter();
    let (Some((operator, operand)), None) = (entries.next(), entries.next()) else {
        return Err(format!(
            "Invalid query: the matcher of \"{key}\" must have exactly one operator ($exists or $in)"
        ));
    };
    let exists = Predicate::Field {
        key: key.to_owned(),
        values: Vec::new(),
    };
    match (operator.as_str(), operand) {
        ("$exists", Value::Bool(true)) => Ok(exists),
        ("$exists", Value::Bool(false)) => Ok(Predicate::Not(Box::new(exists))),
        // An empty list matches nothing (a field with no values would mean
        // "exists").
        ("$in", Value::Array(items)) if items.is_empty() => Ok(Predicate::AnyOf(Vec::new())),
        ("$in", Value::Array(items)) => Ok(Predicate::Field {
            key: key.to_owned(),
            values: items
                .iter()
                .map(|item| primitive_text(key, item))
                .collect::<Result<_, _>>()?,
        }),
        ("$exists", other) => Err(format!(
            "Invalid query: $exists of \"{key}\" takes true or false, not {other}"
        )),
        ("$in", other) => Err(format!(
            "Invalid query: $in of \"{key}\" takes an array, not {other}"
        )),
        (other, _) => Err(format!(
            "Invalid query: the {other} operator (on \"{key}\") is not supported by this catalog; use $exists or $in"
        )),
    }
}

fn primitive_text(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        other => Err(format!(
            "Invalid query: \"{key}\" must be matched against a string, number or boolean, not {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_logical_operators_and_value_matchers() {
        let parsed = parse(&json!({
            "$all": [
                {"kind": "Component", "spec.type": {"$in": ["service", 7]}},
                {"$not": {"metadata.tags": {"$exists": true}}},
                {"$any": []}
            ]
        }))
        .unwrap();
        assert_eq!(
            parsed,
            Predicate::AllOf(vec![
                Predicate::AllOf(vec![
                    Predicate::field("kind", &["Component"]),
                    Predicate::field("spec.type", &["service", "7"]),
                ]),
                Predicate::Not(Box::new(Predicate::field("metadata.tags", &[]))),
                Predicate::AnyOf(vec![]),
            ])
        );
    }

    #[test]
    fn an_empty_in_matches_nothing_rather_than_everything_with_the_field() {
        assert_eq!(
            parse(&json!({"kind": {"$in": []}})).unwrap(),
            Predicate::AnyOf(vec![])
        );
    }

    #[test]
    fn refuses_what_it_cannot_apply_with_the_reason() {
        for (query, says) in [
            (json!([1]), "must be an object"),
            (json!({"$all": [], "kind": "x"}), "must stand alone"),
            (
                json!({"metadata.name": {"$hasPrefix": "pay"}}),
                "$hasPrefix",
            ),
            (json!({"kind": null}), "string, number or boolean"),
            (json!({"$where": "1"}), "unknown operator $where"),
        ] {
            let error = parse(&query).unwrap_err();
            assert!(error.contains(says), "{query}: {error}");
        }
    }
}
