//! Deciding: may this user do this, and which rule decided?

use super::store::PolicyStore;
use crate::Identity;
use greenroom_catalog::{EntityRef, Predicate};
use greenroom_model::policy::{
    Condition, Effect, PolicyDocument, RuleName, RuleParams, permission_matches,
};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

/// What a decision allows.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Allowed, whatever the resource.
    Allow,
    /// Refused.
    Deny,
    /// Allowed only for resources where the condition holds.
    Conditional(Cond),
}

/// A condition as decided for one user: the policies' conditions combined
/// (allows OR-ed, denies subtracted), ready to evaluate or to compile to
/// SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Always holds.
    True,
    /// Every one holds.
    All(Vec<Cond>),
    /// At least one holds.
    Any(Vec<Cond>),
    /// It does not hold.
    Not(Box<Cond>),
    /// A rule, its owner claims resolved for the user.
    Rule(RuleName, RuleParams),
}

/// Which rule decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum DecidedBy {
    /// A policy of a role.
    Policy {
        /// The role.
        role: String,
        /// The policy's position in the role (from 0).
        index: usize,
        /// Its permission pattern.
        permission: String,
        /// Its effect.
        effect: Effect,
    },
    /// The user is a bootstrap admin from the configuration.
    BootstrapAdmin,
    /// No policy of the user's roles allows it: default deny.
    DefaultDeny,
}

/// The answer for one user and one permission.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What is allowed.
    pub outcome: Outcome,
    /// Which rule decided (for a conditional outcome, the first policy
    /// with a condition).
    pub decided_by: DecidedBy,
}

impl Decision {
    /// What it lets through of catalog entities, as a filter for SQL.
    pub fn catalog_filter(&self) -> CatalogFilter {
        match &self.outcome {
            Outcome::Allow => CatalogFilter::Everything,
            Outcome::Deny => CatalogFilter::Nothing,
            Outcome::Conditional(cond) => CatalogFilter::Where(cond.predicate()),
        }
    }

    /// Why, in a sentence, for the audit log and the tester.
    pub fn reason(&self, permission: &str) -> String {
        match &self.decided_by {
            DecidedBy::BootstrapAdmin => "a bootstrap admin from the configuration".into(),
            DecidedBy::DefaultDeny => {
                format!("no policy of the user's roles allows {permission} (default deny)")
            }
            DecidedBy::Policy {
                role,
                index,
                permission: pattern,
                effect,
            } => format!("role `{role}`, policy {index} ({effect} {pattern})"),
        }
    }
}

/// What a user may see of a catalog query.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogFilter {
    /// Everything.
    Everything,
    /// Nothing.
    Nothing,
    /// What this predicate matches.
    Where(Predicate),
}

impl CatalogFilter {
    /// The restriction to AND into a query: `None` for everything.
    pub fn restriction(&self) -> Option<Predicate> {
        match self {
            CatalogFilter::Everything => None,
            CatalogFilter::Nothing => Some(Predicate::AnyOf(Vec::new())),
            CatalogFilter::Where(p) => Some(p.clone()),
        }
    }
}

/// A permission policies may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPermission {
    /// E.g. `catalog.entity.read`.
    pub name: String,
    /// What it lets a user do (empty when its plugin did not say).
    pub description: String,
    /// The plugin that declared it; `None` for the host's.
    pub plugin: Option<String>,
    /// Whether policies on it may carry conditions on an entity.
    pub on_entities: bool,
}

/// The policy engine: the published policy, bootstrap admins from the
/// configuration, and the permissions that exist. Cheap to clone.
#[derive(Clone)]
pub struct Rbac {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Rbac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rbac")
            .field("version", &self.current().version)
            .field("bootstrap_admins", &self.inner.bootstrap_admins)
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Option<PolicyStore>,
    bootstrap_admins: Vec<String>,
    current: RwLock<Arc<Current>>,
    /// Declared plugin permissions and what each is for.
    plugin_permissions: RwLock<BTreeMap<String, String>>,
}

