//! The host's permissions. Plugins add their own (`[[permissions]]` in a
//! manifest), named `<plugin id>.<name>`.

/// A permission the host checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPermission {
    /// Its name.
    pub name: &'static str,
    /// What it lets a user do.
    pub description: &'static str,
    /// Whether it is about one catalog entity (so policies on it may have
    /// conditions, which filter catalog queries in the database).
    pub on_entities: bool,
}

/// Every permission the host itself checks.
pub const HOST_PERMISSIONS: &[HostPermission] = &[
    HostPermission {
        name: "catalog.entity.read",
        description: "See an entity in the catalog, its page and plugin views of it",
        on_entities: true,
    },
    HostPermission {
        name: "catalog.entity.create",
        description: "Add entities (through a new location)",
        on_entities: true,
    },
    HostPermission {
        name: "catalog.entity.delete",
        description: "Delete an entity",
        on_entities: true,
    },
    HostPermission {
        name: "catalog.entity.refresh",
        description: "Ask for an entity to be read again from its source",
        on_entities: true,
    },
    HostPermission {
        name: "catalog.location.read",
        description: "See the registered catalog locations",
        on_entities: false,
    },
    HostPermission {
        name: "catalog.location.create",
        description: "Register a catalog location",
        on_entities: false,
    },
    HostPermission {
        name: "catalog.location.delete",
        description: "Remove a catalog location and its entities",
        on_entities: false,
    },
    HostPermission {
        name: "plugin.install",
        description: "Install, upgrade, enable, disable and remove plugins; manage licences",
        on_entities: false,
    },
    HostPermission {
        name: "plugin.configure",
        description: "See plugin health and suspend a failing plugin",
        on_entities: false,
    },
    HostPermission {
        name: "rbac.admin",
        description: "Manage roles and policies",
        on_entities: false,
    },
    HostPermission {
        name: "audit.read",
        description: "Read the audit log",
        on_entities: false,
    },
];

/// Whether a policy on `pattern` may carry conditions on an entity: it
/// names no host permission that is not about entities (plugin
/// permissions may be checked against an entity).
pub fn on_catalog_entities(pattern: &str) -> bool {
    !HOST_PERMISSIONS
        .iter()
        .any(|p| !p.on_entities && super::policy::permission_matches(pattern, p.name))
}
