//! The host's permissions, described for the people who write policies.
//! Their names are `greenroom_model`'s [`Permission`] constants; plugins
//! add their own (`[[permissions]]` in a manifest), named
//! `<plugin id>.<name>`.

use greenroom_model::Permission;

/// A permission the host checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPermission {
    /// Its name.
    pub name: Permission,
    /// What it lets a user do.
    pub description: &'static str,
}

impl HostPermission {
    /// Whether it is about one catalog entity (so policies on it may have
    /// conditions, which filter catalog queries in the database).
    pub fn on_entities(&self) -> bool {
        self.name.on_entities()
    }
}

/// Every permission the host itself checks.
pub const HOST_PERMISSIONS: &[HostPermission] = &[
    HostPermission {
        name: Permission::CATALOG_ENTITY_READ,
        description: "See an entity in the catalog, its page and plugin views of it",
    },
    HostPermission {
        name: Permission::CATALOG_ENTITY_CREATE,
        description: "Add entities (through a new location)",
    },
    HostPermission {
        name: Permission::CATALOG_ENTITY_DELETE,
        description: "Delete an entity",
    },
    HostPermission {
        name: Permission::CATALOG_ENTITY_REFRESH,
        description: "Ask for an entity to be read again from its source",
    },
    HostPermission {
        name: Permission::CATALOG_LOCATION_READ,
        description: "See the registered catalog locations",
    },
    HostPermission {
        name: Permission::CATALOG_LOCATION_CREATE,
        description: "Register a catalog location",
    },
    HostPermission {
        name: Permission::CATALOG_LOCATION_DELETE,
        description: "Remove a catalog location and its entities",
    },
    HostPermission {
        name: Permission::PLUGIN_INSTALL,
        description: "Install, upgrade, enable, disable and remove plugins; manage licences",
    },
    HostPermission {
        name: Permission::PLUGIN_CONFIGURE,
        description: "See plugin health and suspend a failing plugin",
    },
    HostPermission {
        name: Permission::RBAC_ADMIN,
        description: "Manage roles and policies",
    },
    HostPermission {
        name: Permission::AUDIT_READ,
        description: "Read the audit log",
    },
];

pub use greenroom_model::permission::on_catalog_entities;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_permission_is_described_once() {
        let names: std::collections::BTreeSet<&str> =
            HOST_PERMISSIONS.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), HOST_PERMISSIONS.len());
        assert!(HOST_PERMISSIONS.iter().all(|p| !p.description.is_empty()));
    }
}
