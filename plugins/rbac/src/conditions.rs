//! Conditions as rows: what the policy page's forms edit.
//!
//! Most conditions people write are a few rules, each perhaps negated,
//! combined with `allOf` or `anyOf`. That shape fits forms without script —
//! one row per rule, a form to add one, a button to remove one — so the
//! page offers it whenever a condition has that shape, and the YAML editor
//! for anything nested deeper.

use greenroom_model::policy::{Condition, RuleName, RuleParams};
use std::fmt;

/// How the rows combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Every row holds.
    AllOf,
    /// At least one row holds.
    AnyOf,
}

impl Combine {
    /// The document's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Combine::AllOf => "allOf",
            Combine::AnyOf => "anyOf",
        }
    }

    /// Reads `allOf` or `anyOf`.
    pub fn parse(text: &str) -> Option<Combine> {
        match text {
            "allOf" => Some(Combine::AllOf),
            "anyOf" => Some(Combine::AnyOf),
            _ => None,
        }
    }
}

/// One rule, perhaps negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The rule must not hold.
    pub negated: bool,
    /// Which rule.
    pub rule: RuleName,
    /// Its parameters.
    pub params: RuleParams,
}

/// A condition as rows: empty means no condition at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    /// How they combine (only matters from two rows on).
    pub combine: Combine,
    /// The rules.
    pub rows: Vec<Row>,
}

/// A form field that was filled in wrong, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mistake {
    /// The field's name.
    pub field: &'static str,
    /// What to do about it.
    pub message: String,
}

impl Mistake {
    fn new(field: &'static str, message: impl Into<String>) -> Mistake {
        Mistake {
            field,
            message: message.into(),
        }
    }
}

impl Rows {
    /// The rows of `condition`, or `None` when it nests deeper than rows
    /// can show (then only the YAML editor edits it).
    pub fn of(condition: Option<&Condition>) -> Option<Rows> {
        let Some(condition) = condition else {
            return Some(Rows {
                combine: Combine::AllOf,
                rows: Vec::new(),
            });
        };
        if let Some(row) = Row::of(condition) {
            return Some(Rows {
                combine: Combine::AllOf,
                rows: vec![row],
            });
        }
        let (combine, list) = match condition {
            Condition {
                all_of: Some(list),
                any_of: None,
                not: None,
                rule: None,
                params: None,
            } => (Combine::AllOf, list),
            Condition {
                all_of: None,
                any_of: Some(list),
                not: None,
                rule: None,
                params: None,
            } => (Combine::AnyOf, list),
            _ => return None,
        };
        let rows = list.iter().map(Row::of).collect::<Option<Vec<Row>>>()?;
        Some(Rows { combine, rows })
    }

    /// The condition these rows make: none for no rows, the rule itself for
    /// one, `allOf`/`anyOf` for more.
    pub fn to_condition(&self) -> Option<Condition> {
        match self.rows.as_slice() {
            [] => None,
            [row] => Some(row.to_condition()),
            rows => {
                let list = rows.iter().map(Row::to_condition).collect();
                Some(match self.combine {
                    Combine::AllOf => Condition::all_of(list),
                    Combine::AnyOf => Condition::any_of(list),
                })
            }
        }
    }
}

impl Row {
    /// The row a condition is, when it is one rule or `not` of one.
    fn of(condition: &Condition) -> Option<Row> {
        match condition {
            Condition {
                all_of: None,
                any_of: None,
                not: None,
                rule: Some(rule),
                params,
            } => Some(Row {
                negated: false,
                rule: *rule,
                params: params.clone().unwrap_or_default(),
            }),
            Condition {
                all_of: None,
                any_of: None,
                not: Some(inner),
                rule: None,
                params: None,
            } => Row::of(inner).filter(|row| !row.negated).map(|row| Row {
                negated: true,
                ..row
            }),
            _ => None,
        }
    }

    fn to_condition(&self) -> Condition {
        let rule = Condition::rule(self.rule, self.params.clone());
        if self.negated {
            Condition::negated(rule)
        } else {
            rule
        }
    }

