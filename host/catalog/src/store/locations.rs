//! Catalog locations: registering, finding and removing them.

use super::{CatalogError, CatalogStore, Location};
use crate::ingest::LocationType;
use greenroom_store::now_ms;
use rusqlite::{OptionalExtension, params};

impl CatalogStore {
    /// Registers a location; refused when the same type and target exist.
    pub fn add_location(
        &self,
        kind: LocationType,
        target: &str,
        origin: &str,
    ) -> Result<Location, CatalogError> {
        let conn = self.conn()?;
        if let Some(existing) = location_where(
            &conn,
            "type = ?1 AND target = ?2",
            params![kind.as_str(), target],
        )? {
            return Err(CatalogError::Conflict(format!(
                "Location {kind}:{target} already exists (id {})",
                existing.id
            )));
        }
        let location = Location {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            target: target.to_owned(),
            origin: origin.to_owned(),
        };
        conn.execute(
            "INSERT INTO catalog_locations (id, type, target, origin, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![location.id, kind.as_str(), target, origin, now_ms()],
        )?;
        Ok(location)
    }

    /// Every registered location, oldest first.
    pub fn locations(&self) -> Result<Vec<Location>, CatalogError> {
        let conn = self.conn()?;
        let mut statement = conn.prepare(
            "SELECT id, type, target, origin FROM catalog_locations ORDER BY created_ms, id",
        )?;
        let rows = statement.query_map([], location_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The location with this id.
    pub fn location(&self, id: &str) -> Result<Option<Location>, CatalogError> {
        location_where(&*self.conn()?, "id = ?1", params![id])
    }

    /// The location with this type and target.
    pub fn location_by_target(
        &self,
        kind: LocationType,
        target: &str,
    ) -> Result<Option<Location>, CatalogError> {
        location_where(
            &*self.conn()?,
            "type = ?1 AND target = ?2",
            params![kind.as_str(), target],
        )
    }

    /// The registered location an entity came from.
    pub fn location_of(&self, entity_ref: &str) -> Result<Option<Location>, CatalogError> {
        location_where(
            &*self.conn()?,
            "id = (SELECT location_id FROM catalog_entities WHERE entity_ref = ?1)",
            params![entity_ref.to_lowercase()],
        )
    }

    /// How many entities a location provided (what unregistering it
    /// removes).
    pub fn entity_count_of_location(&self, id: &str) -> Result<usize, CatalogError> {
        let count: i64 = self.conn()?.query_row(
            "SELECT COUNT(*) FROM catalog_entities WHERE location_id = ?1",
            params![id],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// Removes a location and every entity it provided.
    pub fn remove_location(&self, id: &str) -> Result<(), CatalogError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM catalog_text WHERE rowid IN (SELECT id FROM catalog_entities WHERE location_id = ?1)",
            params![id],
        )?;
        let removed = tx.execute("DELETE FROM catalog_locations WHERE id = ?1", params![id])?;
        if removed == 0 {
            return Err(CatalogError::NotFound(format!(
                "Found no location with ID {id}"
            )));
        }
        tx.commit()?;
        Ok(())
    }
}

fn location_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Location> {
    let kind: String = r.get(1)?;
    Ok(Location {
        id: r.get(0)?,
        kind: LocationType::parse(&kind).unwrap_or(LocationType::File),
        target: r.get(2)?,
        origin: r.get(3)?,
    })
}

fn location_where(
    conn: &rusqlite::Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<Option<Location>, CatalogError> {
    Ok(conn
        .query_row(
            &format!("SELECT id, type, target, origin FROM catalog_locations WHERE {condition}"),
            params,
            location_row,
        )
        .optional()?)
}