struct Current {
    version: Option<i64>,
    document: PolicyDocument,
}

impl Rbac {
    /// The engine over the policy published in `store`; `bootstrap_admins`
    /// (user references) may do everything whatever the policy says.
    pub fn new(
        store: PolicyStore,
        bootstrap_admins: Vec<String>,
    ) -> Result<Rbac, super::RbacError> {
        let rbac = Rbac::build(Some(store), bootstrap_admins, PolicyDocument::default());
        rbac.reload()?;
        Ok(rbac)
    }

    /// An engine with a fixed policy and no store (tests, benchmarks).
    pub fn fixed(document: PolicyDocument, bootstrap_admins: Vec<String>) -> Rbac {
        Rbac::build(None, bootstrap_admins, document)
    }

    fn build(store: Option<PolicyStore>, admins: Vec<String>, document: PolicyDocument) -> Rbac {
        Rbac {
            inner: Arc::new(Inner {
                store,
                bootstrap_admins: admins.iter().map(|a| a.to_lowercase()).collect(),
                current: RwLock::new(Arc::new(Current {
                    version: None,
                    document,
                })),
                plugin_permissions: RwLock::new(BTreeMap::new()),
            }),
        }
    }

    /// The store of policy versions, if there is one.
    pub fn store(&self) -> Option<&PolicyStore> {
        self.inner.store.as_ref()
    }

    /// Reads the published policy again if it changed (another process
    /// imported one). Returns whether it changed.
    pub fn reload(&self) -> Result<bool, super::RbacError> {
        let Some(store) = &self.inner.store else {
            return Ok(false);
        };
        let latest = store.published_id()?;
        if latest == self.current().version {
            return Ok(false);
        }
        let document = match latest {
            Some(id) => store.version(id)?.map(|v| v.document).unwrap_or_default(),
            None => PolicyDocument::default(),
        };
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(Current {
            version: latest,
            document,
        });
        Ok(true)
    }

    /// The published policy in force.
    pub fn document(&self) -> PolicyDocument {
        self.current().document.clone()
    }

    /// Registers the permissions plugins declare, so policies may name them.
    pub fn declare(&self, permissions: impl IntoIterator<Item = String>) {
        self.declare_described(permissions.into_iter().map(|name| (name, String::new())));
    }

    /// [`Rbac::declare`], with what each permission is for.
    pub fn declare_described(&self, permissions: impl IntoIterator<Item = (String, String)>) {
        let mut declared = self
            .inner
            .plugin_permissions
            .write()
            .unwrap_or_else(|p| p.into_inner());
        for (name, description) in permissions {
            let entry = declared.entry(name).or_default();
            if !description.is_empty() {
                *entry = description;
            }
        }
    }

    /// Every permission that exists: the host's and the declared ones.
    pub fn known_permissions(&self) -> BTreeSet<String> {
        self.permissions().into_iter().map(|p| p.name).collect()
    }

    /// Every permission that exists, described: the host's, then the
    /// plugins' by name.
    pub fn permissions(&self) -> Vec<KnownPermission> {
        let mut known: Vec<KnownPermission> = super::HOST_PERMISSIONS
            .iter()
            .map(|p| KnownPermission {
                name: p.name.to_string(),
                description: p.description.to_owned(),
                plugin: None,
                on_entities: p.on_entities(),
            })
            .collect();
        let declared = self
            .inner
            .plugin_permissions
            .read()
            .unwrap_or_else(|p| p.into_inner());
        known.extend(declared.iter().map(|(name, description)| KnownPermission {
            plugin: name.split_once('.').map(|(plugin, _)| plugin.to_owned()),
            name: name.clone(),
            description: description.clone(),
            // A plugin may check its permissions against an entity.
            on_entities: true,
        }));
        known
    }

