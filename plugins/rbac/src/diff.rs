//! What a draft changes: a line diff of two YAML documents for reviewers
//! who read policy files, and a summary per role for everyone else.

use crate::conditions::Described;
use greenroom_model::policy::{Policy, PolicyDocument, Role};
use similar::{Algorithm, DiffOp, TextDiff, capture_diff_slices};
use std::fmt;

/// Lines of context around each change in the line diff; git's default.
const CONTEXT_LINES: usize = 3;

/// A unified diff from `old` to `new`, each named in the header; empty when
/// they are the same.
pub fn line_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(old_name, new_name)
        .to_string()
}

/// One change a draft makes, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The role every signed-in user has is another one.
    DefaultRole {
        /// Before.
        from: Option<String>,
        /// After.
        to: Option<String>,
    },
    /// A role is new.
    Added(String),
    /// A role is gone.
    Removed(String),
    /// A role has a new name and is otherwise the same.
    Renamed {
        /// Its old name.
        from: String,
        /// Its new name.
        to: String,
    },
    /// A role's description, members or policies changed.
    Changed {
        /// The role.
        role: String,
        /// What changed, one line each.
        details: Vec<String>,
    },
}

impl Change {
    /// The role it is about, if any.
    pub fn role(&self) -> Option<&str> {
        match self {
            Change::DefaultRole { .. } => None,
            Change::Added(role) | Change::Removed(role) => Some(role),
            Change::Renamed { to, .. } => Some(to),
            Change::Changed { role, .. } => Some(role),
        }
    }

    /// One word for the kind of change.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::DefaultRole { .. } => "default role",
            Change::Added(_) => "added",
            Change::Removed(_) => "removed",
            Change::Renamed { .. } => "renamed",
            Change::Changed { .. } => "changed",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_none = |role: &Option<String>| role.clone().unwrap_or_else(|| "none".to_owned());
        match self {
            Change::DefaultRole { from, to } => {
                write!(f, "default role: {} → {}", or_none(from), or_none(to))
            }
            Change::Added(role) => write!(f, "role `{role}` added"),
            Change::Removed(role) => write!(f, "role `{role}` removed"),
            Change::Renamed { from, to } => write!(f, "role `{from}` renamed to `{to}`"),
            Change::Changed { role, details } => {
                write!(f, "role `{role}`: {}", details.join("; "))
            }
        }
    }
}

/// A policy on one line: `allow catalog.entity.read where owned by …`.
pub struct PolicyLine<'a>(pub &'a Policy);

impl fmt::Display for PolicyLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.effect, self.0.permission)?;
        match &self.0.conditions {
            Some(condition) => write!(f, " where {}", Described(condition)),
            None => Ok(()),
        }
    }
}

/// Every change from `old` to `new`: the default role first, then the
/// roles in `new`'s order, then the roles `new` no longer has.
pub fn summary(old: &PolicyDocument, new: &PolicyDocument) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.default_role != new.default_role {
        changes.push(Change::DefaultRole {
            from: old.default_role.clone(),
            to: new.default_role.clone(),
        });
    }
    let find = |doc: &'_ PolicyDocument, name: &str| doc.roles.iter().position(|r| r.name == name);
    let removed: Vec<&Role> = old
        .roles
        .iter()
        .filter(|r| find(new, &r.name).is_none())
        .collect();
    let mut renamed_from = Vec::new();
    for role in &new.roles {
        match find(old, &role.name) {
            Some(i) => {
                let details = role_details(&old.roles[i], role);
                if !details.is_empty() {
                    changes.push(Change::Changed {
                        role: role.name.clone(),
                        details,
                    });
                }
            }
            None => match removed
                .iter()
                .find(|r| same_but_name(r, role) && !renamed_from.contains(&r.name))
            {
                Some(before) => {
                    renamed_from.push(before.name.clone());
                    changes.push(Change::Renamed {
                        from: before.name.clone(),
                        to: role.name.clone(),
                    });
                }
                None => changes.push(Change::Added(role.name.clone())),
            },
        }
    }
    changes.extend(
        removed
            .iter()
            .filter(|r| !renamed_from.contains(&r.name))
            .map(|r| Change::Removed(r.name.clone())),
    );
    changes
}

fn same_but_name(a: &Role, b: &Role) -> bool {
    a.description == b.description && a.members == b.members && a.policies == b.policies
}

fn role_details(old: &Role, new: &Role) -> Vec<String> {
    let mut details = Vec::new();
    if old.description != new.description {
        details.push("description changed".to_owned());
    }
    let missing_from = |list: &[String], other: &[String]| -> Vec<String> {
        list.iter()
            .filter(|m| !other.contains(m))
            .cloned()
            .collect()
    };
    let joined = missing_from(&new.members, &old.members);
    let left = missing_from(&old.members, &new.members);
    if !joined.is_empty() {
        details.push(format!("members added: {}", joined.join(", ")));
    }
    if !left.is_empty() {
        details.push(format!("members removed: {}", left.join(", ")));
    }
    details.extend(policy_details(&old.policies, &new.policies));
    details
}

