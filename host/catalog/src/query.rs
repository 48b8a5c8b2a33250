//! Queries over the catalog: Backstage's filter semantics as a predicate
//! tree that compiles to SQL, so that every condition — a user's filter,
//! a plugin's query, a permission's restriction — is applied in the
//! database, never entity by entity.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The most terms — field conditions and the all/any/not around them — one
/// query may hold. Each term lengthens the SQL expression the query
/// compiles to, and SQLite refuses one deeper than 1 000 (a `$any` of
/// 1 001 terms answered 500); 500 leaves room for the caller's permission
/// restriction and the page's own conditions. Raising it past ~900 brings
/// the 500s back.
pub const MAX_TERMS: usize = 500;

/// How deep all/any/not may nest. Compiling and checking a query recurse
/// once per level; no real query nests more than a few.
pub const MAX_NESTING: usize = 16;

/// The most values one query may list across its conditions (`$in` lists,
/// repeated keys). Each is one SQL parameter, and SQLite takes at most
/// 32 766 in a statement (40 000 answered 500); the restriction and paging
/// need some too.
pub const MAX_VALUES: usize = 10_000;

/// The longest full-text term, in bytes. SQLite refuses a LIKE pattern over
/// 50 000 bytes (a 60 KB term answered 500); nobody searches for more than
/// a sentence.
pub const MAX_TERM_BYTES: usize = 1_000;

/// The most fields one full-text search may look in (one parameter each).
pub const MAX_TEXT_FIELDS: usize = 100;

/// A condition on entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Predicate {
    /// Every one holds (true when empty).
    AllOf(Vec<Predicate>),
    /// At least one holds (false when empty).
    AnyOf(Vec<Predicate>),
    /// It does not hold.
    Not(Box<Predicate>),
    /// The field `key` (a dotted path such as `spec.type`,
    /// `metadata.annotations.backstage.io/techdocs-ref` or
    /// `relations.ownedBy`) equals one of `values`, case-insensitively; or,
    /// with no values, exists.
    Field {
        /// The dotted path.
        key: String,
        /// Accepted values; empty means "exists".
        values: Vec<String>,
    },
}

impl Predicate {
    /// `key` equals one of `values`.
    pub fn field(key: &str, values: &[&str]) -> Predicate {
        Predicate::Field {
            key: key.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    /// Both this and `other` hold.
    pub fn and(self, other: Predicate) -> Predicate {
        match self {
            Predicate::AllOf(mut all) => {
                all.push(other);
                Predicate::AllOf(all)
            }
            this => Predicate::AllOf(vec![this, other]),
        }
    }

    /// Parses Backstage's repeated `filter` query parameters: within one,
    /// comma-separated `key=value` (or `key` for "exists") conditions all
    /// hold, several values for one key being alternatives; the parameters
    /// themselves are alternatives.
    pub fn from_filter_params(params: &[String]) -> Result<Option<Predicate>, QueryError> {
        if params.is_empty() {
            return Ok(None);
        }
        let mut any = Vec::new();
        for param in params {
            let mut fields: Vec<(String, Vec<String>)> = Vec::new();
            for part in param.split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let (key, value) = match part.split_once('=') {
                    Some((key, value)) => (key.trim(), Some(value.trim())),
                    None => (part, None),
                };
                if key.is_empty() {
                    return Err(QueryError::new(format!(
                        "Invalid filter, \"{param}\" has a condition with no key; write key=value or key"
                    )));
                }
                let slot = match fields.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                    Some(slot) => slot,
                    None => {
                        fields.push((key.to_owned(), Vec::new()));
                        fields.last_mut().expect("just pushed")
                    }
                };
                if let Some(value) = value {
                    slot.1.push(value.to_owned());
                }
            }
            any.push(Predicate::AllOf(
                fields
                    .into_iter()
                    .map(|(key, values)| Predicate::Field { key, values })
                    .collect(),
            ));
        }
        let predicate = if any.len() == 1 {
            any.pop().expect("one")
        } else {
            Predicate::AnyOf(any)
        };
        predicate.check_limits_of("filter (the `filter` parameters)")?;
        Ok(Some(predicate))
    }

