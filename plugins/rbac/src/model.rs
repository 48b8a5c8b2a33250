//! The policy document, as the host reads and writes it, and the edits the
//! pages make to it.
//!
//! The types mirror the host's (`host/access/src/rbac/policy.rs`) field for
//! field, with the same serde attributes: the host refuses unknown fields,
//! so a field this model dropped or renamed would make every save fail,
//! and a different field order would make every diff noisy. Written with
//! the same YAML library, a document read from the host and written back
//! unchanged is byte for byte what the host exported.
//!
//! The model checks only what an edit needs to be well-formed (a role to
//! edit exists, a name is not taken). Whether the result is a valid policy —
//! permissions that exist, rules with the right parameters — is the host's
//! to say when the draft is saved.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The whole policy: every role, and the role every signed-in user has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PolicyDocument {
    /// Format version of the document (1).
    #[serde(default = "one")]
    pub version: u32,
    /// A role every signed-in user has besides their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    /// The roles.
    #[serde(default)]
    pub roles: Vec<Role>,
}

fn one() -> u32 {
    1
}

impl Default for PolicyDocument {
    /// A policy with no roles, in format version 1.
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
    /// Users and groups, as entity references.
    #[serde(default)]
    pub members: Vec<String>,
    /// What the role allows or denies.
    #[serde(default)]
    pub policies: Vec<Policy>,
}

/// Allow or deny one permission (or a family: `catalog.entity.*`, `*`),
/// optionally only where conditions on the entity hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    /// An exact permission, a prefix ending in `.*`, or `*`.
    pub permission: String,
    /// Allow or deny.
    pub effect: Effect,
    /// Only where these hold on the entity.
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

/// One rule, or `allOf` / `anyOf` / `not` of conditions. Exactly one of the
/// four is set in a valid condition; the host checks that.
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
}

/// The rules a condition can use, as Backstage's catalog names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleName {
    /// Owned by the user or one of their groups (or by one of `claims`).
    IsEntityOwner,
    /// Of one of `kinds`.
    IsEntityKind,
    /// Has annotation `annotation` (equal to `value`, if given).
    HasAnnotation,
    /// Has label `label` (equal to `value`, if given).
    HasLabel,
    /// `metadata.<key>` exists (equals `value`, if given).
    HasMetadata,
    /// `spec.<key>` exists (equals `value`, if given).
    HasSpec,
}

impl RuleName {
    /// Every rule, in the order the pages offer them.
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

/// A rule's parameters; which a rule takes is checked by the host.
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
    /// The value to equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Why an edit cannot be made to the document as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// No role has this name (any more).
    NoSuchRole(String),
    /// Another role already has this name.
    RoleExists(String),
    /// A role's name is empty.
    EmptyName,
    /// A role's name has a character its page's address cannot carry.
    ReservedCharacter(char),
    /// The role has no policy with this index.
    NoSuchPolicy(usize),
    /// The member is in the role already.
    AlreadyMember(String),
    /// The member is not in the role.
    NotAMember(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::NoSuchRole(name) => write!(f, "There is no role named `{name}`."),
            EditError::RoleExists(name) => write!(f, "A role named `{name}` exists already."),
            EditError::EmptyName => f.write_str("A role needs a name."),
            EditError::ReservedCharacter(c) => write!(
                f,
                "A role's name cannot contain `{c}` here (it would break the address of its page)."
            ),
            EditError::NoSuchPolicy(index) => write!(f, "The role has no policy {index}."),
            EditError::AlreadyMember(member) => write!(f, "`{member}` is a member already."),
            EditError::NotAMember(member) => write!(f, "`{member}` is not a member."),
        }
    }
}

/// Characters a role's name may not have when named through the pages: the
/// portal hands a page its path and the path back to a form undecoded, so a
/// `?`, `#` or `%` in a role's name would lead to another page. (A policy
/// imported as YAML may still use them; the role is then edited as YAML.)
const RESERVED_IN_NAMES: &[char] = &['?', '#', '%'];

