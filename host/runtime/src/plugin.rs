//! A loaded plugin and its four calls.

use crate::dispatch::{CallResult, VersionedInstance, VersionedPre};
use crate::error::CallError;
use crate::health::{CallKind, HealthSnapshot, PluginHealth};
use crate::limits::{Limits, Slots};
use crate::state::PluginState;
use futures::FutureExt;
use greenroom_access::Identity;
use greenroom_broker::{PluginEnv, Session};
use greenroom_contract::wit::latest::greenroom::plugin::types::{
    Context, Entity, Outcome, Request, Response, Slot, SlotKind as WitSlotKind,
};
use greenroom_contract::wit::latest::greenroom::plugin::view::View;
use greenroom_contract::wit_user;
use greenroom_contract::{Artifact, Manifest, SlotDecl, SlotKind};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

/// What the host knows about the request a call is made for.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The acting user.
    pub user: Identity,
    /// The entity the page is about, for entity slots.
    pub entity: Option<Entity>,
    /// The path below the plugin's page, without a leading slash.
    pub path: String,
    /// The URL's query parameters.
    pub query: Vec<(String, String)>,
}

impl CallContext {
    /// A context for `user` with no entity, path or query.
    pub fn for_user(user: Identity) -> CallContext {
        CallContext {
            user,
            entity: None,
            path: String::new(),
            query: Vec::new(),
        }
    }
}

/// The error a call's epoch callback raises when its deadline has passed.
#[derive(Debug)]
struct DeadlineExceeded;

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the call's deadline passed")
    }
}

impl std::error::Error for DeadlineExceeded {}

/// A function that runs one export on a fresh instance.
type Invoke<R> = Box<
    dyn for<'a> FnOnce(
            &'a VersionedInstance,
            &'a mut Store<PluginState>,
        ) -> Pin<Box<dyn Future<Output = CallResult<R>> + Send + 'a>>
        + Send,
>;

/// A plugin ready to be called: its artifact, its broker environment, its
/// limits and one pre-instantiated component.
pub struct LoadedPlugin {
    pub(crate) artifact: Artifact,
    pub(crate) env: Arc<PluginEnv>,
    pub(crate) limits: Limits,
    pub(crate) pre: VersionedPre,
    pub(crate) engine: Engine,
    /// Instance slots, shared by every plugin of the runtime.
    pub(crate) slots: Arc<Slots>,
    /// This plugin's share of them (see [`Slots`]).
    pub(crate) own_slots: Arc<Semaphore>,
    pub(crate) health: PluginHealth,
    pub(crate) from_cache: bool,
}

impl LoadedPlugin {
    /// Whether the compiled component came from the cache rather than
    /// being compiled at load.
    pub fn loaded_from_cache(&self) -> bool {
        self.from_cache
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        self.artifact.manifest()
    }