    /// Whether the predicate is within [`MAX_TERMS`], [`MAX_NESTING`] and
    /// [`MAX_VALUES`]; a 400-class error naming the limit otherwise. Walks
    /// without recursion, so a predicate of any shape is checked safely.
    pub fn check_limits(&self) -> Result<(), QueryError> {
        self.check_limits_of("query")
    }

    /// [`Predicate::check_limits`], the error naming what the caller sent
    /// (`query`, or the `filter` parameters) rather than a query they did
    /// not write.
    fn check_limits_of(&self, subject: &str) -> Result<(), QueryError> {
        let too_many_terms = || {
            QueryError::new(format!(
                "Invalid {subject}: it has more than {MAX_TERMS} terms (conditions and the all/any/not around them), the most a query may have; split it into several queries"
            ))
        };
        let (mut terms, mut values) = (0usize, 0usize);
        let mut pending = vec![(self, 1usize)];
        while let Some((predicate, depth)) = pending.pop() {
            terms += 1;
            if depth > MAX_NESTING {
                return Err(QueryError::new(format!(
                    "Invalid {subject}: it nests all/any/not deeper than {MAX_NESTING} levels, the most a query may"
                )));
            }
            match predicate {
                Predicate::AllOf(parts) | Predicate::AnyOf(parts) => {
                    // Every term waiting is one more: refuse before
                    // looking inside a list that is too long.
                    if terms + pending.len() + parts.len() > MAX_TERMS {
                        return Err(too_many_terms());
                    }
                    pending.extend(parts.iter().map(|part| (part, depth + 1)));
                }
                Predicate::Not(inner) => pending.push((inner, depth + 1)),
                Predicate::Field { values: listed, .. } => {
                    values = values.saturating_add(listed.len());
                    if values > MAX_VALUES {
                        return Err(QueryError::new(format!(
                            "Invalid {subject}: it lists more than {MAX_VALUES} values, the most a query may; split it into several queries"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A request the caller got wrong; the message says what and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl QueryError {
    pub(crate) fn new(message: impl Into<String>) -> QueryError {
        QueryError(message.into())
    }
}

/// Sort order on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// A dotted path, e.g. `metadata.name`.
    pub field: String,
    /// Largest first.
    pub descending: bool,
}

impl Order {
    /// Parses Backstage's `orderField=metadata.name,desc`.
    pub fn parse(param: &str) -> Result<Order, QueryError> {
        let (field, direction) = match param.split_once(',') {
            Some((field, direction)) => (field.trim(), direction.trim()),
            None => (param.trim(), "asc"),
        };
        if field.is_empty() {
            return Err(QueryError::new(format!(
                "Invalid orderField \"{param}\", expected field,asc or field,desc"
            )));
        }
        let descending = match direction {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(QueryError::new(format!(
                    "Invalid order direction \"{other}\" in orderField \"{param}\", expected asc or desc"
                )));
            }
        };
        Ok(Order {
            field: field.to_owned(),
            descending,
        })
    }
}

/// Backstage's `fullTextFilterTerm` and `fullTextFilterFields`: entities
/// where one of the fields contains the term, case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullText {
    /// The text to look for.
    pub term: String,
    /// The dotted fields to look in; Backstage's default (the sort field,
    /// else `metadata.uid`) when empty.
    pub fields: Vec<String>,
}

impl FullText {
    /// Whether the term is within [`MAX_TERM_BYTES`] and the fields within
    /// [`MAX_TEXT_FIELDS`]; a 400-class error naming the limit otherwise.
    pub fn check_limits(&self) -> Result<(), QueryError> {
        if self.term.len() > MAX_TERM_BYTES {
            return Err(QueryError::new(format!(
                "Invalid full-text term: it is {} bytes long, more than the {MAX_TERM_BYTES} a term may be",
                self.term.len()
            )));
        }
        if self.fields.len() > MAX_TEXT_FIELDS {
            return Err(QueryError::new(format!(
                "Invalid full-text fields: {} fields, more than the {MAX_TEXT_FIELDS} one search may look in",
                self.fields.len()
            )));
        }
        Ok(())
    }
}

/// A query for a page of entities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityQuery {
    /// Which entities; all when none.
    pub filter: Option<Predicate>,
    /// Words to look for.
    pub full_text: Option<FullText>,
    /// Sort order; by entity reference when none. Only the first field
    /// sorts, as in Backstage; the entity reference breaks ties.
    pub order: Option<Order>,
}

impl EntityQuery {
    /// Whether the query is within the catalog's limits on queries
    /// ([`MAX_TERMS`], [`MAX_NESTING`], [`MAX_VALUES`], [`MAX_TERM_BYTES`],
    /// [`MAX_TEXT_FIELDS`]): the store checks every query it runs, so a
    /// client is told which limit it went past instead of getting a 500.
    pub fn check_limits(&self) -> Result<(), QueryError> {
        if let Some(filter) = &self.filter {
            filter.check_limits()?;
        }
        if let Some(full_text) = &self.full_text {
            full_text.check_limits()?;
        }
        Ok(())
    }
}

/// Where a page starts: after (or, for a previous page, before) the entity
/// with this sort key. The whole query travels in the cursor, so a client
/// passes only the cursor for the next page, as Backstage's do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The query being paged.
    pub query: EntityQuery,
    /// The sort key of the boundary entity: (has no value, value, entity ref).
    pub boundary: Option<(bool, String, String)>,
    /// Paging backwards from `boundary`.
    pub previous: bool,
    /// The total counted for the first page, so later pages need not count.
    pub total_items: Option<u64>,
}

impl Cursor {
    /// The first page of `query`.
    pub fn first(query: EntityQuery) -> Cursor {
        Cursor {
            query,
            boundary: None,
            previous: false,
            total_items: None,
        }
    }

    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a cursor serialises");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor a client handed back.
    pub fn decode(text: &str) -> Result<Cursor, QueryError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| QueryError::new("Malformed cursor: not one this catalog issued"))?;
        let cursor: Cursor = serde_json::from_slice(&bytes)
            .map_err(|_| QueryError::new("Malformed cursor: not one this catalog issued"))?;
        // A client can write a cursor by hand.
        cursor.query.check_limits()?;
        Ok(cursor)
    }
}

/// SQL text with its positional parameters, built up piece by piece.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<String>,
}

impl Sql {
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub fn param(&mut self, value: impl Into<String>) {
        self.text.push('?');
        self.params.push(value.into());
    }

