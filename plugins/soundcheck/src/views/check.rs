//! One check's page, `/plugins/soundcheck/checks/<id>`, linked from "Worst
//! checks": what it asks, how to fix it, and the entities failing it at the
//! last full evaluation, listed only as far as the viewer may see them.

use super::{check_name, entity_cell, team_label, when};
use crate::config::{CheckKind, Config};
use crate::entity::Subject;
use crate::history::FailingEntities;
use crate::keys;
use crate::source::EntitySource;
use crate::store::Store;
use greenroom_sdk::view::*;
use greenroom_sdk::{Context, Result};

/// The most failing entities one page shows. Each is looked up in the
/// catalog as the viewer (so a hidden one is left out), one call each
/// within the render deadline.
const SHOWN: usize = 100;

/// The page of check `id`.
pub fn check_page(
    store: &dyn Store,
    source: &dyn EntitySource,
    config: &Config,
    id: &str,
    cx: &Context,
) -> Result<View> {
    let Some(check) = config.check(id) else {
        return Ok(empty(
            format!("No check `{id}`"),
            "It may have been removed, or set aside for a problem in the configuration.",
        )
        .into());
    };
    let mut about = card(check_name(config, id)).child(link("Tech health", cx.link_to("")));
    if !check.description.is_empty() {
        about = about.subtitle(check.description.clone());
    }
    let decided = match check.kind {
        CheckKind::Manual { .. } => "Recorded by each entity's owners.",
        CheckKind::External => "Reported by another system.",
        _ => "Decided by a rule over collected facts.",
    };
    about = about.child(text(decided).muted());
    if !check.how_to_fix.is_empty() {
        about = about
            .child(heading_level(3, "How to fix"))
            .child(markdown(check.how_to_fix.clone()));
    }
    let failing: Option<FailingEntities> = store.get_json(&keys::failing(id))?;
    let page = column().child(about);
    let Some(failing) = failing else {
        return Ok(page
            .child(empty(
                "Not evaluated yet",
                "The entities failing this check are listed after the next full evaluation.",
            ))
            .into());
    };
    Ok(page.child(failing_card(source, &failing)?).into())
}

fn failing_card(source: &dyn EntitySource, failing: &FailingEntities) -> Result<El> {
    let title = format!("Failing on {} entities", failing.total);
    let subtitle = format!("At the evaluation of {}", when(failing.at_ms));
    if failing.total == 0 {
        return Ok(card(title)
            .subtitle(subtitle)
            .child(text("Every entity it applies to passes.").tone(Tone::Success))
            .into());
    }
    let mut table = table(["Entity", "Team"]);
    let mut shown = 0;
    for entity_ref in failing.entities.iter().take(SHOWN) {
        // The catalog answers as the viewer: an entity they may not see is
        // not found, and not listed.
        let Some(entity) = source.get(entity_ref)? else {
            continue;
        };
        let team = team_label(Subject::of(&entity).team());
        table = table.row([entity_cell(entity_ref), Cell::from(team)]);
        shown += 1;
    }
    let mut card = card(title).subtitle(subtitle).child(table);
    let left_out = failing.total as usize - shown;
    if left_out > 0 {
        card = card.child(
            text(format!(
                "{left_out} more not listed: past the first {SHOWN}, or not visible to you."
            ))
            .muted(),
        );
    }
    Ok(card.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Listed, entity};
    use serde_json::json;

    fn component(name: &str, owner: &str) -> greenroom_sdk::Entity {
        entity(json!({
            "kind": "Component",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"owner": owner}
        }))
    }

    #[test]
    fn lists_only_the_failing_entities_the_viewer_can_see() {
        // The viewer's catalog holds `pay` but not `secret`.
        let visible = Listed(vec![component("pay", "team-a")]);
        let failing = FailingEntities {
            at_ms: 1,
            total: 2,
            entities: vec![
                "component:default/pay".into(),
                "component:default/secret".into(),
            ],
        };
        let card = format!("{:?}", failing_card(&visible, &failing).unwrap());
        assert!(card.contains("Failing on 2 entities"), "{card}");
        assert!(card.contains("pay"), "{card}");
        assert!(
            !card.contains("secret"),
            "a hidden entity is not named: {card}"
        );
        assert!(card.contains("1 more not listed"), "{card}");
    }
}
