//! The edits the pages make to the policy document.
//!
//! The document's types are `greenroom_model`'s, the ones the host reads,
//! checks and exports with: the same fields, the same serde attributes and
//! the same YAML writer, so a document read from the host and written back
//! unchanged is byte for byte what the host exported.
//!
//! The edits check only what they need to be well-formed (a role to edit
//! exists, a name is not taken). Whether the result is a valid policy —
//! permissions that exist, rules with the right parameters — is the host's
//! to say when the draft is saved.

use greenroom_model::policy::{Policy, PolicyDocument, Role};
use std::fmt;

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

/// The edits the pages make to a document (and the look-ups they make
/// first), each refusing what would leave it ill-formed.
pub trait Edits {
    /// The role called `name`.
    fn role(&self, name: &str) -> Result<&Role, EditError>;

    /// Adds an empty role at the end.
    fn add_role(&mut self, name: &str, description: &str) -> Result<(), EditError>;

    /// Renames `name` to `new_name` (the default role follows) and sets its
    /// description.
    fn update_role(
        &mut self,
        name: &str,
        new_name: &str,
        description: &str,
    ) -> Result<(), EditError>;

    /// Removes the role `name`; when it was the default role, there is no
    /// default role any more. Returns whether it was.
    fn remove_role(&mut self, name: &str) -> Result<bool, EditError>;

    /// Makes `name` the role every signed-in user has, or none.
    fn set_default_role(&mut self, name: Option<&str>) -> Result<(), EditError>;

    /// Adds `member` (an entity reference) to the role.
    fn add_member(&mut self, role: &str, member: &str) -> Result<(), EditError>;

    /// Removes `member` from the role.
    fn remove_member(&mut self, role: &str, member: &str) -> Result<(), EditError>;

    /// Adds a policy at the end of the role's; returns its index.
    fn add_policy(&mut self, role: &str, policy: Policy) -> Result<usize, EditError>;

    /// The role's policy `index`.
    fn policy(&self, role: &str, index: usize) -> Result<&Policy, EditError>;

    /// The role's policy `index`, to change.
    fn policy_mut(&mut self, role: &str, index: usize) -> Result<&mut Policy, EditError>;

    /// Removes the role's policy `index`.
    fn remove_policy(&mut self, role: &str, index: usize) -> Result<Policy, EditError>;
}

/// The role called `name`, to change.
fn role_mut<'a>(document: &'a mut PolicyDocument, name: &str) -> Result<&'a mut Role, EditError> {
    document
        .roles
        .iter_mut()
        .find(|r| r.name == name)
        .ok_or_else(|| EditError::NoSuchRole(name.to_owned()))
}

