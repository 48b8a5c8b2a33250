//! The relations Backstage's BuiltinKindsEntityProcessor generates from each
//! built-in kind's spec: every reference yields a relation from the entity
//! and the reverse relation from its target.

use crate::EntityRef;
use crate::validate::Problem;
use serde_json::Value;

/// One directed relation, e.g. `component:default/pay` `ownedBy`
/// `group:default/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relation {
    /// The entity whose `relations` list holds it.
    pub source: EntityRef,
    /// As Backstage spells it: `ownedBy`, `partOf`, …
    pub kind: &'static str,
    /// The entity it points to (which may not exist).
    pub target: EntityRef,
}

/// How one spec field becomes relations: its default target kind, the
/// relation from the entity and the reverse one.
struct Rule {
    field: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
}

const fn rule(
    field: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
) -> Rule {
    Rule {
        field,
        default_kind,
        outgoing,
        incoming,
    }
}

const OWNER: Rule = rule("owner", Some("Group"), "ownedBy", "ownerOf");
const SYSTEM: Rule = rule("system", Some("System"), "partOf", "hasPart");
const DEPENDS_ON: Rule = rule("dependsOn", None, "dependsOn", "dependencyOf");
const DEPENDENCY_OF: Rule = rule("dependencyOf", None, "dependencyOf", "dependsOn");

const COMPONENT: &[Rule] = &[
    OWNER,
    rule("subcomponentOf", Some("Component"), "partOf", "hasPart"),
    rule("providesApis", Some("API"), "providesApi", "apiProvidedBy"),
    rule("consumesApis", Some("API"), "consumesApi", "apiConsumedBy"),
    DEPENDS_ON,
    DEPENDENCY_OF,
    SYSTEM,
];
const API: &[Rule] = &[OWNER, SYSTEM];
const RESOURCE: &[Rule] = &[OWNER, DEPENDS_ON, DEPENDENCY_OF, SYSTEM];
const SYSTEM_RULES: &[Rule] = &[OWNER, rule("domain", Some("Domain"), "partOf", "hasPart")];
const DOMAIN: &[Rule] = &[
    OWNER,
    rule("subdomainOf", Some("Domain"), "partOf", "hasPart"),
];
const USER: &[Rule] = &[rule("memberOf", Some("Group"), "memberOf", "hasMember")];
const GROUP: &[Rule] = &[
    rule("parent", Some("Group"), "childOf", "parentOf"),
    rule("children", Some("Group"), "parentOf", "childOf"),
    rule("members", Some("User"), "hasMember", "memberOf"),
];
const TEMPLATE: &[Rule] = &[OWNER];

fn rules(kind: &str) -> &'static [Rule] {
    match kind {
        "component" => COMPONENT,
        "api" => API,
        "resource" => RESOURCE,
        "system" => SYSTEM_RULES,
        "domain" => DOMAIN,
        "user" => USER,
        "group" => GROUP,
        "template" => TEMPLATE,
        _ => &[],
    }
}

/// The relations a valid entity generates, or the references in its spec
/// that are malformed.
pub fn generate(entity: &Value, this: &EntityRef) -> Result<Vec<Relation>, Vec<Problem>> {
    let mut relations = Vec::new();
    let mut problems = Vec::new();
    for rule in rules(this.kind()) {
        let targets: Vec<(String, &str)> = match entity["spec"].get(rule.field) {
            Some(Value::String(one)) => vec![(format!("/spec/{}", rule.field), one.as_str())],
            Some(Value::Array(many)) => many
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((format!("/spec/{}/{i}", rule.field), v.as_str()?)))
                .collect(),
            _ => continue,
        };
        for (pointer, text) in targets {
            match EntityRef::parse(text, rule.default_kind, this.namespace()) {
                Ok(target) => {
                    relations.push(Relation {
                        source: this.clone(),
                        kind: rule.outgoing,
                        target: target.clone(),
                    });
                    relations.push(Relation {
                        source: target,
                        kind: rule.incoming,
                        target: this.clone(),
                    });
                }
                Err(error) => problems.push(Problem::new(
                    pointer,
                    format!("spec.{}: {error}", rule.field),
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(relations)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown(relations: &[Relation]) -> Vec<String> {
        relations
            .iter()
            .map(|r| format!("{} {} {}", r.source, r.kind, r.target))
            .collect()
    }

    #[test]
    fn a_component_relates_to_its_owner_system_apis_and_dependencies() {
        let entity = json!({"spec": {
            "owner": "payments", "system": "checkout",
            "providesApis": ["pay-api"], "consumesApis": ["other/fx-api"],
            "dependsOn": ["resource:pay-db"], "subcomponentOf": "shop"
        }});
        let this = EntityRef::new("component", "default", "pay");
        let relations = generate(&entity, &this).unwrap();
        assert_eq!(
            shown(&relations),
            [
                "component:default/pay ownedBy group:default/payments",
                "group:default/payments ownerOf component:default/pay",
                "component:default/pay partOf component:default/shop",
                "component:default/shop hasPart component:default/pay",
                "component:default/pay providesApi api:default/pay-api",
                "api:default/pay-api apiProvidedBy component:default/pay",
                "component:default/pay consumesApi api:other/fx-api",
                "api:other/fx-api apiConsumedBy component:default/pay",
                "component:default/pay dependsOn resource:default/pay-db",
                "resource:default/pay-db dependencyOf component:default/pay",
                "component:default/pay partOf system:default/checkout",
                "system:default/checkout hasPart component:default/pay",
            ]
        );
    }

    #[test]
    fn groups_and_users_relate_both_ways() {
        let group = json!({"spec": {"type": "team", "parent": "eng", "children": ["sub"], "members": ["ann"]}});
        let this = EntityRef::new("group", "default", "team-a");
        assert_eq!(
            shown(&generate(&group, &this).unwrap()),
            [
                "group:default/team-a childOf group:default/eng",
                "group:default/eng parentOf group:default/team-a",
                "group:default/team-a parentOf group:default/sub",
                "group:default/sub childOf group:default/team-a",
                "group:default/team-a hasMember user:default/ann",
                "user:default/ann memberOf group:default/team-a",
            ]
        );
        let user = json!({"spec": {"memberOf": ["team-a"]}});
        let this = EntityRef::new("user", "default", "ann");
        assert_eq!(
            shown(&generate(&user, &this).unwrap()),
            [
                "user:default/ann memberOf group:default/team-a",
                "group:default/team-a hasMember user:default/ann",
            ]
        );
    }

    #[test]
    fn references_take_the_entitys_namespace_by_default() {
        let entity = json!({"spec": {"owner": "user:ann", "domain": "pay"}});
        let this = EntityRef::new("system", "finance", "ledger");
        let relations = generate(&entity, &this).unwrap();
        assert_eq!(relations[0].target.to_string(), "user:finance/ann");
        assert_eq!(relations[2].target.to_string(), "domain:finance/pay");
    }

    #[test]
    fn depends_on_without_a_kind_is_a_problem_at_its_position() {
        let entity = json!({"spec": {"owner": "a", "dependsOn": ["ok:x", "pay-db"]}});
        let this = EntityRef::new("component", "default", "pay");
        let problems = generate(&entity, &this).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pointer, "/spec/dependsOn/1");
        assert!(
            problems[0].message.contains("missing or empty kind"),
            "{problems:?}"
        );
    }
}
