//! Rules: a fact path, an operator and a value, evaluated to pass or fail
//! with the reason in words ("sonarqube.coverage is 61.2, needs > 80").
//!
//! ```yaml
//! rule: { fact: sonarqube.coverage, op: greater-than, value: 80 }
//! rule: { fact: catalog.lifecycle, op: not-equals, value: experimental }
//! rule: { fact: catalog.annotations["pagerduty.com/service-id"], op: exists }
//! rule:                       # every element of a list fact
//!   fact: github.workflow_runs
//!   op: all
//!   rule: { fact: conclusion, op: equals, value: success }
//! ```
//!
//! Semantics, the same for every operator:
//! - a missing fact fails, saying what is missing; only `exists` with
//!   `value: false` passes on it;
//! - `equals` compares JSON values, numbers by value (`1` equals `1.0`);
//! - `greater-than`, `less-than` need a number on both sides;
//! - `contains` looks for an element in a list, a substring in text, a key
//!   in an object;
//! - `matches` tests text (numbers and booleans as written) against a
//!   regular expression (the `regex` crate's syntax; `^…$` to anchor);
//! - `exists` passes when the value is present and not `null`
//!   (`value: false` inverts it);
//! - `all` and `any` apply the nested `rule` to each element of a list
//!   (the nested `fact` is a path inside the element; left out, the
//!   element itself). An empty list fails both: nothing was shown to pass.

use crate::facts::{FactPath, Facts};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The longest a value is quoted in a reason.
const QUOTED_CHARS: usize = 80;

/// How a rule compares a fact with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operator {
    /// The fact equals the value.
    Equals,
    /// The fact is present and differs from the value.
    NotEquals,
    /// The fact is a number above the value.
    GreaterThan,
    /// The fact is a number below the value.
    LessThan,
    /// The fact (list, text or object) contains the value.
    Contains,
    /// The fact, as text, matches the regular expression in the value.
    Matches,
    /// The fact is present (or, with `value: false`, absent).
    Exists,
    /// The nested rule holds for every element of the list fact.
    All,
    /// The nested rule holds for at least one element of the list fact.
    Any,
}

impl Operator {
    /// Every operator, for forms and docs.
    pub const ALL: [Operator; 9] = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::GreaterThan,
        Operator::LessThan,
        Operator::Contains,
        Operator::Matches,
        Operator::Exists,
        Operator::All,
        Operator::Any,
    ];

    /// The name as written in configuration, e.g. `greater-than`.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "not-equals",
            Operator::GreaterThan => "greater-than",
            Operator::LessThan => "less-than",
            Operator::Contains => "contains",
            Operator::Matches => "matches",
            Operator::Exists => "exists",
            Operator::All => "all",
            Operator::Any => "any",
        }
    }
}

/// A rule, checked when configuration is read: its value suits its
/// operator and its regular expression compiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawRule", into = "RawRule")]
pub struct Rule {
    /// Where the fact is.
    pub fact: FactPath,
    /// How it is compared.
    pub op: Operator,
    /// What it is compared with.
    pub value: Option<Value>,
    /// For `all` and `any`: the rule each element must pass.
    pub rule: Option<Box<Rule>>,
    regex: Option<Regex>,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        (&self.fact, self.op, &self.value, &self.rule)
            == (&other.fact, other.op, &other.value, &other.rule)
    }
}

/// A rule as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[serde(default, skip_serializing_if = "is_root")]
    fact: FactPath,
    op: Operator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<Box<Rule>>,
}

fn is_root(path: &FactPath) -> bool {
    path.0.is_empty()
}

impl TryFrom<RawRule> for Rule {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<Rule, String> {
        let op = raw.op.name();
        let nested = matches!(raw.op, Operator::All | Operator::Any);
        if nested != raw.rule.is_some() {
            return Err(if nested {
                format!("`{op}` needs a nested `rule` applied to each element of the list")
            } else {
                format!("only `all` and `any` take a nested `rule`, not `{op}`")
            });
        }
        let regex = check_value(raw.op, raw.value.as_ref())?;
        Ok(Rule {
            fact: raw.fact,
            op: raw.op,
            value: raw.value,
            rule: raw.rule,
            regex,
        })
    }
}

