//! Query parameters as Backstage's catalog reads them: repeatable ones
//! (`filter`, `fields`, `orderField`), single ones, integers, and the
//! `fields` projection.

use super::input_error;
use crate::error::AppError;
use crate::extract::query_pairs;
use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;
use greenroom_catalog::{Predicate, project_fields};
use serde_json::Value;
use std::convert::Infallible;

/// A request's query parameters, in order, repeated ones kept.
pub(super) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Params, Infallible> {
        let RawQuery(query) = RawQuery::from_request_parts(parts, state).await?;
        Ok(Params(query_pairs(query.as_deref())))
    }
}

impl Params {
    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// A parameter given at most once.
    pub fn one(&self, name: &str) -> Result<Option<&str>, AppError> {
        let mut values = self.0.iter().filter(|(key, _)| key == name);
        let first = values.next().map(|(_, value)| value.as_str());
        if values.next().is_some() {
            return Err(input_error(format!(
                "Invalid {name}, not a string: give it once"
            )));
        }
        Ok(first)
    }

    /// A whole number of zero or more, given at most once.
    pub fn count(&self, name: &str) -> Result<Option<usize>, AppError> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        let number: i64 = text
            .parse()
            .map_err(|_| input_error(format!("Invalid {name}, not an integer: \"{text}\"")))?;
        usize::try_from(number)
            .map(Some)
            .map_err(|_| input_error(format!("Invalid {name}, must be zero or greater")))
    }

    /// `true`/`false` (and `yes`/`no`, `1`/`0`, `on`/`off`, as Backstage's
    /// `yn` reads them); anything else is refused rather than taken as
    /// false, so that `dryRun=ture` does not register a location.
    pub fn flag(&self, name: &str) -> Result<bool, AppError> {
        match self.one(name)?.map(str::to_ascii_lowercase).as_deref() {
            None => Ok(false),
            Some("true" | "yes" | "y" | "1" | "on") => Ok(true),
            Some("false" | "no" | "n" | "0" | "off") => Ok(false),
            Some(other) => Err(input_error(format!(
                "Invalid {name} \"{other}\", expected true or false"
            ))),
        }
    }

    /// The repeatable `filter` parameters as one predicate.
    pub fn filter(&self) -> Result<Option<Predicate>, AppError> {
        Predicate::from_filter_params(&self.all("filter")).map_err(input_error)
    }

    /// Every comma-separated item of a repeatable parameter.
    pub fn list(&self, name: &str) -> Vec<String> {
        split_list(&self.all(name))
    }

    /// The `fields` projection, with `extra` fields (a request body's).
    pub fn fields(&self, extra: &[String]) -> Result<Fields, AppError> {
        let mut all = extra.to_vec();
        all.extend(self.all("fields"));
        Fields::parse(&all)
    }
}

/// The comma-separated items of `values`, trimmed, empty ones dropped.
fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Which parts of each entity to return (all when empty).
#[derive(Debug)]
pub(super) struct Fields(Vec<String>);

impl Fields {
    /// Comma-separated dotted paths, from any number of `values`.
    pub fn parse(values: &[String]) -> Result<Fields, AppError> {
        let mut fields: Vec<String> = Vec::new();
        for field in split_list(values) {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        if let Some(field) = fields.iter().find(|f| f.contains('[')) {
            return Err(input_error(format!(
                "Invalid field \"{field}\", array type fields are not supported"
            )));
        }
        Ok(Fields(fields))
    }

    /// The entity with only these fields.
    pub fn project(&self, entity: &Value) -> Value {
        project_fields(entity, &self.0)
    }

    /// Each entity with only these fields.
    pub fn project_all(&self, entities: Vec<Value>) -> Vec<Value> {
        if self.0.is_empty() {
            return entities;
        }
        entities.iter().map(|entity| self.project(entity)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params(query_pairs(Some(query)))
    }

    #[test]
    fn fields_are_comma_separated_repeatable_and_deduplicated() {
        let fields = params("fields=kind,metadata.name&fields=%20kind%20,spec")
            .fields(&["metadata.uid".into()])
            .unwrap();
        assert_eq!(fields.0, ["metadata.uid", "kind", "metadata.name", "spec"]);
    }

    #[test]
    fn array_fields_are_refused_naming_the_field() {
        let error = params("fields=relations[0]").fields(&[]).unwrap_err();
        assert!(format!("{error:?}").contains("relations[0]"), "{error:?}");
    }

    #[test]
    fn counts_must_be_whole_and_not_negative() {
        assert_eq!(params("limit=5").count("limit").unwrap(), Some(5));
        assert_eq!(params("").count("limit").unwrap(), None);
        for bad in ["limit=x", "limit=1.5", "limit=-1", "limit=1&limit=2"] {
            assert!(params(bad).count("limit").is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_refuse_what_they_cannot_read() {
        assert!(params("dryRun=true").flag("dryRun").unwrap());
        assert!(!params("dryRun=0").flag("dryRun").unwrap());
        assert!(!params("").flag("dryRun").unwrap());
        assert!(params("dryRun=ture").flag("dryRun").is_err());
    }
}