impl Edits for PolicyDocument {
    fn role(&self, name: &str) -> Result<&Role, EditError> {
        self.roles
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| EditError::NoSuchRole(name.to_owned()))
    }

    fn add_role(&mut self, name: &str, description: &str) -> Result<(), EditError> {
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

    fn update_role(
        &mut self,
        name: &str,
        new_name: &str,
        description: &str,
    ) -> Result<(), EditError> {
        let new_name = role_name(new_name)?;
        if new_name != name && self.roles.iter().any(|r| r.name == new_name) {
            return Err(EditError::RoleExists(new_name.to_owned()));
        }
        let role = role_mut(self, name)?;
        role.name = new_name.to_owned();
        role.description = description.trim().to_owned();
        if self.default_role.as_deref() == Some(name) {
            self.default_role = Some(new_name.to_owned());
        }
        Ok(())
    }

    fn remove_role(&mut self, name: &str) -> Result<bool, EditError> {
        self.role(name)?;
        self.roles.retain(|r| r.name != name);
        let was_default = self.default_role.as_deref() == Some(name);
        if was_default {
            self.default_role = None;
        }
        Ok(was_default)
    }

    fn set_default_role(&mut self, name: Option<&str>) -> Result<(), EditError> {
        if let Some(name) = name {
            self.role(name)?;
        }
        self.default_role = name.map(str::to_owned);
        Ok(())
    }

    fn add_member(&mut self, role: &str, member: &str) -> Result<(), EditError> {
        let role = role_mut(self, role)?;
        if role.members.iter().any(|m| m.eq_ignore_ascii_case(member)) {
            return Err(EditError::AlreadyMember(member.to_owned()));
        }
        role.members.push(member.to_owned());
        Ok(())
    }

    fn remove_member(&mut self, role: &str, member: &str) -> Result<(), EditError> {
        let role = role_mut(self, role)?;
        let before = role.members.len();
        role.members.retain(|m| m != member);
        if role.members.len() == before {
            return Err(EditError::NotAMember(member.to_owned()));
        }
        Ok(())
    }

    fn add_policy(&mut self, role: &str, policy: Policy) -> Result<usize, EditError> {
        let role = role_mut(self, role)?;
        role.policies.push(policy);
        Ok(role.policies.len() - 1)
    }

    fn policy(&self, role: &str, index: usize) -> Result<&Policy, EditError> {
        self.role(role)?
            .policies
            .get(index)
            .ok_or(EditError::NoSuchPolicy(index))
    }

    fn policy_mut(&mut self, role: &str, index: usize) -> Result<&mut Policy, EditError> {
        role_mut(self, role)?
            .policies
            .get_mut(index)
            .ok_or(EditError::NoSuchPolicy(index))
    }

    fn remove_policy(&mut self, role: &str, index: usize) -> Result<Policy, EditError> {
        let role = role_mut(self, role)?;
        if index >= role.policies.len() {
            return Err(EditError::NoSuchPolicy(index));
        }
        Ok(role.policies.remove(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenroom_model::policy::{Condition, Effect, PolicyError, RuleName, RuleParams};

    /// Reads a document as the plugin reads the host's.
    fn read(text: &str) -> Result<PolicyDocument, PolicyError> {
        PolicyDocument::parse_yaml(text, "document")
    }

    const GUIDE: &str = include_str!("../tests/fixtures/operator-guide.yaml");
    const GUIDE_EXPORTED: &str = include_str!("../tests/fixtures/operator-guide.exported.yaml");
    const EVERY_RULE: &str = include_str!("../tests/fixtures/every-rule.yaml");
    const EVERY_RULE_EXPORTED: &str = include_str!("../tests/fixtures/every-rule.exported.yaml");

    fn guide() -> PolicyDocument {
        read(GUIDE).expect("the operator guide's example reads")
    }

    #[test]
    fn writes_what_the_host_exports_for_the_operator_guides_example() {
        assert_eq!(guide().to_yaml(), GUIDE_EXPORTED);
    }

    #[test]
    fn writes_what_the_host_exports_for_every_rule_and_combination() {
        let document = read(EVERY_RULE).expect("reads");
        assert_eq!(document.to_yaml(), EVERY_RULE_EXPORTED);
    }

    #[test]
    fn host_exports_round_trip_unchanged() {
        for exported in [GUIDE_EXPORTED, EVERY_RULE_EXPORTED] {
            let document = read(exported).expect("reads");
            assert_eq!(document.to_yaml(), exported);
        }
    }

    #[test]
    fn refuses_fields_the_host_does_not_know_as_the_host_does() {
        let error = read("roles:\n- name: a\n  owner: me\n").expect_err("unknown field");
        assert!(
            error.to_string().contains("unknown field `owner`"),
            "{error}"
        );
        assert!(
            read("roles:\n- name: a\n  policies:\n  - permission: x\n    effect: maybe\n").is_err()
        );
    }

    #[test]
    fn an_empty_document_is_version_one_without_roles() {
        let document = read("{}").expect("reads");
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
        assert_eq!(read(&expected).expect("reads"), document);
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
