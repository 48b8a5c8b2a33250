//! Permissions: what a policy allows or denies and what the host and
//! plugins check. The host's are constants here; a plugin declares its own
//! (`[[permissions]]` in its manifest), named `<plugin id>.<name>`.

use crate::policy::permission_matches;
use serde::{Deserialize, Serialize};
use std::borrow::{Borrow, Cow};
use std::fmt;

/// The name of one permission, e.g. `catalog.entity.read`.
///
/// A policy names permissions by pattern (`catalog.entity.*`, `*`); this is
/// the one name a check asks about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Permission(Cow<'static, str>);

impl Permission {
    /// See an entity in the catalog, its page and plugin views of it.
    pub const CATALOG_ENTITY_READ: Permission = Permission::known("catalog.entity.read");
    /// Add entities (through a new location).
    pub const CATALOG_ENTITY_CREATE: Permission = Permission::known("catalog.entity.create");
    /// Delete an entity.
    pub const CATALOG_ENTITY_DELETE: Permission = Permission::known("catalog.entity.delete");
    /// Ask for an entity to be read again from its source.
    pub const CATALOG_ENTITY_REFRESH: Permission = Permission::known("catalog.entity.refresh");
    /// See the registered catalog locations.
    pub const CATALOG_LOCATION_READ: Permission = Permission::known("catalog.location.read");
    /// Register a catalog location.
    pub const CATALOG_LOCATION_CREATE: Permission = Permission::known("catalog.location.create");
    /// Remove a catalog location and its entities.
    pub const CATALOG_LOCATION_DELETE: Permission = Permission::known("catalog.location.delete");
    /// Install, upgrade, enable, disable and remove plugins; manage licences.
    pub const PLUGIN_INSTALL: Permission = Permission::known("plugin.install");
    /// See plugin health and suspend a failing plugin.
    pub const PLUGIN_CONFIGURE: Permission = Permission::known("plugin.configure");
    /// Manage roles and policies.
    pub const RBAC_ADMIN: Permission = Permission::known("rbac.admin");
    /// Read the audit log.
    pub const AUDIT_READ: Permission = Permission::known("audit.read");

    const fn known(name: &'static str) -> Permission {
        Permission(Cow::Borrowed(name))
    }

    /// A permission by its name: the host's or a plugin's.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Permission {
        Permission(name.into())
    }

    /// Its name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it may be checked against one catalog entity, so that a
    /// policy on it may carry conditions (which filter catalog queries in
    /// the database). Of the host's, only `catalog.entity.*` are; a
    /// plugin's may be checked against an entity.
    pub fn on_entities(&self) -> bool {
        !NOT_ON_ENTITIES.contains(self)
    }
}

/// The host's permissions that are about no one entity.
const NOT_ON_ENTITIES: &[Permission] = &[
    Permission::CATALOG_LOCATION_READ,
    Permission::CATALOG_LOCATION_CREATE,
    Permission::CATALOG_LOCATION_DELETE,
    Permission::PLUGIN_INSTALL,
    Permission::PLUGIN_CONFIGURE,
    Permission::RBAC_ADMIN,
    Permission::AUDIT_READ,
];

/// Whether a policy on `pattern` may carry conditions on an entity: it
/// names no host permission that is not about entities (plugin
/// permissions may be checked against an entity).
pub fn on_catalog_entities(pattern: &str) -> bool {
    !NOT_ON_ENTITIES
        .iter()
        .any(|p| permission_matches(pattern, p.as_str()))
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for Permission {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Permission {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Permission {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Permission {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_permission_is_its_name_in_documents() {
        let read: Permission = serde_norway::from_str("catalog.entity.read").expect("a string");
        assert_eq!(read, Permission::CATALOG_ENTITY_READ);
        assert_eq!(
            serde_norway::to_string(&Permission::new("soundcheck.manual-check"))
                .expect("serialises"),
            "soundcheck.manual-check\n"
        );
    }

    #[test]
    fn a_set_of_permissions_is_looked_up_by_name() {
        let set = BTreeSet::from([Permission::RBAC_ADMIN, Permission::new(String::from("a.b"))]);
        assert!(set.contains("rbac.admin"));
        assert!(set.contains("a.b"));
        assert_eq!(Permission::AUDIT_READ.to_string(), "audit.read");
        assert_eq!(Permission::AUDIT_READ, "audit.read");
    }

    #[test]
    fn only_catalog_entity_permissions_of_the_hosts_take_conditions() {
        assert!(Permission::CATALOG_ENTITY_READ.on_entities());
        assert!(Permission::new("soundcheck.manual-check").on_entities());
        assert!(!Permission::CATALOG_LOCATION_READ.on_entities());
        assert!(on_catalog_entities("catalog.entity.*"));
        assert!(on_catalog_entities("soundcheck.*"));
        assert!(!on_catalog_entities("catalog.*"));
        assert!(!on_catalog_entities("*"));
        assert!(!on_catalog_entities("rbac.admin"));
    }
}
