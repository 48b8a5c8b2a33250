//! The page and its sub-pages, the forms' actions, and the JSON API.
//!
//! Each module draws one sub-page and handles the forms drawn on it. What
//! they share is here: the routes, the navigation, the draft banner, and
//! what a refusal looks like.

mod changes;
mod history;
mod policy;
mod roles;
mod tester;
mod yaml;

use crate::diff::Change;
use crate::draft::{REVISION_FIELD, Working};
use crate::format::{encode, when};
use greenroom_sdk::HostError;
use greenroom_sdk::prelude::*;

/// A sub-page of `/plugins/rbac`, from `context.path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `` — every role, with the draft's state.
    Roles,
    /// `roles/<name>` — one role: members, policies, rename, delete.
    Role(String),
    /// `roles/<name>/policies/<index>` — one policy and its conditions.
    Policy(String, usize),
    /// `changes` — the draft against the published version; publish or
    /// discard.
    Changes,
    /// `history` — every published version.
    History,
    /// `history/<id>` — one version, compared with the one in force.
    Version(u64),
    /// `yaml` — export and import.
    Yaml,
    /// `tester` — may user X do P on entity E, and which rule decides?
    Tester,
}

impl Route {
    /// The route for a sub-path; `None` for one that does not exist. Role
    /// names may hold `/`, so a policy's path is read from its end.
    pub fn parse(path: &str) -> Option<Route> {
        let path = path.trim_matches('/');
        Some(match path {
            "" => Route::Roles,
            "changes" => Route::Changes,
            "history" => Route::History,
            "yaml" => Route::Yaml,
            "tester" => Route::Tester,
            _ => {
                if let Some(id) = path.strip_prefix("history/") {
                    return id.parse().ok().map(Route::Version);
                }
                let role = path.strip_prefix("roles/")?;
                if let Some((name, index)) = role.rsplit_once("/policies/")
                    && let Ok(index) = index.parse()
                {
                    return (!name.is_empty()).then(|| Route::Policy(name.to_owned(), index));
                }
                if role.is_empty() {
                    return None;
                }
                Route::Role(role.to_owned())
            }
        })
    }

    /// The sub-path, for `context.link_to`.
    pub fn path(&self) -> String {
        match self {
            Route::Roles => String::new(),
            Route::Role(name) => format!("roles/{}", encode(name)),
            Route::Policy(name, index) => format!("roles/{}/policies/{index}", encode(name)),
            Route::Changes => "changes".to_owned(),
            Route::History => "history".to_owned(),
            Route::Version(id) => format!("history/{id}"),
            Route::Yaml => "yaml".to_owned(),
            Route::Tester => "tester".to_owned(),
        }
    }

    /// The portal path of the sub-page.
    pub fn link(&self, cx: &Context) -> String {
        cx.link_to(&self.path())
    }

    /// Which tab of the navigation it belongs to.
    fn section(&self) -> usize {
        match self {
            Route::Roles | Route::Role(_) | Route::Policy(..) => 0,
            Route::Changes => 1,
            Route::History | Route::Version(_) => 2,
            Route::Yaml => 3,
            Route::Tester => 4,
        }
    }
}

/// Draws the sub-page `cx.path` names.
pub fn render(cx: &Context) -> Result<View> {
    let Some(route) = Route::parse(&cx.path) else {
        return Ok(column()
            .child(navigation(cx, None))
            .child(empty(
                "No such page",
                format!("The RBAC plugin has no page `{}`.", cx.path),
            ))
            .into());
    };
    let page = Working::load().and_then(|working| match &route {
        Route::Roles => roles::overview(cx, &working),
        Route::Role(name) => roles::role(cx, &working, name),
        Route::Policy(name, index) => policy::page(cx, &working, name, *index),
        Route::Changes => changes::page(cx, &working),
        Route::History => history::list(cx, &working),
        Route::Version(id) => history::version(cx, &working, *id),
        Route::Yaml => yaml::page(cx, &working),
        Route::Tester => tester::page(cx, &working),
    });
    match page {
        Ok(page) => Ok(column()
            .child(navigation(cx, Some(&route)))
            .child(page)
            .into()),
        Err(Error::Host(error)) => match refusal(&error) {
            Some(state) => Ok(state.into()),
            None => Err(Error::Host(error)),
        },
        Err(error) => Err(error),
    }
}

/// Handles the form `name`.
pub fn act(name: &str, form: &FormData, cx: &Context) -> Result<Outcome> {
    let outcome = match name {
        "create-role" => roles::create(form, cx),
        "edit-role" => roles::update(form, cx),
        "delete-role" => roles::delete(form, cx),
        "set-default-role" => roles::set_default(form),
        "add-member" => roles::add_member(form),
        "remove-member" => roles::remove_member(form),
        "add-policy" => policy::add(form, cx),
        "edit-policy" => policy::update(form),
        "remove-policy" => policy::remove(form, cx),
        "add-condition" => policy::add_condition(form),
        "remove-condition" => policy::remove_condition(form),
        "combine-conditions" => policy::combine(form),
        "save-conditions" => policy::save_conditions(form),
        "publish" => changes::publish(form),
        "discard-draft" => changes::discard(form),
        "revert" => history::revert(form),
        "save-document" => yaml::save(form),
        "test-decision" => tester::test(form, cx),
        _ => {
            return Err(Error::unsupported(format!(
                "the RBAC plugin has no action `{name}`"
            )));
        }
    };
    match outcome {
        Err(Error::Host(error)) if error.is_denied() || error.is_unavailable() => {
            let why = refusal_title(&error);
            Ok(Outcome::done(format!("Nothing was changed: {why}")))
        }
        other => other,
    }
}