/// `name` trimmed, if a role may be given it through the pages.
fn role_name(name: &str) -> Result<&str, EditError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EditError::EmptyName);
    }
    match name
        .chars()
        .find(|c| RESERVED_IN_NAMES.contains(c) || c.is_control())
    {
        Some(c) => Err(EditError::ReservedCharacter(c)),
        None => Ok(name),
    }
}

impl PolicyDocument {
    /// Reads a document as the host writes it.
    pub fn from_yaml(text: &str) -> Result<PolicyDocument, serde_norway::Error> {
        serde_norway::from_str(text)
    }

    /// The document as YAML, exactly as the host would export it.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self)
            .expect("a policy document serialises: it has only strings, numbers, lists and maps")
    }

    /// The role called `name`.
    pub fn role(&self, name: &str) -> Result<&Role, EditError> {
        self.roles
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| EditError::NoSuchRole(name.to_owned()))
    }

    fn role_mut(&mut self, name: &str) -> Result<&mut Role, EditError> {
        self.roles
            .iter_mut()
            .find(|r| r.name == name)
            .ok_or_else(|| EditError::NoSuchRole(name.to_owned()))
    }

    /// Adds an empty role at the end.
    pub fn add_role(&mut self, name: &str, description: &str) -> Result<(), EditError> {
        let name = role_name(name)?;
        if self.roles.iter().any(|r| r.name == name) {
            return Err(EditError::RoleExists(name.to_owned()));
        }
        self.roles.push(Role {
            name: name.to_owned(),
            description: description.trim().to_owned(),
            members: Vec::new(),
            policies: Vec::new(),
        });
        Ok(())
    }

    /// Renames `name` to `new_name` (the default role follows) and sets its
    /// description.
    pub fn update_role(
        &mut self,
        name: &str,
        new_name: &str,
        description: &str,
    ) -> Result<(), EditError> {
        let new_name = role_name(new_name)?;
        if new_name != name && self.roles.iter().any(|r| r.name == new_name) {
            return Err(EditError::RoleExists(new_name.to_owned()));
        }
        let role = self.role_mut(name)?;
        role.name = new_name.to_owned();
        role.description = description.trim().to_owned();
        if self.default_role.as_deref() == Some(name) {
            self.default_role = Some(new_name.to_owned());
        }
        Ok(())
    }

    /// Removes the role `name`; when it was the default role, there is no
    /// default role any more. Returns whether it was.
    pub fn remove_role(&mut self, name: &str) -> Result<bool, EditError> {
        self.role(name)?;
        self.roles.retain(|r| r.name != name);
        let was_default = self.default_role.as_deref() == Some(name);
        if was_default {
            self.default_role = None;
        }
        Ok(was_default)
    }

    /// Makes `name` the role every signed-in user has, or none.
    pub fn set_default_role(&mut self, name: Option<&str>) -> Result<(), EditError> {
        if let Some(name) = name {
            self.role(name)?;
        }
        self.default_role = name.map(str::to_owned);
        Ok(())
    }

    /// Adds `member` (an entity reference) to the role.
    pub fn add_member(&mut self, role: &str, member: &str) -> Result<(), EditError> {
        let role = self.role_mut(role)?;
        if role.members.iter().any(|m| m.eq_ignore_ascii_case(member)) {
            return Err(EditError::AlreadyMember(member.to_owned()));
        }
        role.members.push(member.to_owned());
        Ok(())
    }

    /// Removes `member` from the role.
    pub fn remove_member(&mut self, role: &str, member: &str) -> Result<(), EditError> {
        let role = self.role_mut(role)?;
        let before = role.members.len();
        role.members.retain(|m| m != member);
        if role.members.len() == before {
            return Err(EditError::NotAMember(member.to_owned()));
        }
        Ok(())
    }

    /// Adds a policy at the end of the role's; returns its index.
    pub fn add_policy(&mut self, role: &str, policy: Policy) -> Result<usize, EditError> {
        let role = self.role_mut(role)?;
        role.policies.push(policy);
        Ok(role.policies.len() - 1)
    }

    /// The role's policy `index`.
    pub fn policy(&self, role: &str, index: usize) -> Result<&Policy, EditError> {
        self.role(role)?
            .policies
            .get(index)
            .ok_or(EditError::NoSuchPolicy(index))
    }

    /// The role's policy `index`, to change.
    pub fn policy_mut(&mut self, role: &str, index: usize) -> Result<&mut Policy, EditError> {
        self.role_mut(role)?
            .policies
            .get_mut(index)
            .ok_or(EditError::NoSuchPolicy(index))
    }

    /// Removes the role's policy `index`.
    pub fn remove_policy(&mut self, role: &str, index: usize) -> Result<Policy, EditError> {
        let role = self.role_mut(role)?;
        if index >= role.policies.len() {
            return Err(EditError::NoSuchPolicy(index));
        }
        Ok(role.policies.remove(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE: &str = include_str!("../tests/fixtures/operator-guide.yaml");
    const GUIDE_EXPORTED: &str = include_str!("../tests/fixtures/operator-guide.exported.yaml");
    const EVERY_RULE: &str = include_str!("../tests/fixtures/every-rule.yaml");
    const EVERY_RULE_EXPORTED: &str = include_str!("../tests/fixtures/every-rule.exported.yaml");

    fn guide() -> PolicyDocument {
        PolicyDocument::from_yaml(GUIDE).expect("the operator guide's example reads")
    }

    #[test]
    fn writes_what_the_host_exports_for_the_operator_guides_example() {
        assert_eq!(guide().to_yaml(), GUIDE_EXPORTED);
    }

    #[test]
    fn writes_what_the_host_exports_for_every_rule_and_combination() {
        let document = PolicyDocument::from_yaml(EVERY_RULE).expect("reads");
        assert_eq!(document.to_yaml(), EVERY_RULE_EXPORTED);
    }

    #[test]
    fn host_exports_round_trip_unchanged() {
        for exported in [GUIDE_EXPORTED, EVERY_RULE_EXPORTED] {
            let document = PolicyDocument::from_yaml(exported).expect("reads");
            assert_eq!(document.to_yaml(), exported);
        }
    }

    #[test]
    fn refuses_fields_the_host_does_not_know_as_the_host_does() {
        let error = PolicyDocument::from_yaml("roles:\n- name: a\n  owner: me\n")
            .expect_err("unknown field");
        assert!(
            error.to_string().contains("unknown field `owner`"),
            "{error}"
        );
        assert!(
            PolicyDocument::from_yaml(
                "roles:\n- name: a\n  policies:\n  - permission: x\n    effect: maybe\n"
            )
            .is_err()
        );
    }

    #[test]
    fn an_empty_document_is_version_one_without_roles() {
        let document = PolicyDocument::from_yaml("{}").expect("reads");
        assert_eq!(document.to_yaml(), "version: 1\nroles: []\n");
    }

    #[test]
    fn adding_a_role_appends_it_with_empty_members_and_policies() {
        let mut document = PolicyDocument::default();
        document
            .add_role(" auditors ", "Read the audit log")
            .expect("new name");
        assert_eq!(
            document.to_yaml(),
            "version: 1\nroles:\n- name: auditors\n  description: Read the audit log\n  members: []\n  policies: []\n"
        );
        assert_eq!(
            document.add_role("auditors", ""),
            Err(EditError::RoleExists("auditors".into()))
        );
        assert_eq!(document.add_role("  ", ""), Err(EditError::EmptyName));
        assert_eq!(
            document.add_role("a?b", ""),
            Err(EditError::ReservedCharacter('?'))
        );
        document.add_role("team a/b", "").expect("a slash is fine");
    }

    #[test]
    fn adding_a_policy_with_a_condition_writes_the_hosts_yaml() {
        let mut document = guide();
        let index = document
            .add_policy(
                "platform-admins",
                Policy {
                    permission: "catalog.entity.delete".into(),
                    effect: Effect::Deny,
                    conditions: Some(Condition::rule(
                        RuleName::HasLabel,
                        RuleParams {
                            label: Some("protected".into()),
                            value: Some("true".into()),
                            ..RuleParams::default()
                        },
                    )),
                },
            )
            .expect("role exists");
        assert_eq!(index, 1);
        let expected = GUIDE_EXPORTED.to_owned()
            + "  - permission: catalog.entity.delete\n    effect: deny\n    conditions:\n      rule: HAS_LABEL\n      params:\n        label: protected\n        value: 'true'\n";
        assert_eq!(document.to_yaml(), expected);
        assert_eq!(
            PolicyDocument::from_yaml(&expected).expect("reads"),
            document
        );
    }

    #[test]
    fn a_rule_without_parameters_has_no_params() {
        let condition = Condition::rule(RuleName::IsEntityOwner, RuleParams::default());
        assert_eq!(condition.params, None);
        assert_eq!(
            serde_norway::to_string(&condition).expect("serialises"),
            "rule: IS_ENTITY_OWNER\n"
        );
    }

    #[test]
    fn removing_a_member_leaves_the_others_in_order() {
        let mut document = guide();
        document
            .remove_member("payments", "group:default/payments")
            .expect("a member");
        let yaml = document.to_yaml();
        assert!(
            yaml.contains("- name: payments\n  members:\n  - user:default/jane.doe\n  policies:"),
            "{yaml}"
        );
        assert_eq!(
            document.remove_member("payments", "group:default/payments"),
            Err(EditError::NotAMember("group:default/payments".into()))
        );
    }

    #[test]
    fn adding_a_member_twice_is_refused_whatever_the_case() {
        let mut document = guide();
        assert_eq!(
            document.add_member("payments", "User:default/Jane.Doe"),
            Err(EditError::AlreadyMember("User:default/Jane.Doe".into()))
        );
        document
            .add_member("viewer", "group:default/everyone")
            .expect("new");
        assert!(
            document
                .to_yaml()
                .contains("- name: viewer\n  members:\n  - group:default/everyone\n")
        );
    }

    #[test]
    fn renaming_the_default_role_keeps_it_the_default() {
        let mut document = guide();
        document
            .update_role("viewer", "readers", "Everyone signed in")
            .expect("renames");
        assert_eq!(document.default_role.as_deref(), Some("readers"));
        assert_eq!(document.roles[0].description, "Everyone signed in");
        assert_eq!(
            document.update_role("readers", "payments", ""),
            Err(EditError::RoleExists("payments".into()))
        );
    }

    #[test]
    fn removing_the_default_role_leaves_no_default() {
        let mut document = guide();
        assert_eq!(document.remove_role("viewer"), Ok(true));
        assert_eq!(document.default_role, None);
        assert_eq!(document.remove_role("payments"), Ok(false));
        assert_eq!(
            document.remove_role("payments"),
            Err(EditError::NoSuchRole("payments".into()))
        );
        assert_eq!(document.roles.len(), 1);
    }

    #[test]
    fn removing_a_policy_shifts_the_later_ones() {
        let mut document = guide();
        let removed = document.remove_policy("payments", 0).expect("exists");
        assert_eq!(removed.permission, "catalog.entity.*");
        assert_eq!(
            document.policy("payments", 0).expect("shifted").permission,
            "catalog.entity.delete"
        );
        assert_eq!(
            document.remove_policy("payments", 1),
            Err(EditError::NoSuchPolicy(1))
        );
    }

    #[test]
    fn the_default_role_must_exist() {
        let mut document = guide();
        assert_eq!(
            document.set_default_role(Some("nobody")),
            Err(EditError::NoSuchRole("nobody".into()))
        );
        document.set_default_role(None).expect("none is fine");
        assert!(!document.to_yaml().contains("default-role"));
    }
}
