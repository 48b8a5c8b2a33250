use super::*;
use crate::Identity;
use serde_json::json;
use std::collections::BTreeSet;

fn known() -> BTreeSet<String> {
    let mut known: BTreeSet<String> = HOST_PERMISSIONS
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    known.insert("soundcheck.manual-check".into());
    known
}

const POLICY: &str = r#"
version: 1
default-role: viewer
roles:
  - name: viewer
    description: Everyone signed in
    policies:
      - permission: catalog.entity.read
        effect: allow
        conditions:
          not:
            rule: HAS_ANNOTATION
            params: { annotation: greenroom.dev/secret }
  - name: payments-engineers
    members: [group:default/payments]
    policies:
      - permission: catalog.entity.read
        effect: allow
        conditions:
          rule: IS_ENTITY_OWNER
      - permission: soundcheck.manual-check
        effect: allow
        conditions:
          anyOf:
            - rule: IS_ENTITY_OWNER
            - rule: IS_ENTITY_KIND
              params: { kinds: [api] }
  - name: contractors
    members: [user:default/carol]
    policies:
      - permission: catalog.*
        effect: deny
  - name: auditors
    members: [user:default/dana]
    policies:
      - permission: audit.read
        effect: allow
"#;

fn user(name: &str, groups: &[&str]) -> Identity {
    Identity {
        entity_ref: format!("user:default/{name}"),
        display_name: name.into(),
        email: None,
        groups: groups
            .iter()
            .map(|g| format!("group:default/{g}"))
            .collect(),
        guest: false,
    }
}

fn rbac() -> Rbac {
    let document = PolicyDocument::from_yaml(POLICY, "policy.yaml", &known()).expect("valid");
    Rbac::fixed(document, vec!["user:default/root".into()])
}

fn entity(kind: &str, owner: &str, annotations: serde_json::Value) -> serde_json::Value {
    json!({
        "kind": kind,
        "metadata": { "name": "x", "annotations": annotations },
        "relations": [{ "type": "ownedBy", "targetRef": format!("group:default/{owner}") }],
    })
}

#[test]
fn export_then_import_round_trips_exactly() {
    let document = PolicyDocument::from_yaml(POLICY, "policy.yaml", &known()).expect("valid");
    let exported = document.to_yaml();
    let imported = PolicyDocument::from_yaml(&exported, "exported.yaml", &known()).expect("valid");
    assert_eq!(imported, document);
    assert_eq!(
        imported.to_yaml(),
        exported,
        "a second export is byte-identical"
    );
}

#[test]
fn the_export_of_an_empty_policy_imports_back() {
    // What `rbac export` writes before any policy was published.
    let yaml = PolicyDocument::default().to_yaml();
    assert!(yaml.contains("version: 1"), "{yaml}");
    let back = PolicyDocument::from_yaml(&yaml, "empty.yaml", &known()).expect("imports");
    assert_eq!(back, PolicyDocument::default());
}

