//! The permissions a policy may name, as the pages offer them: the host's
//! first, then each plugin's, with the families (`catalog.*`, `*`) a policy
//! may name instead of one permission.

use greenroom_sdk::rbac::Permission;

/// Whether `pattern` (exact, `prefix.*` or `*`) names `permission`: the
/// host's rule, from the shared model.
pub use greenroom_model::policy::permission_matches as matches;

/// Whether a policy on `pattern` may carry conditions: every permission it
/// names is about one entity. Unknown patterns take none (the host refuses
/// them anyway).
pub fn takes_conditions(pattern: &str, known: &[Permission]) -> bool {
    let mut named = known
        .iter()
        .filter(|p| matches(pattern, &p.name))
        .peekable();
    named.peek().is_some() && named.all(|p| p.on_entities)
}

/// Where a permission comes from: `host`, or a plugin's id.
fn origin(permission: &Permission) -> &str {
    permission.plugin.as_deref().unwrap_or("host")
}

/// `(value, label)` choices for a select: for each origin, the host first,
/// its families (when `families`) and then its permissions, each labelled
/// with where it comes from and what it lets a user do. `current` is kept
/// as a choice even when no longer known, so a select shows what the
/// policy says.
pub fn choices(
    known: &[Permission],
    families: bool,
    current: Option<&str>,
) -> Vec<(String, String)> {
    let mut sorted: Vec<&Permission> = known.iter().collect();
    sorted.sort_by(|a, b| {
        (a.plugin.is_some(), origin(a), &a.name).cmp(&(b.plugin.is_some(), origin(b), &b.name))
    });
    let mut out: Vec<(String, String)> = Vec::new();
    if families && !sorted.is_empty() {
        out.push((
            "*".to_owned(),
            format!("All · * — every permission ({})", sorted.len()),
        ));
    }
    let mut last_origin: Option<&str> = None;
    for permission in &sorted {
        let from = origin(permission);
        if families && last_origin != Some(from) {
            out.extend(families_of(from, &sorted));
        }
        last_origin = Some(from);
        let label = match &permission.plugin {
            None => "Host",
            Some(_) => "Plugin",
        };
        let from_plugin = permission
            .plugin
            .as_deref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        out.push((
            permission.name.clone(),
            format!(
                "{label}{from_plugin} · {} — {}",
                permission.name, permission.description
            ),
        ));
    }
    if let Some(current) = current
        && !out.iter().any(|(value, _)| value == current)
    {
        out.push((
            current.to_owned(),
            format!("{current} (not a known permission)"),
        ));
    }
    out
}

/// The families the permissions of `origin` form: every dotted prefix
/// shared by more than one of them (`catalog.*`, `catalog.entity.*`),
/// with how many it names.
fn families_of(origin_name: &str, sorted: &[&Permission]) -> Vec<(String, String)> {
    let names: Vec<&str> = sorted
        .iter()
        .filter(|p| origin(p) == origin_name)
        .map(|p| p.name.as_str())
        .collect();
    let mut prefixes: Vec<&str> = names
        .iter()
        .flat_map(|name| name.match_indices('.').map(move |(i, _)| &name[..i]))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    prefixes
        .into_iter()
        .filter_map(|prefix| {
            let pattern = format!("{prefix}.*");
            let count = names.iter().filter(|n| matches(&pattern, n)).count();
            (count > 1).then(|| {
                let label = if origin_name == "host" {
                    "Host".to_owned()
                } else {
                    format!("Plugin {origin_name}")
                };
                (
                    pattern.clone(),
                    format!("{label} · {pattern} — every {prefix} permission ({count})"),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(name: &str, plugin: Option<&str>, on_entities: bool) -> Permission {
        Permission {
            name: name.into(),
            description: format!("about {name}"),
            plugin: plugin.map(str::to_owned),
            on_entities,
        }
    }

    fn known() -> Vec<Permission> {
        vec![
            permission("soundcheck.manual-check", Some("soundcheck"), true),
            permission("catalog.entity.read", None, true),
            permission("catalog.entity.delete", None, true),
            permission("catalog.location.read", None, false),
            permission("rbac.admin", None, false),
        ]
    }

    #[test]
    fn matches_exact_names_prefixes_and_everything() {
        assert!(matches("*", "rbac.admin"));
        assert!(matches("catalog.*", "catalog.entity.read"));
        assert!(matches("catalog.entity.*", "catalog.entity.read"));
        assert!(!matches("catalog.ent.*", "catalog.entity.read"));
        assert!(!matches("catalog.entity.read", "catalog.entity.reads"));
    }

    #[test]
    fn only_permissions_on_entities_take_conditions() {
        let known = known();
        assert!(takes_conditions("catalog.entity.read", &known));
        assert!(takes_conditions("catalog.entity.*", &known));
        assert!(takes_conditions("soundcheck.manual-check", &known));
        assert!(!takes_conditions("catalog.*", &known));
        assert!(!takes_conditions("*", &known));
        assert!(!takes_conditions("rbac.admin", &known));
        assert!(!takes_conditions("nothing.here", &known));
    }

    #[test]
    fn offers_the_host_first_then_each_plugin_with_their_families() {
        let values: Vec<String> = choices(&known(), true, None)
            .into_iter()
            .map(|(value, _)| value)
            .collect();
        assert_eq!(
            values,
            [
                "*",
                "catalog.*",
                "catalog.entity.*",
                "catalog.entity.delete",
                "catalog.entity.read",
                "catalog.location.read",
                "rbac.admin",
                "soundcheck.manual-check",
            ]
        );
    }

    #[test]
    fn labels_say_where_a_permission_comes_from_and_what_it_does() {
        let labels: Vec<String> = choices(&known(), false, Some("gone.plugin"))
            .into_iter()
            .map(|(_, label)| label)
            .collect();
        assert_eq!(
            labels[0],
            "Host · catalog.entity.delete — about catalog.entity.delete"
        );
        assert_eq!(
            labels[4],
            "Plugin soundcheck · soundcheck.manual-check — about soundcheck.manual-check"
        );
        assert_eq!(labels[5], "gone.plugin (not a known permission)");
    }
}