/// Policies added, removed and changed, matched by a diff of the lists so
/// that one policy inserted in the middle is one addition.
fn policy_details(old: &[Policy], new: &[Policy]) -> Vec<String> {
    let key = |p: &Policy| serde_norway::to_string(p).unwrap_or_default();
    let old_keys: Vec<String> = old.iter().map(key).collect();
    let new_keys: Vec<String> = new.iter().map(key).collect();
    let mut details = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, &old_keys, &new_keys) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for p in &old[old_index..old_index + old_len] {
                    details.push(format!("policy removed: {}", PolicyLine(p)));
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for (i, p) in new[new_index..new_index + new_len].iter().enumerate() {
                    details.push(format!("policy {} added: {}", new_index + i, PolicyLine(p)));
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let paired = old_len.min(new_len);
                for i in 0..paired {
                    details.push(format!(
                        "policy {} changed: {} → {}",
                        new_index + i,
                        PolicyLine(&old[old_index + i]),
                        PolicyLine(&new[new_index + i])
                    ));
                }
                for p in &old[old_index + paired..old_index + old_len] {
                    details.push(format!("policy removed: {}", PolicyLine(p)));
                }
                for i in paired..new_len {
                    details.push(format!(
                        "policy {} added: {}",
                        new_index + i,
                        PolicyLine(&new[new_index + i])
                    ));
                }
            }
        }
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::Edits;
    use greenroom_model::policy::{Effect, Policy};

    const GUIDE_EXPORTED: &str = include_str!("../tests/fixtures/operator-guide.exported.yaml");

    fn guide() -> PolicyDocument {
        PolicyDocument::parse_yaml(GUIDE_EXPORTED, "document").expect("reads")
    }

    fn allow(permission: &str) -> Policy {
        Policy {
            permission: permission.into(),
            effect: Effect::Allow,
            conditions: None,
        }
    }

    #[test]
    fn the_same_document_has_no_changes_and_an_empty_diff() {
        assert_eq!(summary(&guide(), &guide()), vec![]);
        assert_eq!(line_diff(GUIDE_EXPORTED, GUIDE_EXPORTED, "a", "b"), "");
    }

    #[test]
    fn the_line_diff_shows_a_removed_member_with_context() {
        let mut draft = guide();
        draft
            .remove_member("platform-admins", "group:default/platform")
            .expect("a member");
        let diff = line_diff(GUIDE_EXPORTED, &draft.to_yaml(), "published", "draft");
        assert_eq!(
            diff,
            "--- published\n+++ draft\n@@ -30,8 +30,7 @@\n           kinds:\n           - api\n - name: platform-admins\n-  members:\n-  - group:default/platform\n+  members: []\n   policies:\n   - permission: '*'\n     effect: allow\n"
        );
    }

    #[test]
    fn summarises_each_role_added_removed_or_changed() {
        let mut draft = guide();
        draft.add_role("auditors", "").expect("new");
        draft.remove_role("viewer").expect("exists");
        draft
            .add_member("payments", "user:default/ann")
            .expect("new");
        draft
            .remove_member("payments", "group:default/payments")
            .expect("a member");
        draft
            .add_policy("platform-admins", allow("audit.read"))
            .expect("exists");
        assert_eq!(
            summary(&guide(), &draft),
            vec![
                Change::DefaultRole {
                    from: Some("viewer".into()),
                    to: None
                },
                Change::Changed {
                    role: "payments".into(),
                    details: vec![
                        "members added: user:default/ann".into(),
                        "members removed: group:default/payments".into(),
                    ]
                },
                Change::Changed {
                    role: "platform-admins".into(),
                    details: vec!["policy 1 added: allow audit.read".into()]
                },
                Change::Added("auditors".into()),
                Change::Removed("viewer".into()),
            ]
        );
    }

    #[test]
    fn a_role_renamed_and_otherwise_unchanged_is_a_rename() {
        let mut draft = guide();
        draft
            .update_role("payments", "payments-team", "")
            .expect("renames");
        assert_eq!(
            summary(&guide(), &draft),
            vec![Change::Renamed {
                from: "payments".into(),
                to: "payments-team".into()
            }]
        );
    }

    #[test]
    fn a_changed_policy_is_shown_before_and_after() {
        let mut draft = guide();
        draft.policy_mut("viewer", 0).expect("exists").conditions = None;
        let changes = summary(&guide(), &draft);
        assert_eq!(
            changes[0].to_string(),
            "role `viewer`: policy 0 changed: allow catalog.entity.read where not (has annotation acme.com/restricted) → allow catalog.entity.read"
        );
    }
}