    /// A row from the add-a-rule form: `rule`, its main parameter `param`
    /// (a list for IS_ENTITY_OWNER's claims and IS_ENTITY_KIND's kinds,
    /// comma-separated), an optional `value`, and `negated`.
    pub fn from_form(rule: &str, param: &str, value: &str, negated: bool) -> Result<Row, Mistake> {
        let rule = RuleName::parse(rule.trim())
            .ok_or_else(|| Mistake::new("rule", "Choose one of the rules."))?;
        let param = param.trim();
        let value = value.trim();
        let list = || -> Vec<String> {
            param
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let needs_param = |what: &str| {
            if param.is_empty() {
                Err(Mistake::new(
                    "param",
                    format!("{} needs {what}.", rule.as_str()),
                ))
            } else {
                Ok(Some(param.to_owned()))
            }
        };
        let no_value = || {
            if value.is_empty() {
                Ok(())
            } else {
                Err(Mistake::new(
                    "value",
                    format!("{} takes no value; leave it empty.", rule.as_str()),
                ))
            }
        };
        let some_value = (!value.is_empty()).then(|| value.to_owned());
        let params = match rule {
            RuleName::IsEntityOwner => {
                no_value()?;
                let claims = list();
                RuleParams {
                    claims: (!claims.is_empty()).then_some(claims),
                    ..RuleParams::default()
                }
            }
            RuleName::IsEntityKind => {
                no_value()?;
                let kinds = list();
                if kinds.is_empty() {
                    return Err(Mistake::new(
                        "param",
                        "IS_ENTITY_KIND needs at least one kind, e.g. Component, API.",
                    ));
                }
                RuleParams {
                    kinds: Some(kinds),
                    ..RuleParams::default()
                }
            }
            RuleName::HasAnnotation => RuleParams {
                annotation: needs_param("an annotation, e.g. backstage.io/techdocs-ref")?,
                value: some_value,
                ..RuleParams::default()
            },
            RuleName::HasLabel => RuleParams {
                label: needs_param("a label, e.g. tier")?,
                value: some_value,
                ..RuleParams::default()
            },
            RuleName::HasMetadata | RuleName::HasSpec => RuleParams {
                key: needs_param("a key, a dotted path such as lifecycle")?,
                value: some_value,
                ..RuleParams::default()
            },
        };
        Ok(Row {
            negated,
            rule,
            params,
        })
    }
}

/// What each rule checks and what its parameter is, for the form's help.
pub fn rule_help(rule: RuleName) -> &'static str {
    match rule {
        RuleName::IsEntityOwner => {
            "owned by the user or one of their groups; or, with a parameter, by one of these (comma-separated references)"
        }
        RuleName::IsEntityKind => "of one of these kinds (comma-separated, e.g. Component, API)",
        RuleName::HasAnnotation => "has this annotation (equal to the value, if given)",
        RuleName::HasLabel => "has this label (equal to the value, if given)",
        RuleName::HasMetadata => "has metadata.<key> (equal to the value, if given)",
        RuleName::HasSpec => "has spec.<key> (equal to the value, if given)",
    }
}

impl fmt::Display for Row {
    /// For people: `not: has label tier = gold`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("not: ")?;
        }
        describe_rule(self.rule, &self.params, f)
    }
}

fn describe_rule(rule: RuleName, p: &RuleParams, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let or = |list: &Option<Vec<String>>| list.as_deref().unwrap_or_default().join(" or ");
    let equals = |f: &mut fmt::Formatter<'_>| match &p.value {
        Some(value) => write!(f, " = {value}"),
        None => Ok(()),
    };
    match rule {
        RuleName::IsEntityOwner if p.claims.is_some() => write!(f, "owned by {}", or(&p.claims)),
        RuleName::IsEntityOwner => f.write_str("owned by the user or one of their groups"),
        RuleName::IsEntityKind => write!(f, "of kind {}", or(&p.kinds)),
        RuleName::HasAnnotation => {
            write!(
                f,
                "has annotation {}",
                p.annotation.as_deref().unwrap_or("?")
            )?;
            equals(f)
        }
        RuleName::HasLabel => {
            write!(f, "has label {}", p.label.as_deref().unwrap_or("?"))?;
            equals(f)
        }
        RuleName::HasMetadata => {
            write!(f, "has metadata.{}", p.key.as_deref().unwrap_or("?"))?;
            equals(f)
        }
        RuleName::HasSpec => {
            write!(f, "has spec.{}", p.key.as_deref().unwrap_or("?"))?;
            equals(f)
        }
    }
}