    fn current(&self) -> Arc<Current> {
        Arc::clone(&self.inner.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// May `user` do `permission` (on what)?
    pub fn decide(&self, user: &Identity, permission: &str) -> Decision {
        decide_with(
            &self.current().document,
            &self.inner.bootstrap_admins,
            user,
            permission,
        )
    }

    /// The decision `document` (say, a draft) would make for `user` and
    /// `permission`, with this engine's bootstrap admins: the policy
    /// tester's "what if".
    pub fn decide_on(
        &self,
        document: &PolicyDocument,
        user: &Identity,
        permission: &str,
    ) -> Decision {
        decide_with(document, &self.inner.bootstrap_admins, user, permission)
    }

    /// Whether `user` may do `permission` with no resource in question (a
    /// conditional allow is not enough).
    pub fn allows(&self, user: &Identity, permission: &str) -> bool {
        self.decide(user, permission).outcome == Outcome::Allow
    }

    /// What `user` may see of catalog entities under `permission`, as a
    /// filter for the catalog's SQL.
    pub fn catalog_filter(&self, user: &Identity, permission: &str) -> CatalogFilter {
        self.decide(user, permission).catalog_filter()
    }

    /// Whether `user` may do `permission` on `entity` (its JSON, with
    /// `relations`), and which rule decided — the policy tester's answer.
    pub fn check_entity(
        &self,
        user: &Identity,
        permission: &str,
        entity: &Value,
    ) -> (bool, Decision) {
        let decision = self.decide(user, permission);
        let allowed = match &decision.outcome {
            Outcome::Allow => true,
            Outcome::Deny => false,
            Outcome::Conditional(cond) => cond.holds(entity),
        };
        (allowed, decision)
    }
}

/// The decision for `user` and `permission` under `document`.
pub fn decide_with(
    document: &PolicyDocument,
    bootstrap_admins: &[String],
    user: &Identity,
    permission: &str,
) -> Decision {
    let me = user.entity_ref.to_lowercase();
    if bootstrap_admins.contains(&me) {
        return Decision {
            outcome: Outcome::Allow,
            decided_by: DecidedBy::BootstrapAdmin,
        };
    }
    let is_principal = |member: &str| {
        let member = normalised(member);
        *member == me || user.groups.iter().any(|g| g.eq_ignore_ascii_case(&member))
    };
    let mut allow_all: Option<DecidedBy> = None;
    let mut allow_when: Vec<(DecidedBy, &Condition)> = Vec::new();
    let mut deny_when: Vec<(DecidedBy, &Condition)> = Vec::new();
    for role in &document.roles {
        let applies = document.default_role.as_deref() == Some(role.name.as_str())
            || role.members.iter().any(|m| is_principal(m));
        if !applies {
            continue;
        }
        for (index, policy) in role.policies.iter().enumerate() {
            if !permission_matches(&policy.permission, permission) {
                continue;
            }
            let by = DecidedBy::Policy {
                role: role.name.clone(),
                index,
                permission: policy.permission.clone(),
                effect: policy.effect,
            };
            match (policy.effect, &policy.conditions) {
                (Effect::Deny, None) => {
                    return Decision {
                        outcome: Outcome::Deny,
                        decided_by: by,
                    };
                }
                (Effect::Deny, Some(c)) => deny_when.push((by, c)),
                (Effect::Allow, None) => {
                    allow_all.get_or_insert(by);
                }
                (Effect::Allow, Some(c)) => allow_when.push((by, c)),
            }
        }
    }
    let claims = || {
        let mut claims = vec![me.clone()];
        claims.extend(user.groups.iter().map(|g| g.to_lowercase()));
        claims
    };
    match allow_all {
        Some(by) if deny_when.is_empty() => Decision {
            outcome: Outcome::Allow,
            decided_by: by,
        },
        None if allow_when.is_empty() => Decision {
            outcome: Outcome::Deny,
            decided_by: DecidedBy::DefaultDeny,
        },
        allow_all => {
            let claims = claims();
            let allowed = if allow_all.is_some() {
                Cond::True
            } else {
                Cond::Any(
                    allow_when
                        .iter()
                        .map(|(_, c)| Cond::of(c, &claims))
                        .collect(),
                )
            };
            let denied: Vec<Cond> = deny_when
                .iter()
                .map(|(_, c)| Cond::of(c, &claims))
                .collect();
            let cond = if denied.is_empty() {
                allowed
            } else {
                Cond::All(vec![allowed, Cond::Not(Box::new(Cond::Any(denied)))])
            };
            let by = allow_when
                .first()
                .or(deny_when.first())
                .map(|(by, _)| by.clone())
                .or(allow_all)
                .unwrap_or(DecidedBy::DefaultDeny);
            Decision {
                outcome: Outcome::Conditional(cond),
                decided_by: by,
            }
        }
    }
}

/// `user:default/jane` from `User:default/Jane` or `user:jane`.
/// [`normalise`], without copying a reference already in its normal
/// form (`kind:namespace/name`, lower case), as policies' members are
/// written: every decision looks at every member of every role.
fn normalised(reference: &str) -> Cow<'_, str> {
    let normal = reference.contains(':')
        && reference.contains('/')
        && !reference
            .chars()
            .any(|c| c.is_uppercase() || c.is_whitespace());
    if normal {
        Cow::Borrowed(reference)
    } else {
        Cow::Owned(normalise(reference))
    }
}

fn normalise(reference: &str) -> String {
    EntityRef::parse(reference, None, "default")
        .map(|r| r.key())
        .unwrap_or_else(|_| reference.to_lowercase())
}

impl Cond {
    /// A policy's condition, owner claims resolved for a user whose own
    /// claims (their reference and groups) are `claims`.
    fn of(condition: &Condition, claims: &[String]) -> Cond {
        if let Some(all) = &condition.all_of {
            return Cond::All(all.iter().map(|c| Cond::of(c, claims)).collect());
        }
        if let Some(any) = &condition.any_of {
            return Cond::Any(any.iter().map(|c| Cond::of(c, claims)).collect());
        }
        if let Some(not) = &condition.not {
            return Cond::Not(Box::new(Cond::of(not, claims)));
        }
        let rule = condition.rule.unwrap_or(RuleName::IsEntityKind);
        let mut params = condition.params.clone().unwrap_or_default();
        if rule == RuleName::IsEntityOwner {
            let owners = params
                .claims
                .as_ref()
                .map(|c| c.iter().map(|c| owner_ref(c)).collect())
                .unwrap_or_else(|| claims.to_vec());
            params.claims = Some(owners);
        }
        Cond::Rule(rule, params)
    }