/// Answers `/api/plugins/rbac/<path>`.
pub fn api(request: &Request) -> Result<Response> {
    match (request.method, request.path.as_str()) {
        (Method::Get, "export") => yaml::export(request),
        _ => Ok(Response::json(
            404,
            &error_body(&format!(
                "no route {}; the RBAC plugin answers GET export",
                request.path
            )),
        )),
    }
}

/// `{"error": message}`, without a JSON library of our own.
fn error_body(message: &str) -> std::collections::BTreeMap<&'static str, String> {
    std::collections::BTreeMap::from([("error", message.to_owned())])
}

/// What a refusal means for the person looking, or `None` for an error
/// that is not a refusal.
fn refusal_title(error: &HostError) -> &'static str {
    match error {
        HostError::Denied(reason) if reason.starts_with("capability ") => {
            "the RBAC plugin was not granted rbac:admin by the operator."
        }
        HostError::Denied(_) => "you need the rbac.admin permission.",
        _ => "this portal does not keep its policy in its database, so it cannot be edited here.",
    }
}

/// The whole page for a refused user: one explanation, no errors.
fn refusal(error: &HostError) -> Option<El> {
    let (title, description) = match error {
        HostError::Denied(reason) if reason.starts_with("capability ") => (
            "The RBAC plugin may not manage roles",
            format!(
                "The operator has not granted it `rbac:admin`, so roles and policies cannot be \
                 edited here. ({reason})"
            ),
        ),
        HostError::Denied(reason) => (
            "You need the rbac.admin permission",
            format!(
                "Roles and permissions are managed by people who hold `rbac.admin`. Ask one of \
                 them to add you to a role that allows it. ({reason})"
            ),
        ),
        HostError::Unavailable(reason) => (
            "Roles are not managed here",
            format!(
                "This portal's policy is fixed in its configuration, not kept in its database. \
                 ({reason})"
            ),
        ),
        _ => return None,
    };
    Some(empty(title, description))
}

/// The links between sub-pages; the current one is not a link.
fn navigation(cx: &Context, current: Option<&Route>) -> El {
    let sections = [
        ("Roles", Route::Roles),
        ("Changes", Route::Changes),
        ("History", Route::History),
        ("Import & export", Route::Yaml),
        ("Decision tester", Route::Tester),
    ];
    let current = current.map(Route::section);
    sections.into_iter().fold(row(), |nav, (label, route)| {
        if Some(route.section()) == current {
            nav.child(text(label).strong())
        } else {
            nav.child(link(label, route.link(cx)))
        }
    })
}

/// Where the draft stands: "Draft with N changes — Publish / Discard", or
/// what is in force when there is no draft.
fn banner(cx: &Context, working: &Working) -> Result<El> {
    let Some(draft) = &working.draft else {
        let state = match &working.published {
            Some(published) => format!(
                "No draft: what you see is in force (version {}, published {} by {}). Any \
                 change starts a draft, which is in force only once it is published.",
                published.id,
                when(published.saved_at),
                published.author
            ),
            None => "Nothing has been published yet: until something is, only the bootstrap \
                     admins of the configuration may do anything. Any change starts a draft."
                .to_owned(),
        };
        return Ok(text(state).muted().into());
    };
    let title = match working.changes()?.len() {
        0 => "Draft with no changes".to_owned(),
        n => format!("Draft with {}", count(n, "change", "changes")),
    };
    Ok(card(title)
        .subtitle(format!(
            "saved {} by {}; not in force until it is published",
            when(draft.saved_at),
            draft.author
        ))
        .child(
            row()
                .child(badge("draft", Tone::Warning))
                .child(link("Publish", Route::Changes.link(cx)))
                .child(link("Discard", Route::Changes.link(cx))),
        )
        .into())
}

/// `1 role`, `3 roles`.
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The changes from one version to another, one item per role with what
/// changed in it below; `none` when there are none.
fn change_list(changes: &[Change], none: &str) -> El {
    if changes.is_empty() {
        return text(none).muted().into();
    }
    changes
        .iter()
        .fold(bullet_list(), |list, change| match change {
            Change::Changed { role, details } => list.child(
                column()
                    .child(text(format!("role `{role}` changed:")))
                    .child(
                        details
                            .iter()
                            .fold(bullet_list(), |inner, detail| inner.child(text(detail))),
                    ),
            ),
            other => list.child(text(other.to_string())),
        })
}

/// A hidden field.
fn hidden(name: &str, value: impl Into<String>) -> Field {
    Field::new(FieldKind::Hidden, name, "").value(value)
}

