//! The request funnel: concurrency limit, bounded queue, SDK check, security, then dispatch.
//!
//! At most `limits.concurrentRequests` requests execute at once. Up to
//! `limits.requestsBufferSize` more wait in a queue; past that, clients get 503
//! `api.process.overloaded` at once rather than waiting without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use serde_json::Value;
use tokio::sync::{Semaphore, SemaphorePermit};
use tracing::{Instrument, debug, info_span, warn};

use crate::config::Limits;
use crate::state::ServerState;

/// Concurrency limit and queue shared by every protocol.
#[derive(Debug)]
pub struct Funnel {
    slots: Semaphore,
    slot_count: usize,
    waiting: AtomicUsize,
    buffer_size: usize,
    warning_threshold: usize,
    shutting_down: AtomicBool,
}

impl Funnel {
    /// Builds a funnel with the configured limits.
    pub fn new(limits: &Limits) -> Self {
        Self {
            slots: Semaphore::new(limits.concurrent_requests),
            slot_count: limits.concurrent_requests,
            waiting: AtomicUsize::new(0),
            buffer_size: limits.requests_buffer_size,
            warning_threshold: limits.requests_buffer_warning_threshold,
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Number of requests waiting for an execution slot.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Whether the queue is full, so new requests would be rejected.
    pub fn is_overloaded(&self) -> bool {
        self.waiting() >= self.buffer_size
    }

    /// Whether shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Rejects new requests from now on, then waits up to `timeout` for the ones in flight.
    /// Returns whether every in-flight request finished in time.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.shutting_down.store(true, Ordering::Relaxed);
        let all = u32::try_from(self.slot_count).unwrap_or(u32::MAX);
        tokio::time::timeout(timeout, self.slots.acquire_many(all))
            .await
            .is_ok()
    }

    /// Runs a request: waits for a slot, checks it, and calls its controller action.
    pub async fn run(&self, state: &ServerState, request: &Arc<Request>) -> ApiResult {
        let span = info_span!(
            "palisade.request",
            request_id = %request.request_id,
            controller = %request.controller,
            action = %request.action,
            connection_id = %request.context.connection_id,
            protocol = request.context.protocol.name(),
        );

        async {
            let _slot = self.acquire_slot().await?;
            check_sdk_version(state, request)?;
            process(state, request).await
        }
        .instrument(span)
        .await
    }

    /// Runs a request made by a plugin, without taking a concurrency slot.
    pub async fn run_internal(&self, state: &ServerState, request: &Arc<Request>) -> ApiResult {
        if self.is_shutting_down() {
            return Err(ApiError::new(
                ErrorId::ApiProcessShuttingDown,
                "The server is shutting down: the plugin's API call was not run.",
            ));
        }
        let span = info_span!(
            "palisade.internal_request",
            request_id = %request.request_id,
            controller = %request.controller,
            action = %request.action,
            connection_id = %request.context.connection_id,
        );
        Box::pin(process(state, request)).instrument(span).await
    }

    async fn acquire_slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        if self.is_shutting_down() {
            return Err(ApiError::new(
                ErrorId::ApiProcessShuttingDown,
                "The server is shutting down: retry on another node or after the restart.",
            ));
        }
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }

        let waiting = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        let _guard = WaitingGuard(&self.waiting);
        if waiting > self.buffer_size {
            warn!(
                waiting,
                buffer_size = self.buffer_size,
                "request buffer full, rejecting request"
            );
            return Err(ApiError::new(
                ErrorId::ApiProcessOverloaded,
                "The server is overloaded: its request buffer (limits.requestsBufferSize) is \
                 full. Retry later.",
            ));
        }
        if waiting == self.warning_threshold {
            warn!(
                waiting,
                "request buffer above limits.requestsBufferWarningThreshold"
            );
        }

        self.slots
            .acquire()
            .await
            .map_err(|_| ApiError::internal("request slots closed"))
    }
}

/// Authorizes a request, then runs its action with the plugins' pipes and hooks around it.
async fn process(state: &ServerState, request: &Arc<Request>) -> ApiResult {
    let user = crate::security::authorize(state, request).await?;
    let set = state.plugins.snapshot();
    let outcome = if set.has_no_listeners() {
        crate::plugins::dispatch(state, request, &user).await
    } else {
        crate::plugins::events::run_request(state, set, request, &user).await
    };
    if let Err(error) = &outcome {
        debug!(error_id = %error.id_name(), status = error.status(), "request failed");
    }
    outcome
}

/// Decrements the waiting count when a queued request leaves the queue, whatever the outcome.
struct WaitingGuard<'a>(&'a AtomicUsize);

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Rejects SDKs older than the supported major versions (JavaScript SDK 7 and later), as
/// Kuzzle does when `server.strictSdkVersion` is on.
fn check_sdk_version(state: &ServerState, request: &Request) -> Result<(), ApiError> {
    if !state.config.server.strict_sdk_version {
        return Ok(());
    }
    let Some(volatile) = &request.volatile else {
        return Ok(());
    };

    let incompatible = |sdk: &str| {
        ApiError::new(
            ErrorId::ApiProcessIncompatibleSdkVersion,
            format!("Incompatible SDK client \"{sdk}\": upgrade to kuzzle-sdk 7 or later."),
        )
        .with_props([sdk])
    };
    if let Some(version) = volatile.get("sdkVersion") {
        return Err(incompatible(&version.to_string()));
    }
    if let Some(Value::String(name)) = volatile.get("sdkName") {
        let major = name
            .strip_prefix("js@")
            .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
        if major.is_some_and(|major| major < 7) {
            return Err(incompatible(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn funnel(concurrent_requests: usize, requests_buffer_size: usize) -> Arc<Funnel> {
        let limits = Limits {
            concurrent_requests,
            requests_buffer_size,
            ..Limits::default()
        };
        Arc::new(Funnel::new(&limits))
    }

    #[tokio::test]
    async fn full_buffer_answers_overloaded() {
        let funnel = funnel(1, 1);
        let running = funnel.acquire_slot().await.unwrap();

        let queued = {
            let funnel = funnel.clone();
            tokio::spawn(async move { funnel.acquire_slot().await.map(drop) })
        };
        while funnel.waiting() == 0 {
            tokio::task::yield_now().await;
        }

        let rejected = funnel.acquire_slot().await.unwrap_err();
        assert_eq!(rejected.id(), ErrorId::ApiProcessOverloaded);
        assert_eq!(rejected.status(), 503);
        assert!(funnel.is_overloaded());

        drop(running);
        queued.await.unwrap().unwrap();
        assert_eq!(funnel.waiting(), 0);
    }

    #[tokio::test]
    async fn drain_rejects_new_requests() {
        let funnel = funnel(2, 10);
        assert!(funnel.drain(Duration::from_secs(1)).await);
        let error = funnel.acquire_slot().await.unwrap_err();
        assert_eq!(error.id(), ErrorId::ApiProcessShuttingDown);
    }

    #[tokio::test]
    async fn drain_waits_for_requests_in_flight() {
        let funnel = funnel(2, 10);
        let running = funnel.acquire_slot().await.unwrap();
        assert!(!funnel.drain(Duration::from_millis(50)).await);
        drop(running);
    }
}