/// A whole condition for people, on one line: `any of (owned by the user
/// or one of their groups; of kind api)`.
pub struct Described<'a>(pub &'a Condition);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, list: &[Condition]| {
            write!(f, "{name} (")?;
            for (i, c) in list.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{}", Described(c))?;
            }
            f.write_str(")")
        };
        let c = self.0;
        if let Some(all) = &c.all_of {
            return list(f, "all of", all);
        }
        if let Some(any) = &c.any_of {
            return list(f, "any of", any);
        }
        if let Some(inner) = &c.not {
            return write!(f, "not ({})", Described(inner));
        }
        match c.rule {
            Some(rule) => describe_rule(rule, &c.params.clone().unwrap_or_default(), f),
            None => f.write_str("(empty condition)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(condition: &Condition) -> String {
        serde_norway::to_string(condition).expect("serialises")
    }

    fn condition(text: &str) -> Condition {
        serde_norway::from_str(text).expect("a condition")
    }

    #[test]
    fn no_condition_is_no_rows_and_back() {
        let rows = Rows::of(None).expect("rows");
        assert!(rows.rows.is_empty());
        assert_eq!(rows.to_condition(), None);
    }

    #[test]
    fn one_rule_is_one_row_written_back_bare() {
        let original = condition(
            "not:\n  rule: HAS_ANNOTATION\n  params:\n    annotation: acme.com/restricted\n",
        );
        let rows = Rows::of(Some(&original)).expect("fits rows");
        assert_eq!(rows.rows.len(), 1);
        assert!(rows.rows[0].negated);
        assert_eq!(rows.to_condition(), Some(original));
    }

    #[test]
    fn any_of_rules_and_negated_rules_is_rows() {
        let original = condition(
            "anyOf:\n- rule: IS_ENTITY_OWNER\n- not:\n    rule: IS_ENTITY_KIND\n    params:\n      kinds:\n      - api\n",
        );
        let rows = Rows::of(Some(&original)).expect("fits rows");
        assert_eq!(rows.combine, Combine::AnyOf);
        assert_eq!(rows.rows.len(), 2);
        assert_eq!(
            rows.to_condition().as_ref().map(yaml),
            Some(yaml(&original))
        );
    }

    #[test]
    fn nested_combinations_do_not_fit_rows() {
        for text in [
            "allOf:\n- anyOf:\n  - rule: IS_ENTITY_OWNER\n",
            "not:\n  not:\n    rule: IS_ENTITY_OWNER\n",
            "not:\n  anyOf:\n  - rule: IS_ENTITY_OWNER\n",
            "rule: IS_ENTITY_OWNER\nallOf: []\n",
        ] {
            assert_eq!(Rows::of(Some(&condition(text))), None, "{text}");
        }
    }

    #[test]
    fn adding_a_second_row_combines_them_with_all_of() {
        let mut rows = Rows::of(Some(&condition("rule: IS_ENTITY_OWNER\n"))).expect("rows");
        rows.rows
            .push(Row::from_form("HAS_LABEL", "tier", "gold", false).expect("valid"));
        assert_eq!(
            rows.to_condition().as_ref().map(yaml).as_deref(),
            Some(
                "allOf:\n- rule: IS_ENTITY_OWNER\n- rule: HAS_LABEL\n  params:\n    label: tier\n    value: gold\n"
            )
        );
    }

    #[test]
    fn reads_each_rules_parameter_from_the_form() {
        let owner = Row::from_form(
            "IS_ENTITY_OWNER",
            "group:default/docs, user:default/ann",
            "",
            false,
        )
        .expect("valid");
        assert_eq!(
            owner.params.claims,
            Some(vec!["group:default/docs".into(), "user:default/ann".into()])
        );
        let mine = Row::from_form("IS_ENTITY_OWNER", " ", "", false).expect("valid");
        assert_eq!(mine.params, RuleParams::default());
        let kinds = Row::from_form("IS_ENTITY_KIND", "Component,API,", "", true).expect("valid");
        assert_eq!(
            kinds.params.kinds,
            Some(vec!["Component".into(), "API".into()])
        );
        assert!(kinds.negated);
        let spec = Row::from_form("HAS_SPEC", "lifecycle", "production", false).expect("valid");
        assert_eq!(spec.params.key.as_deref(), Some("lifecycle"));
        assert_eq!(spec.params.value.as_deref(), Some("production"));
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        let field = |r: &str, p: &str, v: &str| Row::from_form(r, p, v, false).map_err(|m| m.field);
        assert_eq!(field("IS_OWNER", "", ""), Err("rule"));
        assert_eq!(field("IS_ENTITY_KIND", " , ", ""), Err("param"));
        assert_eq!(field("HAS_ANNOTATION", "", "x"), Err("param"));
        assert_eq!(field("IS_ENTITY_OWNER", "", "x"), Err("value"));
    }

    #[test]
    fn describes_conditions_for_people() {
        let c = condition(
            "anyOf:\n- rule: IS_ENTITY_OWNER\n- not:\n    rule: HAS_LABEL\n    params: { label: tier, value: gold }\n- rule: IS_ENTITY_KIND\n  params: { kinds: [api, component] }\n",
        );
        assert_eq!(
            Described(&c).to_string(),
            "any of (owned by the user or one of their groups; not (has label tier = gold); of kind api or component)"
        );
        let row = Row::from_form("HAS_METADATA", "tags", "", true).expect("valid");
        assert_eq!(row.to_string(), "not: has metadata.tags");
    }
}