/// A form that edits the draft: it carries the revision it was drawn from.
fn edit_form(action: &str, submit: &str, working: &Working) -> Form {
    form(action, submit).field(hidden(REVISION_FIELD, working.revision()))
}

/// A select over owned `(value, label)` pairs.
fn select(name: &str, label: &str, choices: &[(String, String)]) -> Field {
    Field::select(
        name,
        label,
        choices.iter().map(|(v, l)| (v.as_str(), l.as_str())),
    )
}

/// A checkbox.
fn checkbox(name: &str, label: &str) -> Field {
    Field::new(FieldKind::Checkbox, name, label)
}

/// Whether a checkbox was ticked.
fn ticked(form: &FormData, name: &str) -> bool {
    matches!(form.get(name), Some("on" | "true"))
}

/// The catalog page of an entity reference (`kind:namespace/name`).
fn catalog_href(entity_ref: &str) -> Option<String> {
    let (kind, rest) = entity_ref.split_once(':')?;
    let (namespace, name) = rest.split_once('/')?;
    Some(format!(
        "/catalog/{}/{}/{}",
        encode(namespace),
        encode(kind),
        encode(name)
    ))
}

/// The catalog's entities of `kinds` as `(reference, label)` choices, for
/// pickers; `None` when the catalog cannot be read (not granted): then the
/// forms offer a text field alone.
fn catalog_choices(kinds: &[&str], leave_out: &[String]) -> Option<Vec<(String, String)>> {
    let query = catalog::Query {
        filter: vec![vec![catalog::FilterCondition {
            key: "kind".to_owned(),
            values: kinds.iter().map(|k| (*k).to_owned()).collect(),
        }]],
        full_text: None,
        order: None,
        // The host's cap; more users and groups than this are typed in.
        limit: 500,
        cursor: None,
    };
    let page = catalog::query(query).ok()?;
    Some(
        page.items
            .into_iter()
            .filter(|e| !leave_out.iter().any(|m| m.eq_ignore_ascii_case(&e.ref_)))
            .map(|e| {
                let label = match &e.title {
                    Some(title) => format!("{}: {title} ({})", e.kind, e.ref_),
                    None => format!("{}: {}", e.kind, e.ref_),
                };
                (e.ref_, label)
            })
            .collect(),
    )
}

/// An entity reference chosen from a picker (`picked`) or typed
/// (`typed`, which wins), of one of `kinds`, checked against the catalog
/// when it can be read. Refusals name the field to show them next to.
fn chosen_entity(
    form: &FormData,
    picked: &str,
    typed: &str,
    kinds: &[&str],
) -> core::result::Result<Option<String>, Outcome> {
    let typed_value = form.get(typed).map(str::trim).unwrap_or_default();
    let picked_value = form.get(picked).map(str::trim).unwrap_or_default();
    let (field, value) = if typed_value.is_empty() {
        (picked, picked_value)
    } else {
        (typed, typed_value)
    };
    if value.is_empty() {
        return Ok(None);
    }
    let entity_ref = crate::format::entity_ref(value, kinds)
        .map_err(|message| Outcome::invalid(field, message))?;
    match catalog::get(&entity_ref) {
        Ok(Some(_)) => Ok(Some(entity_ref)),
        Ok(None) => Err(Outcome::invalid(
            field,
            format!("`{entity_ref}` is not in the catalog (or you may not see it)."),
        )),
        // The catalog cannot be read: the host checks the reference's form.
        Err(_) => Ok(Some(entity_ref)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_route_from_its_path() {
        for (path, route) in [
            ("", Route::Roles),
            ("changes", Route::Changes),
            ("history", Route::History),
            ("history/12", Route::Version(12)),
            ("yaml", Route::Yaml),
            ("tester", Route::Tester),
            ("roles/viewer", Route::Role("viewer".into())),
            ("roles/viewer/policies/2", Route::Policy("viewer".into(), 2)),
        ] {
            assert_eq!(Route::parse(path), Some(route.clone()), "{path}");
            assert_eq!(Route::parse(&route.path()), Some(route));
        }
    }

    #[test]
    fn a_role_name_may_hold_slashes_and_spaces() {
        // The portal hands over the path decoded.
        assert_eq!(
            Route::parse("roles/team a/b"),
            Some(Route::Role("team a/b".into()))
        );
        assert_eq!(
            Route::parse("roles/team a/b/policies/0"),
            Some(Route::Policy("team a/b".into(), 0))
        );
        assert_eq!(Route::Role("team a/b".into()).path(), "roles/team%20a%2Fb");
        assert_eq!(
            Route::parse("roles/x/policies/first"),
            Some(Route::Role("x/policies/first".into()))
        );
    }

    #[test]
    fn refuses_paths_that_are_no_page() {
        for path in ["roles", "roles/", "history/x", "nope", "roles//policies/1"] {
            assert_eq!(Route::parse(path), None, "{path}");
        }
    }

    #[test]
    fn links_entity_references_to_their_catalog_pages() {
        assert_eq!(
            catalog_href("group:default/payments").as_deref(),
            Some("/catalog/default/group/payments")
        );
        assert_eq!(catalog_href("payments"), None);
    }
}