impl From<Rule> for RawRule {
    fn from(rule: Rule) -> RawRule {
        RawRule {
            fact: rule.fact,
            op: rule.op,
            value: rule.value,
            rule: rule.rule,
        }
    }
}

/// The regular expression of a `matches` rule, compiled; an error when the
/// value does not suit the operator.
fn check_value(op: Operator, value: Option<&Value>) -> Result<Option<Regex>, String> {
    let name = op.name();
    match (op, value) {
        (Operator::Equals | Operator::NotEquals | Operator::Contains, None) => {
            Err(format!("`{name}` needs a `value`"))
        }
        (Operator::GreaterThan | Operator::LessThan, v) if !v.is_some_and(Value::is_number) => {
            Err(format!("`{name}` needs a number as its `value`"))
        }
        (Operator::Matches, Some(Value::String(pattern))) => regex::RegexBuilder::new(pattern)
            // A pattern from configuration must not make every evaluation slow.
            .size_limit(1 << 20)
            .build()
            .map(Some)
            .map_err(|e| format!("`matches` needs a valid regular expression: {e}")),
        (Operator::Matches, _) => Err(format!("`{name}` needs a regular expression as text")),
        (Operator::Exists, Some(v)) if !v.is_boolean() => {
            Err("`exists` takes no value, or `true` or `false`".to_owned())
        }
        (Operator::All | Operator::Any, Some(_)) => {
            Err(format!("`{name}` takes a nested `rule`, not a `value`"))
        }
        _ => Ok(None),
    }
}

/// Whether a check passed, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Pass or fail.
    pub passed: bool,
    /// Why, e.g. `sonarqube.coverage is 61.2, needs > 80`.
    pub reason: String,
}

impl Verdict {
    /// A pass.
    pub fn pass(reason: impl Into<String>) -> Verdict {
        Verdict {
            passed: true,
            reason: reason.into(),
        }
    }

    /// A failure.
    pub fn fail(reason: impl Into<String>) -> Verdict {
        Verdict {
            passed: false,
            reason: reason.into(),
        }
    }
}

impl Rule {
    /// Evaluates the rule against an entity's facts.
    pub fn evaluate(&self, facts: &Facts) -> Verdict {
        let name = self.fact.to_string();
        match facts.lookup(&self.fact) {
            Ok(value) => self.evaluate_on(Some(value), &name),
            Err(missing) if self.op == Operator::Exists => self
                .evaluate_on(None, &name)
                .or_reason(&missing.to_string()),
            Err(missing) => Verdict::fail(missing.to_string()),
        }
    }

    /// Evaluates the rule against `value`, called `name` in reasons.
    fn evaluate_on(&self, value: Option<&Value>, name: &str) -> Verdict {
        let value = value.filter(|v| !v.is_null());
        let Some(actual) = value else {
            return if self.op == Operator::Exists && self.value == Some(Value::Bool(false)) {
                Verdict::pass(format!("{name} is absent"))
            } else {
                Verdict::fail(format!("{name} is missing"))
            };
        };
        let expected = self.value.as_ref().unwrap_or(&Value::Null);
        match self.op {
            Operator::Equals => compare(json_eq(actual, expected), name, actual, || {
                format!("needs {}", quote(expected))
            }),
            Operator::NotEquals => not_equals(name, actual, expected),
            Operator::GreaterThan => ordered(name, actual, expected, ">", |a, b| a > b),
            Operator::LessThan => ordered(name, actual, expected, "<", |a, b| a < b),
            Operator::Contains => contains(name, actual, expected),
            Operator::Matches => self.matches(name, actual),
            Operator::Exists => exists(name, self.value.as_ref()),
            Operator::All | Operator::Any => self.each(name, actual),
        }
    }

    fn matches(&self, name: &str, actual: &Value) -> Verdict {
        let Some(regex) = &self.regex else {
            return Verdict::fail("the rule has no regular expression");
        };
        let text = match actual {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => actual.to_string(),
            _ => return Verdict::fail(format!("{name} is {}, not text", quote(actual))),
        };
        let pattern = regex.as_str();
        if regex.is_match(&text) {
            Verdict::pass(format!("{name} is {} (matches /{pattern}/)", quote(actual)))
        } else {
            Verdict::fail(format!(
                "{name} is {}, needs to match /{pattern}/",
                quote(actual)
            ))
        }
    }

