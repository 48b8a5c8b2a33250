//! The policy document: roles, their members and policies with conditions,
//! as stored, exported and imported (YAML for review in version control).
//!
//! The host reads, checks and exports it; the RBAC plugin reads it from the
//! host, edits it and hands it back through `rbac-admin`. Both use these
//! types and [`PolicyDocument::to_yaml`], so a document read and written
//! back unchanged is byte for byte what the host exported.

use crate::entity::EntityRef;
use crate::permission::on_catalog_entities;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The whole policy: every role, and the role every signed-in user has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PolicyDocument {
    /// Format version of the document (1).
    #[serde(default = "one")]
    pub version: u32,
    /// A role every signed-in user has besides their own (e.g. `viewer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    /// The roles.
    #[serde(default)]
    pub roles: Vec<Role>,
}

fn one() -> u32 {
    1
}

/// The empty policy (nobody may do anything but the bootstrap admins), in
/// the format version this host reads — so exporting it and importing the
/// export round-trips (a derived default wrote `version: 0`, which import
/// refused).
impl Default for PolicyDocument {
    fn default() -> PolicyDocument {
        PolicyDocument {
            version: one(),
            default_role: None,
            roles: Vec::new(),
        }
    }
}

/// A named set of policies and who has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Role {
    /// Its name, unique in the document.
    pub name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Users and groups (entity references: `user:default/jane`,
    /// `group:default/platform`); a group's members include its subgroups'.
    #[serde(default)]
    pub members: Vec<String>,
    /// What the role allows or denies.
    #[serde(default)]
    pub policies: Vec<Policy>,
}

/// Allow or deny one permission (or a family: `catalog.entity.*`, `*`),
/// optionally only where conditions on the resource hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    /// The permission: an exact name, a prefix ending in `.*`, or `*`.
    pub permission: String,
    /// `allow` or `deny`.
    pub effect: Effect,
    /// Only where these hold on the resource (permissions on catalog
    /// entities only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Condition>,
}

/// A policy's effect. A deny wins over an allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Grants the permission.
    Allow,
    /// Refuses it, whatever else allows it.
    Deny,
}

impl Effect {
    /// The word the document uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }

    /// Reads `allow` or `deny`.
    pub fn parse(text: &str) -> Option<Effect> {
        match text {
            "allow" => Some(Effect::Allow),
            "deny" => Some(Effect::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition on a catalog entity: one rule, or `allOf` / `anyOf` / `not`
/// of conditions — the shape of Backstage's conditional permission
/// criteria. Exactly one of the four is set in a valid condition
/// ([`Condition::check`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Every one holds.
    #[serde(rename = "allOf", default, skip_serializing_if = "Option::is_none")]
    pub all_of: Option<Vec<Condition>>,
    /// At least one holds.
    #[serde(rename = "anyOf", default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<Condition>>,
    /// It does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Condition>>,
    /// A rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleName>,
    /// The rule's parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<RuleParams>,
}

/// The rules a condition can use, as Backstage's catalog names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleName {
    /// The entity is owned by the user or one of their groups (or by one
    /// of `claims`).
    IsEntityOwner,
    /// The entity's kind is one of `kinds`.
    IsEntityKind,
    /// The entity has annotation `annotation` (equal to `value`, if given).
    HasAnnotation,
    /// The entity has label `label` (equal to `value`, if given).
    HasLabel,
    /// `metadata.<key>` exists (equals `value`, if given).
    HasMetadata,
    /// `spec.<key>` exists (equals `value`, if given).
    HasSpec,
}

impl RuleName {
    /// Every rule, in the order the RBAC plugin's pages offer them.
    pub const ALL: [RuleName; 6] = [
        RuleName::IsEntityOwner,
        RuleName::IsEntityKind,
        RuleName::HasAnnotation,
        RuleName::HasLabel,
        RuleName::HasMetadata,
        RuleName::HasSpec,
    ];

    /// The name the document uses, e.g. `IS_ENTITY_OWNER`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleName::IsEntityOwner => "IS_ENTITY_OWNER",
            RuleName::IsEntityKind => "IS_ENTITY_KIND",
            RuleName::HasAnnotation => "HAS_ANNOTATION",
            RuleName::HasLabel => "HAS_LABEL",
            RuleName::HasMetadata => "HAS_METADATA",
            RuleName::HasSpec => "HAS_SPEC",
        }
    }