    /// The catalog predicate this condition compiles to: evaluated in SQL,
    /// so a list of 100 000 entities is filtered in the database.
    pub fn predicate(&self) -> Predicate {
        match self {
            Cond::True => Predicate::AllOf(Vec::new()),
            Cond::All(c) => Predicate::AllOf(c.iter().map(Cond::predicate).collect()),
            Cond::Any(c) => Predicate::AnyOf(c.iter().map(Cond::predicate).collect()),
            Cond::Not(c) => Predicate::Not(Box::new(c.predicate())),
            Cond::Rule(rule, p) => {
                let (key, values) = rule_field(*rule, p);
                Predicate::Field { key, values }
            }
        }
    }

    /// The condition written out for people, e.g. `anyOf(IS_ENTITY_OWNER
    /// {"claims":["group:default/payments"]}, IS_ENTITY_KIND {"kinds":["API"]})`.
    pub fn describe(&self) -> String {
        let list = |name: &str, c: &[Cond]| {
            let parts: Vec<String> = c.iter().map(Cond::describe).collect();
            format!("{name}({})", parts.join(", "))
        };
        match self {
            Cond::True => "always".to_owned(),
            Cond::All(c) => list("allOf", c),
            Cond::Any(c) => list("anyOf", c),
            Cond::Not(c) => format!("not({})", c.describe()),
            Cond::Rule(rule, params) => {
                let name = serde_json::to_value(rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{rule:?}"));
                match serde_json::to_string(params) {
                    Ok(json) if json != "{}" => format!("{name} {json}"),
                    _ => name,
                }
            }
        }
    }

    /// Whether the condition holds on `entity` (JSON with `relations`).
    pub fn holds(&self, entity: &Value) -> bool {
        match self {
            Cond::True => true,
            Cond::All(c) => c.iter().all(|c| c.holds(entity)),
            Cond::Any(c) => c.iter().any(|c| c.holds(entity)),
            Cond::Not(c) => !c.holds(entity),
            Cond::Rule(RuleName::IsEntityOwner, p) => {
                let owners = p.claims.clone().unwrap_or_default();
                entity["relations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| r["type"].as_str() == Some("ownedBy"))
                    .filter_map(|r| r["targetRef"].as_str())
                    .any(|target| owners.iter().any(|o| o.eq_ignore_ascii_case(target)))
            }
            Cond::Rule(rule, p) => {
                let (key, values) = rule_field(*rule, p);
                let found = lookup(entity, &key);
                match found {
                    None => false,
                    Some(_) if values.is_empty() => true,
                    Some(v) => values.iter().any(|want| value_matches(v, want)),
                }
            }
        }
    }
}

/// An owner claim in full reference form (a bare name is a group).
fn owner_ref(claim: &str) -> String {
    EntityRef::parse(claim, Some("group"), "default")
        .map(|r| r.key())
        .unwrap_or_else(|_| claim.to_lowercase())
}

/// The catalog field a rule tests, and the values it accepts (none:
/// exists).
fn rule_field(rule: RuleName, p: &RuleParams) -> (String, Vec<String>) {
    let value = || p.value.clone().into_iter().collect::<Vec<_>>();
    match rule {
        RuleName::IsEntityOwner => (
            "relations.ownedBy".into(),
            p.claims.clone().unwrap_or_default(),
        ),
        RuleName::IsEntityKind => ("kind".into(), p.kinds.clone().unwrap_or_default()),
        RuleName::HasAnnotation => (
            format!(
                "metadata.annotations.{}",
                p.annotation.as_deref().unwrap_or_default()
            ),
            value(),
        ),
        RuleName::HasLabel => (
            format!("metadata.labels.{}", p.label.as_deref().unwrap_or_default()),
            value(),
        ),
        RuleName::HasMetadata => (
            format!("metadata.{}", p.key.as_deref().unwrap_or_default()),
            value(),
        ),
        RuleName::HasSpec => (
            format!("spec.{}", p.key.as_deref().unwrap_or_default()),
            value(),
        ),
    }
}

/// The value at a dotted path, where annotation and label keys may
/// themselves contain dots (`metadata.annotations.backstage.io/x`).
fn lookup<'a>(entity: &'a Value, key: &str) -> Option<&'a Value> {
    for prefix in ["metadata.annotations.", "metadata.labels."] {
        if let Some(name) = key.strip_prefix(prefix) {
            let map = prefix
                .trim_end_matches('.')
                .rsplit('.')
                .next()
                .unwrap_or_default();
            return entity["metadata"][map].get(name).filter(|v| !v.is_null());
        }
    }
    let mut at = entity;
    for part in key.split('.') {
        at = at.get(part)?;
    }
    (!at.is_null()).then_some(at)
}

fn value_matches(found: &Value, want: &str) -> bool {
    match found {
        Value::String(s) => s.eq_ignore_ascii_case(want),
        Value::Array(items) => items.iter().any(|i| value_matches(i, want)),
        Value::Bool(b) => b.to_string() == want.to_lowercase(),
        Value::Number(n) => n.to_string() == want,
        _ => false,
    }
}

#[cfg(test)]
mod normal_form {
    use super::{normalise, normalised};

    #[test]
    fn a_member_is_read_as_its_normal_form_whether_or_not_it_is_copied() {
        for member in [
            "user:default/lucas",
            "user:default/Lucas",
            "group:team-a",
            "group:default/team-a",
            "Group:Default/Team-A",
            "lucas",
            " user:default/lucas",
            "user:default/a/b",
            "user:ns/ünïcode",
            "user:ns/ÜNÏCODE",
        ] {
            assert_eq!(normalised(member), normalise(member), "{member}");
        }
    }
}