    /// `all` and `any`: the nested rule over each element.
    fn each(&self, name: &str, actual: &Value) -> Verdict {
        let Some(nested) = &self.rule else {
            return Verdict::fail("the rule has no nested rule");
        };
        let Value::Array(items) = actual else {
            return Verdict::fail(format!("{name} is {}, not a list", quote(actual)));
        };
        if items.is_empty() {
            return Verdict::fail(format!("{name} is an empty list"));
        }
        let verdicts = items.iter().enumerate().map(|(i, item)| {
            let element = format!("{name}[{i}]");
            let inner = join_path(&element, &nested.fact);
            nested.evaluate_on(nested.fact.lookup(item), &inner)
        });
        let n = items.len();
        if self.op == Operator::All {
            match verdicts.into_iter().find(|v| !v.passed) {
                Some(failed) => Verdict::fail(failed.reason),
                None => Verdict::pass(format!("all {n} of {name} pass")),
            }
        } else {
            let mut first_failure = None;
            for verdict in verdicts {
                if verdict.passed {
                    return Verdict::pass(verdict.reason);
                }
                first_failure.get_or_insert(verdict.reason);
            }
            let why = first_failure.unwrap_or_default();
            Verdict::fail(format!("none of the {n} of {name} passes (e.g. {why})"))
        }
    }
}

impl Verdict {
    /// Replaces a reason that only says "missing" with the fuller one (a
    /// collector that never ran).
    fn or_reason(self, missing: &str) -> Verdict {
        if self.passed {
            self
        } else {
            Verdict::fail(missing)
        }
    }
}

fn join_path(element: &str, path: &FactPath) -> String {
    if path.0.is_empty() {
        return element.to_owned();
    }
    let rest = path.to_string();
    if rest.starts_with('[') {
        format!("{element}{rest}")
    } else {
        format!("{element}.{rest}")
    }
}

fn compare(ok: bool, name: &str, actual: &Value, needs: impl FnOnce() -> String) -> Verdict {
    if ok {
        Verdict::pass(format!("{name} is {}", quote(actual)))
    } else {
        Verdict::fail(format!("{name} is {}, {}", quote(actual), needs()))
    }
}

fn not_equals(name: &str, actual: &Value, expected: &Value) -> Verdict {
    if json_eq(actual, expected) {
        Verdict::fail(format!("{name} is {}, must not be", quote(actual)))
    } else {
        Verdict::pass(format!(
            "{name} is {} (not {})",
            quote(actual),
            quote(expected)
        ))
    }
}

fn ordered(
    name: &str,
    actual: &Value,
    expected: &Value,
    symbol: &str,
    holds: fn(f64, f64) -> bool,
) -> Verdict {
    let (Some(a), Some(b)) = (actual.as_f64(), expected.as_f64()) else {
        return Verdict::fail(format!("{name} is {}, not a number", quote(actual)));
    };
    let bound = quote(expected);
    if holds(a, b) {
        Verdict::pass(format!(
            "{name} is {} (needs {symbol} {bound})",
            quote(actual)
        ))
    } else {
        Verdict::fail(format!(
            "{name} is {}, needs {symbol} {bound}",
            quote(actual)
        ))
    }
}