    /// Reads a rule's name as the document writes it.
    pub fn parse(text: &str) -> Option<RuleName> {
        RuleName::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A rule's parameters; which ones a rule takes is checked by
/// [`Condition::check`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleParams {
    /// IS_ENTITY_OWNER: owners to match instead of the user's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<String>>,
    /// IS_ENTITY_KIND.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<String>>,
    /// HAS_ANNOTATION.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
    /// HAS_LABEL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// HAS_METADATA, HAS_SPEC: a dotted path under `metadata` / `spec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value to equal (HAS_ANNOTATION, HAS_LABEL, HAS_METADATA,
    /// HAS_SPEC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Condition {
    /// A condition of one rule; no `params` when there are none.
    pub fn rule(rule: RuleName, params: RuleParams) -> Condition {
        Condition {
            rule: Some(rule),
            params: (params != RuleParams::default()).then_some(params),
            ..Condition::default()
        }
    }

    /// `not` of `inner`: it does not hold.
    pub fn negated(inner: Condition) -> Condition {
        Condition {
            not: Some(Box::new(inner)),
            ..Condition::default()
        }
    }

    /// `allOf` of `list`.
    pub fn all_of(list: Vec<Condition>) -> Condition {
        Condition {
            all_of: Some(list),
            ..Condition::default()
        }
    }

    /// `anyOf` of `list`.
    pub fn any_of(list: Vec<Condition>) -> Condition {
        Condition {
            any_of: Some(list),
            ..Condition::default()
        }
    }

    /// What is wrong with it, each problem prefixed with `at`.
    pub fn check(&self, at: &str, problems: &mut Vec<String>) {
        let set = [
            self.all_of.is_some(),
            self.any_of.is_some(),
            self.not.is_some(),
            self.rule.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if set != 1 {
            problems.push(format!(
                "{at}: a condition is exactly one of `rule`, `allOf`, `anyOf` or `not` ({set} given)"
            ));
            return;
        }
        if self.params.is_some() && self.rule.is_none() {
            problems.push(format!("{at}: `params` belongs to a `rule`"));
        }
        for (name, list) in [("allOf", &self.all_of), ("anyOf", &self.any_of)] {
            if let Some(list) = list {
                if list.is_empty() {
                    problems.push(format!("{at}.{name}: is empty"));
                }
                for (i, c) in list.iter().enumerate() {
                    c.check(&format!("{at}.{name}[{i}]"), problems);
                }
            }
        }
        if let Some(inner) = &self.not {
            inner.check(&format!("{at}.not"), problems);
        }
        if let Some(rule) = self.rule {
            let p = self.params.clone().unwrap_or_default();
            let given: Vec<&str> = [
                ("claims", p.claims.is_some()),
                ("kinds", p.kinds.is_some()),
                ("annotation", p.annotation.is_some()),
                ("label", p.label.is_some()),
                ("key", p.key.is_some()),
                ("value", p.value.is_some()),
            ]
            .iter()
            .filter(|(_, g)| *g)
            .map(|(n, _)| *n)
            .collect();
            let (required, allowed): (&[&str], &[&str]) = match rule {
                RuleName::IsEntityOwner => (&[], &["claims"]),
                RuleName::IsEntityKind => (&["kinds"], &["kinds"]),
                RuleName::HasAnnotation => (&["annotation"], &["annotation", "value"]),
                RuleName::HasLabel => (&["label"], &["label", "value"]),
                RuleName::HasMetadata | RuleName::HasSpec => (&["key"], &["key", "value"]),
            };
            let rule_name = rule.as_str();
            for name in required {
                if !given.contains(name) {
                    problems.push(format!("{at}: {rule_name} needs params.{name}"));
                }
            }
            for name in &given {
                if !allowed.contains(name) {
                    problems.push(format!("{at}: {rule_name} takes no params.{name}"));
                }
            }
            if p.kinds.as_ref().is_some_and(Vec::is_empty) {
                problems.push(format!("{at}: params.kinds is empty"));
            }
            if let Some(claims) = &p.claims {
                for claim in claims {
                    if EntityRef::parse(claim, Some("group"), "default").is_err() {
                        problems.push(format!(
                            "{at}: params.claims: `{claim}` is not an entity reference"
                        ));
                    }
                }
            }
        }
    }
}

/// Why a document cannot be used; every problem found, each naming where.
#[derive(Debug)]
pub enum PolicyError {
    /// Not YAML of the right shape.
    Syntax {
        /// The file.
        file: String,
        /// What the parser said, with its line and column.
        message: String,
    },
    /// Well-formed, but wrong.
    Invalid {
        /// The file.
        file: String,
        /// Every problem, each with its path in the document.
        problems: Vec<String>,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Syntax { file, message } => write!(f, "{file}: {message}"),
            PolicyError::Invalid { file, problems } => {
                write!(f, "{file}: {}", problems.join("; "))
            }
        }
    }
}

impl std::error::Error for PolicyError {}

impl PolicyDocument {
    /// Reads a document from YAML, checking everything (`known` are the
    /// permissions that exist: the host's and the plugins').
    pub fn from_yaml(
        text: &str,
        file: &str,
        known: &BTreeSet<String>,
    ) -> Result<PolicyDocument, PolicyError> {
        let document = PolicyDocument::parse_yaml(text, file)?;
        let problems = document.problems(known);
        if problems.is_empty() {
            Ok(document)
        } else {
            Err(PolicyError::Invalid {
                file: file.to_owned(),
                problems,
            })
        }
    }

