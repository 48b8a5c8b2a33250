//! Hostile test plugin: writes a Component (the kind it requests), a Group
//! (a kind it never requested) and reads the catalog (which it never
//! requested), and draws how each went.
use greenroom_sdk::prelude::*;

struct CatalogHostile;

fn entity(kind: &str, name: &str, spec: &str) -> String {
    format!(
        r#"{{"apiVersion":"backstage.io/v1alpha1","kind":"{kind}","metadata":{{"name":"{name}"}},"spec":{spec}}}"#
    )
}

fn outcome<T>(result: Result<T>) -> String {
    match result {
        Ok(_) => "written".to_owned(),
        Err(error) => format!("refused ({error})"),
    }
}

impl Plugin for CatalogHostile {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        let component = outcome(catalog::upsert(&[entity(
            "Component",
            "planted",
            r#"{"type":"service","lifecycle":"production","owner":"team-a"}"#,
        )]));
        let group = outcome(catalog::upsert(&[entity(
            "Group",
            "admins",
            r#"{"type":"team","children":[]}"#,
        )]));
        let read = match catalog::get("component:default/planted") {
            Ok(found) => format!("read ({})", found.is_some()),
            Err(error) => format!("refused ({error})"),
        };
        Ok(column()
            .child(text(format!("write Component: {component}")))
            .child(text(format!("write Group: {group}")))
            .child(text(format!("read: {read}")))
            .into())
    }
}

greenroom_sdk::export!(CatalogHostile);