fn contains(name: &str, actual: &Value, expected: &Value) -> Verdict {
    let found = match (actual, expected) {
        (Value::Array(items), _) => items.iter().any(|item| json_eq(item, expected)),
        (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
        (Value::Object(map), Value::String(key)) => map.contains_key(key),
        _ => {
            return Verdict::fail(format!(
                "{name} is {}, which cannot contain {}",
                quote(actual),
                quote(expected)
            ));
        }
    };
    if found {
        Verdict::pass(format!("{name} contains {}", quote(expected)))
    } else {
        Verdict::fail(format!("{name} does not contain {}", quote(expected)))
    }
}

fn exists(name: &str, expected: Option<&Value>) -> Verdict {
    if expected == Some(&Value::Bool(false)) {
        Verdict::fail(format!("{name} is present, must be absent"))
    } else {
        Verdict::pass(format!("{name} is present"))
    }
}

/// JSON equality with numbers compared by value.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A value as it appears in a reason: JSON, cut short.
pub fn quote(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= QUOTED_CHARS {
        return text;
    }
    let cut: String = text.chars().take(QUOTED_CHARS).collect();
    format!("{cut}…")
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.fact, self.op.name())?;
        if let Some(value) = &self.value {
            write!(f, " {}", quote(value))?;
        }
        if let Some(nested) = &self.rule {
            write!(f, " ({nested})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Fact;
    use proptest::prelude::*;
    use serde_json::json;

    fn rule(yaml: &str) -> Rule {
        serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    fn facts(value: Value) -> Facts {
        let mut facts = Facts::default();
        for (collector, value) in value.as_object().unwrap() {
            facts.0.insert(
                collector.clone(),
                Fact {
                    entity: "component:default/pay".into(),
                    collector: collector.clone(),
                    value: value.clone(),
                    collected_at_ms: 0,
                },
            );
        }
        facts
    }

    fn check(yaml: &str, value: Value) -> Verdict {
        rule(yaml).evaluate(&facts(value))
    }

    #[test]
    fn equals_compares_json_and_numbers_by_value() {
        let r = "{fact: s.gate, op: equals, value: OK}";
        assert_eq!(
            check(r, json!({"s": {"gate": "OK"}})),
            Verdict::pass("s.gate is \"OK\"")
        );
        assert_eq!(
            check(r, json!({"s": {"gate": "ERROR"}})),
            Verdict::fail("s.gate is \"ERROR\", needs \"OK\"")
        );
        assert!(
            check(
                "{fact: s.n, op: equals, value: 1}",
                json!({"s": {"n": 1.0}})
            )
            .passed
        );
        assert!(
            check(
                "{fact: s.b, op: equals, value: true}",
                json!({"s": {"b": true}})
            )
            .passed
        );
        assert!(
            !check(
                "{fact: s.b, op: equals, value: true}",
                json!({"s": {"b": "true"}})
            )
            .passed
        );
        assert!(
            check(
                "{fact: s.l, op: equals, value: [1, 2]}",
                json!({"s": {"l": [1.0, 2]}})
            )
            .passed
        );
    }

    #[test]
    fn not_equals_passes_on_a_different_value_only() {
        let r = "{fact: c.lifecycle, op: not-equals, value: experimental}";
        assert!(check(r, json!({"c": {"lifecycle": "production"}})).passed);
        assert_eq!(
            check(r, json!({"c": {"lifecycle": "experimental"}})),
            Verdict::fail("c.lifecycle is \"experimental\", must not be")
        );
        assert_eq!(
            check(r, json!({"c": {}})),
            Verdict::fail("c.lifecycle is missing")
        );
    }

    #[test]
    fn greater_and_less_than_need_numbers() {
        let r = "{fact: sonarqube.coverage, op: greater-than, value: 80}";
        assert_eq!(
            check(r, json!({"sonarqube": {"coverage": 61.2}})),
            Verdict::fail("sonarqube.coverage is 61.2, needs > 80")
        );
        assert_eq!(
            check(r, json!({"sonarqube": {"coverage": 85}})),
            Verdict::pass("sonarqube.coverage is 85 (needs > 80)")
        );
        assert!(
            !check(r, json!({"sonarqube": {"coverage": 80}})).passed,
            "strictly greater"
        );
        assert_eq!(
            check(r, json!({"sonarqube": {"coverage": "85"}})),
            Verdict::fail("sonarqube.coverage is \"85\", not a number")
        );
        let r = "{fact: p.open, op: less-than, value: 3}";
        assert!(check(r, json!({"p": {"open": 2}})).passed);
        assert!(!check(r, json!({"p": {"open": 3}})).passed, "strictly less");
    }

    #[test]
    fn contains_searches_lists_text_and_keys() {
        let r = "{fact: c.tags, op: contains, value: tier-1}";
        assert!(check(r, json!({"c": {"tags": ["java", "tier-1"]}})).passed);
        assert_eq!(
            check(r, json!({"c": {"tags": []}})),
            Verdict::fail("c.tags does not contain \"tier-1\"")
        );
        assert!(check(r, json!({"c": {"tags": "tier-1,java"}})).passed);
        assert!(check(r, json!({"c": {"tags": {"tier-1": true}}})).passed);
        assert_eq!(
            check(r, json!({"c": {"tags": 4}})),
            Verdict::fail("c.tags is 4, which cannot contain \"tier-1\"")
        );
        assert!(
            check(
                "{fact: c.l, op: contains, value: 2}",
                json!({"c": {"l": [1, 2.0]}})
            )
            .passed
        );
    }

    #[test]
    fn matches_tests_text_against_a_regular_expression() {
        let r = "{fact: g.default_branch, op: matches, value: '^(main|master)$'}";
        assert!(check(r, json!({"g": {"default_branch": "main"}})).passed);
        assert_eq!(
            check(r, json!({"g": {"default_branch": "develop"}})),
            Verdict::fail("g.default_branch is \"develop\", needs to match /^(main|master)$/")
        );
        assert!(
            check(
                "{fact: g.v, op: matches, value: '^1\\.'}",
                json!({"g": {"v": 1.5}})
            )
            .passed
        );
        assert!(!check(r, json!({"g": {"default_branch": ["main"]}})).passed);
    }

    #[test]
    fn exists_passes_on_present_values_and_inverts_with_false() {
        let r = "{fact: 'c.annotations[\"pagerduty.com/service-id\"]', op: exists}";
        assert_eq!(
            check(
                r,
                json!({"c": {"annotations": {"pagerduty.com/service-id": "P1"}}})
            ),
            Verdict::pass("c.annotations[\"pagerduty.com/service-id\"] is present")
        );
        assert!(!check(r, json!({"c": {"annotations": {}}})).passed);
        assert!(
            !check(
                r,
                json!({"c": {"annotations": {"pagerduty.com/service-id": null}}})
            )
            .passed
        );
        let absent = "{fact: g.secrets_found, op: exists, value: false}";
        assert!(check(absent, json!({"g": {}})).passed);
        assert!(!check(absent, json!({"g": {"secrets_found": 2}})).passed);
    }

    #[test]
    fn all_and_any_apply_the_nested_rule_to_each_element() {
        let all = "{fact: g.runs, op: all, rule: {fact: conclusion, op: equals, value: success}}";
        let any = "{fact: g.runs, op: any, rule: {fact: conclusion, op: equals, value: success}}";
        let runs = |c: &[&str]| json!({"g": {"runs": c.iter().map(|c| json!({"conclusion": c})).collect::<Vec<_>>()}});
        assert_eq!(
            check(all, runs(&["success", "success"])),
            Verdict::pass("all 2 of g.runs pass")
        );
        assert_eq!(
            check(all, runs(&["success", "failure"])),
            Verdict::fail("g.runs[1].conclusion is \"failure\", needs \"success\"")
        );
        assert_eq!(
            check(any, runs(&["failure", "success"])),
            Verdict::pass("g.runs[1].conclusion is \"success\"")
        );
        assert_eq!(
            check(any, runs(&["failure"])),
            Verdict::fail(
                "none of the 1 of g.runs passes (e.g. g.runs[0].conclusion is \"failure\", needs \"success\")"
            )
        );
        assert_eq!(
            check(all, runs(&[])),
            Verdict::fail("g.runs is an empty list")
        );
        assert!(!check(any, runs(&[])).passed);
        assert_eq!(
            check(all, json!({"g": {"runs": "none"}})),
            Verdict::fail("g.runs is \"none\", not a list")
        );
    }

    #[test]
    fn a_nested_rule_without_a_fact_tests_the_element_itself() {
        let r = "{fact: c.tags, op: all, rule: {op: matches, value: '^[a-z0-9-]+$'}}";
        assert!(check(r, json!({"c": {"tags": ["java", "tier-1"]}})).passed);
        assert_eq!(
            check(r, json!({"c": {"tags": ["java", "Tier 1"]}})),
            Verdict::fail("c.tags[1] is \"Tier 1\", needs to match /^[a-z0-9-]+$/")
        );
    }

    #[test]
    fn missing_facts_fail_and_say_what_is_missing() {
        let r = "{fact: github.private, op: equals, value: true}";
        assert_eq!(
            check(r, json!({})),
            Verdict::fail("no `github` facts have been collected yet")
        );
        assert_eq!(
            check("{fact: github.x, op: exists}", json!({})),
            Verdict::fail("no `github` facts have been collected yet")
        );
        assert!(check("{fact: github.x, op: exists, value: false}", json!({})).passed);
    }

    #[test]
    fn refuses_values_that_do_not_suit_the_operator() {
        let refused = |yaml: &str| {
            serde_norway::from_str::<Rule>(yaml)
                .unwrap_err()
                .to_string()
        };
        assert!(refused("{fact: a.b, op: equals}").contains("`equals` needs a `value`"));
        assert!(refused("{fact: a.b, op: greater-than, value: high}").contains("needs a number"));
        assert!(
            refused("{fact: a.b, op: matches, value: '('}").contains("valid regular expression")
        );
        assert!(refused("{fact: a.b, op: all}").contains("needs a nested `rule`"));
        assert!(
            refused("{fact: a.b, op: equals, value: 1, rule: {op: exists}}")
                .contains("only `all` and `any`")
        );
        assert!(refused("{fact: a.b, op: exists, value: 3}").contains("`exists` takes no value"));
        assert!(refused("{fact: a.b, op: bigger, value: 3}").contains("unknown variant `bigger`"));
        assert!(refused("{fact: a.b, op: exists, vale: 3}").contains("unknown field `vale`"));
    }

    #[test]
    fn round_trips_through_json() {
        let r =
            rule("{fact: g.runs, op: any, rule: {fact: conclusion, op: matches, value: '^succ'}}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json,
            json!({"fact": "g.runs", "op": "any", "rule": {"fact": "conclusion", "op": "matches", "value": "^succ"}})
        );
        let back: Rule = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        assert!(
            back.evaluate(&facts(json!({"g": {"runs": [{"conclusion": "success"}]}})))
                .passed
        );
    }

    proptest! {
        #[test]
        fn greater_and_less_than_never_both_pass(fact in -1e6f64..1e6, bound in -1e6f64..1e6) {
            let value = json!({"s": {"n": fact}});
            let gt = rule(&format!("{{fact: s.n, op: greater-than, value: {bound:?}}}")).evaluate(&facts(value.clone()));
            let lt = rule(&format!("{{fact: s.n, op: less-than, value: {bound:?}}}")).evaluate(&facts(value));
            prop_assert!(!(gt.passed && lt.passed));
            prop_assert_eq!(gt.passed || lt.passed, fact != bound);
        }

        #[test]
        fn equals_and_not_equals_disagree_on_present_facts(fact in "[a-z]{0,4}", expected in "[a-z]{0,4}") {
            let value = json!({"s": {"v": fact}});
            let eq = rule(&format!("{{fact: s.v, op: equals, value: '{expected}'}}")).evaluate(&facts(value.clone()));
            let ne = rule(&format!("{{fact: s.v, op: not-equals, value: '{expected}'}}")).evaluate(&facts(value));
            prop_assert_ne!(eq.passed, ne.passed);
        }

        #[test]
        fn all_implies_any_on_non_empty_lists(items in proptest::collection::vec(0i64..10, 1..8), bound in 0i64..10) {
            let value = json!({"s": {"l": items}});
            let nested = format!("rule: {{op: greater-than, value: {bound}}}");
            let all = rule(&format!("{{fact: s.l, op: all, {nested}}}")).evaluate(&facts(value.clone()));
            let any = rule(&format!("{{fact: s.l, op: any, {nested}}}")).evaluate(&facts(value));
            prop_assert!(!all.passed || any.passed);
            prop_assert_eq!(all.passed, items.iter().all(|&i| i > bound));
            prop_assert_eq!(any.passed, items.iter().any(|&i| i > bound));
        }
    }
}