    /// Reads a document from YAML, checking only its shape (no unknown
    /// fields, the right types), not what [`PolicyDocument::problems`]
    /// finds: for a document the host wrote, or one to hand to the host,
    /// which checks it.
    pub fn parse_yaml(text: &str, file: &str) -> Result<PolicyDocument, PolicyError> {
        serde_norway::from_str(text).map_err(|e| PolicyError::Syntax {
            file: file.to_owned(),
            message: e.to_string(),
        })
    }

    /// The document as YAML, for export.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self)
            .expect("a policy document serialises: it has only strings, numbers, lists and maps")
    }

    /// Every problem: unknown version, duplicate or empty role names, a
    /// default role that does not exist, members that are not user or
    /// group references, unknown permissions, conditions on permissions
    /// that have no resource, malformed conditions.
    pub fn problems(&self, known: &BTreeSet<String>) -> Vec<String> {
        let mut problems = Vec::new();
        if self.version != 1 {
            problems.push(format!(
                "version: {} is not a version this host reads (1)",
                self.version
            ));
        }
        let mut names = BTreeSet::new();
        for (i, role) in self.roles.iter().enumerate() {
            let at = format!("roles[{i}] ({})", role.name);
            if role.name.trim().is_empty() {
                problems.push(format!("roles[{i}]: the name is empty"));
            }
            if !names.insert(role.name.as_str()) {
                problems.push(format!("{at}: another role has this name"));
            }
            for (m, member) in role.members.iter().enumerate() {
                match EntityRef::parse(member, None, "default") {
                    Ok(r) if matches!(r.kind(), "user" | "group") => {}
                    Ok(_) => problems.push(format!(
                        "{at}.members[{m}]: `{member}` is neither a user nor a group"
                    )),
                    Err(_) => problems.push(format!(
                        "{at}.members[{m}]: `{member}` is not an entity reference like user:default/jane or group:default/team"
                    )),
                }
            }
            for (p, policy) in role.policies.iter().enumerate() {
                let at = format!("{at}.policies[{p}]");
                if !permission_exists(&policy.permission, known) {
                    problems.push(format!(
                        "{at}: no permission matches `{}`",
                        policy.permission
                    ));
                }
                if let Some(condition) = &policy.conditions {
                    if !on_catalog_entities(&policy.permission) {
                        problems.push(format!(
                            "{at}: `{}` is not a permission on catalog entities, so it takes no conditions",
                            policy.permission
                        ));
                    }
                    condition.check(&format!("{at}.conditions"), &mut problems);
                }
            }
        }
        if let Some(default) = &self.default_role
            && !names.contains(default.as_str())
        {
            problems.push(format!("default-role: no role is named `{default}`"));
        }
        problems
    }
}

/// Whether `pattern` (exact, `prefix.*` or `*`) names a permission.
pub fn permission_matches(pattern: &str, permission: &str) -> bool {
    pattern == "*"
        || pattern == permission
        || pattern.strip_suffix(".*").is_some_and(|prefix| {
            permission.starts_with(prefix) && permission[prefix.len()..].starts_with('.')
        })
}

fn permission_exists(pattern: &str, known: &BTreeSet<String>) -> bool {
    known.iter().any(|p| permission_matches(pattern, p))
}
