//! The document every page shows and every edit changes: the draft, or a
//! copy of the published version when there is no draft (the first edit
//! makes it the draft), or an empty policy when nothing was ever published.
//!
//! Nothing is kept in the plugin: each call reads the host's draft again,
//! and each edit saves the whole document back as the draft, where the host
//! checks all of it.

use crate::diff::{self, Change};
use greenroom_model::PolicyDocument;
use greenroom_sdk::rbac::{self, PolicyVersion, Problem};
use greenroom_sdk::{Error, FieldError, FormData, Outcome, Result};

/// A hidden field on every editing form: the revision the page was drawn
/// from. Forms name roles by name and policies by position, so an edit made
/// meanwhile by someone else could make them point elsewhere; such a form is
/// refused rather than applied to the wrong thing.
pub const REVISION_FIELD: &str = "revision";

/// An action's answer when it stops early: the outcome to return.
pub type Step<T> = core::result::Result<T, Outcome>;

/// The draft and the published version, and the document to edit.
pub struct Working {
    /// The draft, if one is being edited.
    pub draft: Option<PolicyVersion>,
    /// The version in force, if one was ever published.
    pub published: Option<PolicyVersion>,
    /// The draft's document, else the published one, else an empty one.
    pub document: PolicyDocument,
}

impl Working {
    /// Reads the draft and the published version from the host.
    pub fn load() -> Result<Working> {
        let draft = rbac::draft()?;
        let published = rbac::published()?;
        let document = match draft.as_ref().or(published.as_ref()) {
            Some(version) => parse(&version.document)?,
            None => PolicyDocument::default(),
        };
        Ok(Working {
            draft,
            published,
            document,
        })
    }

    /// What the document is, as a short fingerprint of its text: it
    /// changes with every save that changes anything. (The draft's id does
    /// not: the host keeps one draft and replaces its document.)
    pub fn revision(&self) -> String {
        let source = self.draft.as_ref().or(self.published.as_ref());
        fingerprint(source.map_or("", |v| v.document.as_str()))
    }

    /// The document in force (an empty one when nothing was published).
    pub fn published_document(&self) -> Result<PolicyDocument> {
        self.published
            .as_ref()
            .map_or_else(|| Ok(PolicyDocument::default()), |v| parse(&v.document))
    }

    /// What the draft changes; nothing without a draft.
    pub fn changes(&self) -> Result<Vec<Change>> {
        if self.draft.is_none() {
            return Ok(Vec::new());
        }
        Ok(diff::summary(&self.published_document()?, &self.document))
    }
}

/// 64-bit FNV-1a of `text`, in hex: enough to tell two versions of one
/// document apart, which is all a revision is for.
fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Reads a document the host wrote.
pub fn parse(yaml: &str) -> Result<PolicyDocument> {
    PolicyDocument::parse_yaml(yaml, "the host's document").map_err(|e| {
        Error::failed(format!(
            "the host's policy document does not read as this plugin expects ({e}); \
             the RBAC plugin may be older than the host"
        ))
    })
}

/// The host's problems as errors next to `field`, each with its path.
pub fn invalid(field: &str, problems: &[Problem]) -> Outcome {
    Outcome::Invalid(
        problems
            .iter()
            .map(|p| FieldError {
                field: field.to_owned(),
                message: if p.path.is_empty() {
                    p.message.clone()
                } else {
                    format!("{}: {}", p.path, p.message)
                },
            })
            .collect(),
    )
}

/// Saves `yaml` as the draft; its problems, next to `field`, when the host
/// finds any (then nothing was saved).
pub fn save_yaml(yaml: &str, field: &str) -> Result<Step<u64>> {
    Ok(rbac::save_draft(yaml)?.map_err(|problems| invalid(field, &problems)))
}

/// Reads the working document, checks the form was drawn from it, applies
/// `edit` and saves the result as the draft. Problems the host finds are
/// shown next to `field`.
pub fn edit<T>(
    form: &FormData,
    field: &str,
    edit: impl FnOnce(&mut PolicyDocument) -> Step<T>,
) -> Result<Step<T>> {
    let mut working = Working::load()?;
    if form
        .get(REVISION_FIELD)
        .is_some_and(|drawn_from| drawn_from != working.revision())
    {
        return Ok(Err(Outcome::done(
            "Nothing was saved: the draft changed after this page was drawn (someone else \
             edited it). This is the draft as it is now; make your change again.",
        )));
    }
    let value = match edit(&mut working.document) {
        Ok(value) => value,
        Err(outcome) => return Ok(Err(outcome)),
    };
    Ok(save_yaml(&working.document.to_yaml(), field)?.map(|_| value))
}

/// `outcome`, with refusals as a notice instead of errors next to fields:
/// for forms drawn once per row (the portal would fill each such form with
/// the submitted values) and forms without a field to show errors by.
pub fn as_notice(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Invalid(errors) => Outcome::done(format!(
            "Nothing was changed: {}",
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tells_documents_apart() {
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("version: 1\n"), fingerprint("version: 1\n"));
        assert_ne!(fingerprint("roles: []\n"), fingerprint("roles: [] \n"));
    }
}