#[test]
fn import_reports_every_problem_with_where_it_is() {
    let bad = r#"
default-role: nobody
roles:
  - name: a
    members: [component:default/x, "not a ref:"]
    policies:
      - permission: catalog.entity.reed
        effect: allow
      - permission: audit.read
        effect: allow
        conditions: { rule: IS_ENTITY_OWNER }
      - permission: catalog.entity.read
        effect: allow
        conditions: { rule: HAS_LABEL, params: { kinds: [api] } }
  - name: a
"#;
    let Err(PolicyError::Invalid { problems, .. }) =
        PolicyDocument::from_yaml(bad, "bad.yaml", &known())
    else {
        panic!("invalid");
    };
    let all = problems.join("\n");
    for expected in [
        "roles[0] (a).members[0]: `component:default/x` is neither a user nor a group",
        "roles[0] (a).members[1]: `not a ref:` is not an entity reference",
        "roles[0] (a).policies[0]: no permission matches `catalog.entity.reed`",
        "roles[0] (a).policies[1]: `audit.read` is not a permission on catalog entities, so it takes no conditions",
        "roles[0] (a).policies[2].conditions: HAS_LABEL needs params.label",
        "roles[0] (a).policies[2].conditions: HAS_LABEL takes no params.kinds",
        "roles[1] (a): another role has this name",
        "default-role: no role is named `nobody`",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let error =
        PolicyDocument::from_yaml("roles:\n  - name: a\n    colour: red\n", "p.yaml", &known())
            .unwrap_err()
            .to_string();
    assert!(error.starts_with("p.yaml: "), "{error}");
    assert!(
        error.contains("colour") && error.contains("line 3"),
        "{error}"
    );
}

#[test]
fn what_no_policy_allows_is_denied() {
    let decision = rbac().decide(&user("erin", &[]), "rbac.admin");
    assert_eq!(decision.outcome, Outcome::Deny);
    assert_eq!(decision.decided_by, DecidedBy::DefaultDeny);
    assert!(!rbac().allows(&user("erin", &[]), "audit.read"));
    assert!(rbac().allows(&user("dana", &[]), "audit.read"));
}

#[test]
fn bootstrap_admins_may_do_everything() {
    let decision = rbac().decide(&user("root", &[]), "rbac.admin");
    assert_eq!(
        (decision.outcome, decision.decided_by),
        (Outcome::Allow, DecidedBy::BootstrapAdmin)
    );
}

#[test]
fn a_deny_wins_and_names_its_rule() {
    let decision = rbac().decide(&user("carol", &["payments"]), "catalog.entity.read");
    assert_eq!(decision.outcome, Outcome::Deny);
    assert_eq!(
        decision.reason("catalog.entity.read"),
        "role `contractors`, policy 0 (deny catalog.*)"
    );
}

#[test]
fn conditions_combine_across_roles_and_decide_per_entity() {
    let engine = rbac();
    let payments = user("pat", &["payments"]);
    let theirs = entity("Component", "payments", json!({}));
    let others = entity("Component", "search", json!({}));
    let secret_other = entity(
        "Component",
        "search",
        json!({"greenroom.dev/secret": "yes"}),
    );
    let secret_theirs = entity(
        "Component",
        "payments",
        json!({"greenroom.dev/secret": "yes"}),
    );
    assert!(
        engine
            .check_entity(&payments, "catalog.entity.read", &theirs)
            .0
    );
    assert!(
        engine
            .check_entity(&payments, "catalog.entity.read", &others)
            .0,
        "viewer: not secret"
    );
    assert!(
        !engine
            .check_entity(&payments, "catalog.entity.read", &secret_other)
            .0
    );
    assert!(
        engine
            .check_entity(&payments, "catalog.entity.read", &secret_theirs)
            .0,
        "owner"
    );
    let outsider = user("olga", &["search"]);
    assert!(
        !engine
            .check_entity(&outsider, "catalog.entity.read", &secret_theirs)
            .0
    );
    // A plugin's permission, with its own conditions.
    let api = entity("API", "search", json!({}));
    assert!(
        engine
            .check_entity(&payments, "soundcheck.manual-check", &api)
            .0
    );
    assert!(
        !engine
            .check_entity(&payments, "soundcheck.manual-check", &others)
            .0
    );
    assert!(
        !engine
            .check_entity(&outsider, "soundcheck.manual-check", &api)
            .0,
        "not a member"
    );
}

#[test]
fn catalog_conditions_compile_to_a_predicate_for_sql() {
    let filter = rbac().catalog_filter(&user("pat", &["payments"]), "catalog.entity.read");
    let CatalogFilter::Where(predicate) = filter else {
        panic!("conditional: {filter:?}")
    };
    let text = format!("{predicate:?}");
    assert!(
        text.contains("relations.ownedBy") && text.contains("group:default/payments"),
        "{text}"
    );
    assert!(
        text.contains("metadata.annotations.greenroom.dev/secret"),
        "{text}"
    );
    assert_eq!(
        rbac().catalog_filter(&user("carol", &[]), "catalog.entity.read"),
        CatalogFilter::Nothing
    );
    assert_eq!(
        rbac().catalog_filter(&user("root", &[]), "catalog.entity.read"),
        CatalogFilter::Everything
    );
}

#[test]
fn published_versions_are_kept_and_the_engine_follows_the_newest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = greenroom_store::Database::open(&dir.path().join("g.db")).expect("opens");
    let store = PolicyStore::new(db);
    let engine = Rbac::new(store.clone(), Vec::new()).expect("engine");
    assert!(
        !engine.allows(&user("dana", &[]), "audit.read"),
        "no policy yet: default deny"
    );
    let document = PolicyDocument::from_yaml(POLICY, "p.yaml", &known()).expect("valid");
    store
        .save_draft(&document, "user:default/root")
        .expect("draft");
    assert!(
        !engine.reload().expect("reloads"),
        "a draft is not in force"
    );
    let first = store
        .publish(&document, "user:default/root", "first")
        .expect("publishes");
    assert!(engine.reload().expect("reloads"));
    assert!(engine.allows(&user("dana", &[]), "audit.read"));
    assert_eq!(
        store.draft().expect("reads"),
        None,
        "publishing drops the draft"
    );
    let mut second = document.clone();
    second.roles.retain(|r| r.name != "auditors");
    store
        .publish(&second, "user:default/root", "no auditors")
        .expect("publishes");
    engine.reload().expect("reloads");
    assert!(!engine.allows(&user("dana", &[]), "audit.read"));
    let history = store.history().expect("reads");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].id, first);
    assert_eq!(
        history[1].document, document,
        "an old version is kept whole, to revert to"
    );
}