    fn list(&mut self, values: &[String]) {
        self.text.push('(');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.param(value.to_lowercase());
        }
        self.text.push(')');
    }
}

/// The relation types, lower-cased as filter keys spell them, and as stored.
const RELATION_TYPES: [&str; 16] = [
    "ownedBy",
    "ownerOf",
    "partOf",
    "hasPart",
    "consumesApi",
    "apiConsumedBy",
    "providesApi",
    "apiProvidedBy",
    "dependsOn",
    "dependencyOf",
    "memberOf",
    "hasMember",
    "parentOf",
    "childOf",
    "locationOf",
    "locatedAt",
];

/// The stored spelling of a relation type given in any case.
pub(crate) fn relation_type(key: &str) -> Option<&'static str> {
    RELATION_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(key))
        .copied()
}

/// Appends SQL that is true for the entity `e` when `predicate` holds.
pub(crate) fn compile(predicate: &Predicate, sql: &mut Sql) {
    match predicate {
        Predicate::AllOf(all) if all.is_empty() => sql.push("1 = 1"),
        Predicate::AnyOf(any) if any.is_empty() => sql.push("1 = 0"),
        Predicate::AllOf(parts) | Predicate::AnyOf(parts) => {
            let joiner = if matches!(predicate, Predicate::AllOf(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                compile(part, sql);
            }
            sql.push(")");
        }
        Predicate::Not(inner) => {
            sql.push("NOT (");
            compile(inner, sql);
            sql.push(")");
        }
        Predicate::Field { key, values } => field(key, values, sql),
    }
}

fn field(key: &str, values: &[String], sql: &mut Sql) {
    let key = key.to_lowercase();
    // Columns of the entities table answer the commonest filters without a
    // join (the kind, namespace and name are never null).
    let column = match key.as_str() {
        "kind" => Some("e.kind"),
        "metadata.namespace" => Some("e.namespace"),
        "metadata.name" => Some("e.name"),
        "spec.type" => Some("e.spec_type"),
        _ => None,
    };
    if let Some(column) = column {
        if values.is_empty() {
            let _ = write!(sql.text, "{column} IS NOT NULL");
        } else {
            let _ = write!(sql.text, "{column} IN ");
            sql.list(values);
        }
        return;
    }
    if let Some(relation) = key.strip_prefix("relations.") {
        let Some(relation) = relation_type(relation) else {
            // No entity has a relation of an unknown type.
            return sql.push("1 = 0");
        };
        sql.push("e.entity_ref IN (SELECT r.source_ref FROM catalog_relations r WHERE r.type = ");
        sql.param(relation);
        if !values.is_empty() {
            sql.push(" AND r.target_key IN ");
            sql.list(values);
        }
        return sql.push(")");
    }
    sql.push("e.id IN (SELECT s.entity_id FROM catalog_search s WHERE s.key = ");
    sql.param(key);
    if !values.is_empty() {
        sql.push(" AND s.value IN ");
        sql.list(values);
    }
    sql.push(")");
}

/// Appends SQL that is true when one of `fields` of `e` contains `term`.
/// Terms of three characters or more use the trigram index; shorter ones
/// (which a trigram cannot match) scan the search rows.
pub(crate) fn compile_full_text(full_text: &FullText, default_field: &str, sql: &mut Sql) {
    let term = full_text.term.trim().to_lowercase();
    let fields: Vec<String> = if full_text.fields.is_empty() {
        vec![default_field.to_owned()]
    } else {
        full_text.fields.iter().map(|f| f.to_lowercase()).collect()
    };
    let indexed = fields
        .iter()
        .all(|f| crate::store::TEXT_FIELDS.contains(&f.as_str()));
    if indexed && term.chars().count() >= 3 {
        let columns: Vec<&str> = fields
            .iter()
            .filter_map(|f| {
                let i = crate::store::TEXT_FIELDS.iter().position(|t| t == f)?;
                Some(crate::store::TEXT_COLUMNS[i])
            })
            .collect();
        sql.push("e.id IN (SELECT rowid FROM catalog_text WHERE catalog_text MATCH ");
        sql.param(format!(
            "{{{}}} : \"{}\"",
            columns.join(" "),
            term.replace('"', "\"\"")
        ));
        sql.push(")");
    } else {
        let pattern = format!(
            "%{}%",
            term.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        sql.push("e.id IN (SELECT s.entity_id FROM catalog_search s WHERE s.key IN ");
        sql.list(&fields);
        sql.push(" AND s.value LIKE ");
        sql.param(pattern);
        sql.push(" ESCAPE '\\')");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn one_filter_param_is_an_and_and_repeated_keys_are_alternatives() {
        let parsed =
            Predicate::from_filter_params(&params(&["kind=component,spec.type=service,kind=api"]))
                .unwrap()
                .unwrap();
        assert_eq!(
            parsed,
            Predicate::AllOf(vec![
                Predicate::field("kind", &["component", "api"]),
                Predicate::field("spec.type", &["service"]),
            ])
        );
    }

    #[test]
    fn several_filter_params_are_alternatives_and_a_bare_key_means_exists() {
        let parsed =
            Predicate::from_filter_params(&params(&["kind=user", "metadata.annotations.x"]))
                .unwrap()
                .unwrap();
        assert_eq!(
            parsed,
            Predicate::AnyOf(vec![
                Predicate::AllOf(vec![Predicate::field("kind", &["user"])]),
                Predicate::AllOf(vec![Predicate::field("metadata.annotations.x", &[])]),
            ])
        );
    }

    #[test]
    fn a_condition_without_a_key_is_refused_with_the_filter_quoted() {
        let error = Predicate::from_filter_params(&params(&["=x"])).unwrap_err();
        assert!(error.0.contains("\"=x\""), "{error}");
    }

    #[test]
    fn order_fields_parse_as_backstage_writes_them() {
        assert_eq!(
            Order::parse("metadata.name,desc").unwrap(),
            Order {
                field: "metadata.name".into(),
                descending: true
            }
        );
        assert!(!Order::parse("metadata.name").unwrap().descending);
        assert!(
            Order::parse("metadata.name,sideways")
                .unwrap_err()
                .0
                .contains("sideways")
        );
    }

    #[test]
    fn compiles_to_parameterised_sql() {
        let predicate = Predicate::field("spec.type", &["Service"])
            .and(Predicate::Not(Box::new(Predicate::field(
                "relations.ownedBy",
                &["group:default/a"],
            ))))
            .and(Predicate::field("metadata.annotations.x", &["Y"]));
        let mut sql = Sql::default();
        compile(&predicate, &mut sql);
        assert_eq!(
            sql.text,
            "(e.spec_type IN (?) AND NOT (e.entity_ref IN (SELECT r.source_ref FROM catalog_relations r WHERE r.type = ? AND r.target_key IN (?))) AND e.id IN (SELECT s.entity_id FROM catalog_search s WHERE s.key = ? AND s.value IN (?)))"
        );
        assert_eq!(
            sql.params,
            [
                "service",
                "ownedBy",
                "group:default/a",
                "metadata.annotations.x",
                "y"
            ]
        );
    }

    #[test]
    fn a_tampered_cursor_is_refused() {
        assert!(Cursor::decode("not-a-cursor").is_err());
        let cursor = Cursor::first(EntityQuery::default());
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn a_thousand_and_one_filters_are_refused_naming_the_limit() {
        let filters = vec!["kind=component".to_owned(); 1_001];
        let error = Predicate::from_filter_params(&filters).unwrap_err();
        assert!(error.0.contains("more than 500 terms"), "{error}");
        assert!(
            error
                .0
                .starts_with("Invalid filter (the `filter` parameters)"),
            "the caller sent no query, so the error names its filter: {error}"
        );
        let fine = vec!["kind=component".to_owned(); 249];
        assert!(Predicate::from_filter_params(&fine).is_ok());
    }

    #[test]
    fn long_lists_deep_nesting_long_terms_and_tampered_cursors_are_refused() {
        let values: Vec<String> = (0..40_000).map(|i| i.to_string()).collect();
        let many = Predicate::Field {
            key: "metadata.name".into(),
            values,
        };
        assert!(many.check_limits().unwrap_err().0.contains("10000 values"));
        let any = Predicate::AnyOf(vec![Predicate::AllOf(Vec::new()); 1_001]);
        assert!(any.check_limits().unwrap_err().0.contains("500 terms"));
        let mut deep = Predicate::field("kind", &["component"]);
        for _ in 0..MAX_NESTING {
            deep = Predicate::Not(Box::new(deep));
        }
        assert!(
            deep.check_limits()
                .unwrap_err()
                .0
                .contains("deeper than 16")
        );
        let query = EntityQuery {
            full_text: Some(FullText {
                term: "a".repeat(60_000),
                fields: Vec::new(),
            }),
            ..EntityQuery::default()
        };
        assert!(query.check_limits().unwrap_err().0.contains("60000 bytes"));
        // A cursor is the client's to write: it is checked as it is read.
        let cursor = Cursor::first(EntityQuery {
            filter: Some(any),
            ..EntityQuery::default()
        });
        assert!(Cursor::decode(&cursor.encode()).is_err());
    }

    /// Any predicate: fields of every kind the compiler knows, lists and
    /// nesting past the limits.
    pub(crate) fn any_predicate() -> impl Strategy<Value = Predicate> {
        let keys = prop_oneof![
            Just("kind"),
            Just("metadata.name"),
            Just("spec.type"),
            Just("relations.ownedBy"),
            Just("relations.noSuchRelation"),
            Just("metadata.annotations.backstage.io/x"),
        ];
        let leaf = (
            keys,
            proptest::collection::vec("[a-zA-Z0-9:/%_'\\-]{0,12}", 0..4),
        )
            .prop_map(|(key, values)| Predicate::Field {
                key: key.to_owned(),
                values,
            });
        leaf.prop_recursive(24, 1_200, 60, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..60).prop_map(Predicate::AllOf),
                proptest::collection::vec(inner.clone(), 0..60).prop_map(Predicate::AnyOf),
                inner.prop_map(|p| Predicate::Not(Box::new(p))),
            ]
        })
    }

    /// An empty catalog in a real database, and a restriction like the
    /// ones RBAC conditions produce, ANDed into every read.
    fn store() -> (tempfile::TempDir, crate::CatalogStore, Predicate) {
        let dir = tempfile::tempdir().unwrap();
        let db = greenroom_store::Database::open(&dir.path().join("g.db")).unwrap();
        let restriction = Predicate::AnyOf(vec![
            Predicate::field("relations.ownedBy", &["group:default/a", "user:default/b"]),
            Predicate::field("kind", &["api"]).and(Predicate::field("spec.type", &["openapi"])),
        ]);
        (dir, crate::CatalogStore::new(db), restriction)
    }

    /// Runs `query` every way the store reads: what SQLite answers must be
    /// a page, or a refusal the API turns into a 400 — never a 500.
    fn run(
        store: &crate::CatalogStore,
        query: EntityQuery,
        restriction: &Predicate,
    ) -> Result<(), String> {
        let within = query.check_limits();
        let outcomes = [
            store
                .query(&Cursor::first(query.clone()), 10, Some(restriction))
                .map(|_| ()),
            store
                .list(&query, 0, Some(10), Some(restriction))
                .map(|_| ()),
            store
                .facets(
                    &["kind".into(), "relations.ownedBy".into()],
                    query.filter.as_ref(),
                    Some(restriction),
                )
                .map(|_| ()),
        ];
        for outcome in outcomes {
            match (&within, outcome) {
                (Ok(()), Ok(())) | (Err(_), Err(crate::CatalogError::Query(_))) => {}
                (_, outcome) => return Err(format!("{within:?} but {outcome:?}")),
            }
        }
        Ok(())
    }

    #[test]
    fn queries_at_the_limits_run_on_sqlite() {
        let (_dir, store, restriction) = store();
        let field = |i: usize| Predicate::field("metadata.annotations.x", &[&i.to_string()]);
        // The longest chain of alternatives.
        let chain = Predicate::AnyOf((1..MAX_TERMS).map(field).collect());
        // Nested as deep as allowed, each level as long as the terms allow.
        let mut nested = field(0);
        for level in 1..MAX_NESTING {
            let mut parts: Vec<Predicate> = (0..29).map(field).collect();
            parts.push(nested);
            nested = if level % 2 == 0 {
                Predicate::AllOf(parts)
            } else {
                Predicate::AnyOf(parts)
            };
        }
        let values: Vec<String> = (0..MAX_VALUES).map(|i| i.to_string()).collect();
        let listed = Predicate::Field {
            key: "metadata.name".into(),
            values,
        };
        for filter in [chain, nested, listed] {
            assert!(filter.check_limits().is_ok());
            for fields in [
                Vec::new(),
                vec!["metadata.name".to_owned()],
                vec!["spec.x".to_owned(); MAX_TEXT_FIELDS],
            ] {
                let query = EntityQuery {
                    filter: Some(filter.clone()),
                    full_text: Some(FullText {
                        term: "é%_".repeat(MAX_TERM_BYTES / 4),
                        fields,
                    }),
                    order: Some(Order {
                        field: "metadata.name".into(),
                        descending: true,
                    }),
                };
                run(&store, query, &restriction).unwrap();
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        // Item 12 of issue 12, against SQLite itself: any predicate either
        // runs or is refused as the client's mistake.
        #[test]
        fn any_predicate_runs_on_sqlite_or_is_refused(predicate in any_predicate()) {
            let (_dir, store, restriction) = store();
            let query = EntityQuery { filter: Some(predicate), ..EntityQuery::default() };
            let outcome = run(&store, query, &restriction);
            prop_assert!(outcome.is_ok(), "{:?}", outcome);
        }
    }

    proptest! {
        // Item 12 of issue 12: whatever predicate a client writes, checking
        // it never panics, and one within the limits compiles to SQL with
        // one parameter per placeholder and no more than SQLite takes.
        #[test]
        fn any_predicate_is_within_the_limits_or_refused(predicate in any_predicate()) {
            if predicate.check_limits().is_ok() {
                let mut sql = Sql::default();
                compile(&predicate, &mut sql);
                prop_assert_eq!(sql.text.matches('?').count(), sql.params.len());
                prop_assert!(sql.params.len() <= MAX_VALUES + MAX_TERMS);
            }
        }

        // Whatever a client sends, parsing either refuses it or yields a
        // predicate whose SQL has one parameter per placeholder.
        #[test]
        fn any_filter_text_parses_or_is_refused(texts in proptest::collection::vec(".{0,40}", 0..4)) {
            if let Ok(Some(predicate)) = Predicate::from_filter_params(&texts) {
                let mut sql = Sql::default();
                compile(&predicate, &mut sql);
                prop_assert_eq!(sql.text.matches('?').count(), sql.params.len());
            }
        }
    }
}