    /// The artifact it was loaded from.
    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }

    /// Its broker environment (grant, settings, log tail).
    pub fn env(&self) -> &PluginEnv {
        &self.env
    }

    /// Its limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Its health counters now.
    pub fn health(&self) -> HealthSnapshot {
        self.health.snapshot()
    }

    /// Draws one of its declared slots.
    pub async fn render(&self, slot: &SlotDecl, cx: &CallContext) -> Result<View, CallError> {
        let wit_slot = Slot {
            kind: wit_slot_kind(slot.kind),
            name: slot.name.clone(),
        };
        let context = self.context(cx);
        let invoke: Invoke<View> = Box::new(move |instance, store| {
            Box::pin(async move { instance.render(store, &wit_slot, &context).await })
        });
        self.call(
            CallKind::Render,
            Some(cx.user.clone()),
            self.limits.render_deadline,
            invoke,
            |view| {
                greenroom_contract::view::validate_within(&view, self.limits.view)
                    .map(|()| view)
                    .map_err(CallError::InvalidView)
            },
        )
        .await
    }

    /// Handles a submitted form.
    pub async fn action(
        &self,
        name: &str,
        fields: Vec<(String, String)>,
        cx: &CallContext,
    ) -> Result<Outcome, CallError> {
        let name = name.to_owned();
        let context = self.context(cx);
        let invoke: Invoke<Outcome> = Box::new(move |instance, store| {
            Box::pin(async move { instance.action(store, &name, &fields, &context).await })
        });
        self.call(
            CallKind::Action,
            Some(cx.user.clone()),
            self.limits.request_deadline,
            invoke,
            |outcome| Ok(crate::error::bounded_outcome(outcome)),
        )
        .await
    }

    /// Answers a request to its JSON API.
    pub async fn handle(
        &self,
        request: Request,
        user: Option<Identity>,
    ) -> Result<Response, CallError> {
        let invoke: Invoke<Response> = Box::new(move |instance, store| {
            Box::pin(async move { instance.handle(store, &request).await })
        });
        self.call(
            CallKind::Handle,
            user,
            self.limits.request_deadline,
            invoke,
            |response| {
                if (100..=599).contains(&response.status) {
                    Ok(response)
                } else {
                    Err(CallError::InvalidResponse(format!(
                        "status {} is not an HTTP status",
                        response.status
                    )))
                }
            },
        )
        .await
    }

    /// Runs a scheduled task; no user is acting.
    pub async fn run_task(&self, name: &str) -> Result<(), CallError> {
        let name = name.to_owned();
        let invoke: Invoke<()> = Box::new(move |instance, store| {
            Box::pin(async move { instance.run_task(store, &name).await })
        });
        self.call(CallKind::Task, None, self.limits.task_deadline, invoke, Ok)
            .await
    }

    fn context(&self, cx: &CallContext) -> Context {
        Context {
            user: wit_user(&cx.user),
            entity: cx.entity.clone(),
            path: cx.path.clone(),
            query: cx.query.clone(),
            base_path: format!("/plugins/{}", self.manifest().id),
        }
    }

    /// Counts the call on the plugin's health, and logs a failure.
    fn observe<R>(
        &self,
        call: CallKind,
        started: Instant,
        denials: u32,
        result: Result<R, CallError>,
    ) -> Result<R, CallError> {
        let failure = result
            .as_ref()
            .err()
            .map(|error| (error.kind(), error.to_string()));
        if let Some((kind, message)) = &failure {
            tracing::warn!(plugin = %self.manifest().id, kind = kind.name(), "plugin call failed: {message}");
        }
        self.health
            .record(call, started.elapsed(), denials, failure);
        result
    }

    /// Runs `invoke` on a fresh store and instance, checks what it returned
    /// against the contract with `check`, and counts the call.
    async fn call<R: Send>(
        &self,
        kind: CallKind,
        user: Option<Identity>,
        deadline: Duration,
        invoke: Invoke<R>,
        check: impl FnOnce(R) -> Result<R, CallError>,
    ) -> Result<R, CallError> {
        let started = Instant::now();
        let (result, denials) = self.run(kind, user, deadline, invoke).await;
        let result = result.and_then(check).map_err(CallError::bounded);
        self.observe(kind, started, denials, result)
    }

    /// Runs `invoke` on a fresh store and instance; also says how many of
    /// its imports the broker denied.
    async fn run<R: Send>(
        &self,
        kind: CallKind,
        user: Option<Identity>,
        deadline: Duration,
        invoke: Invoke<R>,
    ) -> (Result<R, CallError>, u32) {
        let call = async {
            // Waits for a free instance slot (within the plugin's share, and
            // the tasks' share for a task) rather than failing when the pool
            // is full; the wait counts against the deadline, and a call that
            // gets no slot in time fails as busy instead of holding up its
            // page.
            let deadline_at = Instant::now() + deadline;
            let deadline_instant = tokio::time::Instant::from_std(deadline_at);
            let waiting = self.slots.acquire(&self.own_slots, kind == CallKind::Task);
            let _permit = match tokio::time::timeout_at(deadline_instant, waiting).await {
                Ok(Some(permit)) => permit,
                Ok(None) => {
                    let closing = CallError::Host("the runtime is shutting down".into());
                    return (Err(closing), 0);
                }
                Err(_) => return (Err(CallError::Busy { deadline }), 0),
            };
            let session = Session::new(self.env.clone(), user).with_http_limits(self.limits.http);
            let mut store = Store::new(
                &self.engine,
                PluginState::new(session, self.limits.memory_bytes(), deadline_at),
            );
            store.limiter(|state| &mut state.limiter);
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|store| {
                if Instant::now() >= store.data().deadline {
                    return Err(wasmtime::Error::new(DeadlineExceeded));
                }
                // Yield at every tick so one busy plugin never pins a
                // worker thread.
                Ok(UpdateDeadline::Yield(1))
            });
            let running = async {
                match self.pre.instantiate(&mut store).await {
                    Ok(instance) => invoke(&instance, &mut store).await,
                    Err(error) => Err(error),
                }
            };
            // A plugin waiting on the host (an HTTP response, a sleep) runs
            // no WebAssembly, so the epoch cannot stop it: the deadline
            // stops the wait here instead.
            let outcome = tokio::time::timeout_at(deadline_instant, running)
                .await
                .unwrap_or_else(|_| Err(wasmtime::Error::new(DeadlineExceeded)));
            let result = match outcome {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(plugin_error)) => Err(CallError::Plugin(plugin_error)),
                Err(error) => Err(classify(&error, store.data(), deadline, &self.limits)),
            };
            (result, store.data().session.denials())
        };
        // The call runs on the caller's task (a thread hop per call cost
        // more than the call itself), but a panic in the host's import code
        // is caught here and becomes this call's failure, not the request's.
        match AssertUnwindSafe(call).catch_unwind().await {
            Ok(outcome) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(plugin = %self.manifest().id, panic = %what, "the host panicked while running a plugin");
                let error =
                    CallError::Host("the host failed while running the plugin; see its log".into());
                (Err(error), 0)
            }
        }
    }
}

/// Names the reason a call trapped.
fn classify(
    error: &wasmtime::Error,
    state: &PluginState,
    deadline: Duration,
    limits: &Limits,
) -> CallError {
    if error.downcast_ref::<DeadlineExceeded>().is_some() {
        return CallError::Deadline { deadline };
    }
    if state.limiter.memory_exceeded {
        return CallError::Memory {
            limit: limits.memory_display(),
        };
    }
    let mut message = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    if let Some(panic) = state.stderr_summary() {
        message = format!("{message} ({panic})");
    }
    CallError::Trap { message }
}

fn wit_slot_kind(kind: SlotKind) -> WitSlotKind {
    match kind {
        SlotKind::Page => WitSlotKind::Page,
        SlotKind::EntityTab => WitSlotKind::EntityTab,
        SlotKind::EntityCard => WitSlotKind::EntityCard,
        SlotKind::HomeWidget => WitSlotKind::HomeWidget,
    }
}
