//! Dispatch on the WIT version a plugin was built against.
//!
//! One linker per incompatible line of versions, one enum variant per line,
//! as Zed's extension host does. Each `call_*` matches on the variant and
//! converts the line's types into the latest ones. Today there is one line,
//! 0.1: 0.1.1 only added an import, so the 0.1.1 linker serves plugins built
//! against 0.1.0 too (wasmtime links their `…@0.1.0` imports to the
//! `…@0.1.1` definitions, which are semver-compatible).

use crate::error::LoadError;
use crate::state::PluginState;
use greenroom_broker::Session;
use greenroom_contract::wit::{WitVersion, latest, since_v0_1_1};
use latest::greenroom::plugin::types::{Context, Outcome, PluginError, Request, Response, Slot};
use latest::greenroom::plugin::view::View;
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

/// The linkers of every released version.
pub(crate) struct Linkers {
    v0_1: Linker<PluginState>,
}

impl Linkers {
    pub(crate) fn new(engine: &wasmtime::Engine) -> wasmtime::Result<Linkers> {
        Ok(Linkers {
            v0_1: linker_v0_1(engine)?,
        })
    }

    fn get(&self, version: WitVersion) -> &Linker<PluginState> {
        match version {
            WitVersion::V0_1_0 | WitVersion::V0_1_1 => &self.v0_1,
        }
    }
}

fn linker_v0_1(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<PluginState>> {
    use since_v0_1_1::greenroom::plugin as api;
    type Broker = HasSelf<Session>;
    fn session(state: &mut PluginState) -> &mut Session {
        &mut state.session
    }
    let mut linker = Linker::new(engine);
    // The WASI interfaces a standard library links against, backed by an
    // empty context (see `PluginState::new`), and outbound HTTP, whose
    // every request the broker decides.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    api::types::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::view::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::catalog::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::storage::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::identity::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::settings::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::log::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::analytics::add_to_linker::<_, Broker>(&mut linker, session)?;
    api::rbac_admin::add_to_linker::<_, Broker>(&mut linker, session)?;
    Ok(linker)
}

/// A plugin's pre-instantiated component, by version.
pub(crate) enum VersionedPre {
    V0_1(since_v0_1_1::PluginPre<PluginState>),
}

impl VersionedPre {
    /// Resolves the component's imports against the version's linker and
    /// checks its exports against the version's world, once, at load time.
    pub(crate) fn new(
        linkers: &Linkers,
        version: WitVersion,
        component: &Component,
    ) -> Result<VersionedPre, LoadError> {
        let instance_pre = linkers
            .get(version)
            .instantiate_pre(component)
            .map_err(|e| LoadError::Imports(format!("{e:#}")))?;
        match version {
            WitVersion::V0_1_0 | WitVersion::V0_1_1 => since_v0_1_1::PluginPre::new(instance_pre)
                .map(VersionedPre::V0_1)
                .map_err(|e| LoadError::Exports(format!("{e:#}"))),
        }
    }

    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<VersionedInstance> {
        match self {
            VersionedPre::V0_1(pre) => {
                Ok(VersionedInstance::V0_1(pre.instantiate_async(store).await?))
            }
        }
    }
}

/// A live instance, by version.
pub(crate) enum VersionedInstance {
    V0_1(since_v0_1_1::Plugin),
}

/// What a call returns: a trap (outer) or the plugin's own result (inner).
pub(crate) type CallResult<T> = wasmtime::Result<Result<T, PluginError>>;

impl VersionedInstance {
    pub(crate) async fn render(
        &self,
        store: &mut Store<PluginState>,
        slot: &Slot,
        context: &Context,
    ) -> CallResult<View> {
        match self {
            VersionedInstance::V0_1(plugin) => plugin.call_render(store, slot, context).await,
        }
    }

    pub(crate) async fn action(
        &self,
        store: &mut Store<PluginState>,
        name: &str,
        fields: &[(String, String)],
        context: &Context,
    ) -> CallResult<Outcome> {
        match self {
            VersionedInstance::V0_1(plugin) => {
                plugin.call_action(store, name, fields, context).await
            }
        }
    }

    pub(crate) async fn handle(
        &self,
        store: &mut Store<PluginState>,
        request: &Request,
    ) -> CallResult<Response> {
        match self {
            VersionedInstance::V0_1(plugin) => plugin.call_handle(store, request).await,
        }
    }

    pub(crate) async fn run_task(
        &self,
        store: &mut Store<PluginState>,
        name: &str,
    ) -> CallResult<()> {
        match self {
            VersionedInstance::V0_1(plugin) => plugin.call_run_task(store, name).await,
        }
    }
}
