//! `TokenExpired`: a WebSocket connection is linked to the last token it authenticated with,
//! and receives the notification when that token expires.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use serde_json::json;
use tokio::task::AbortHandle;

use crate::connections::Outgoing;
use crate::state::ServerState;

/// A function called with the server state and the id of a connection whose token just expired.
pub type TokenExpiredHook = Arc<dyn Fn(&ServerState, &str) + Send + Sync>;

/// The token a connection is linked to, and the timer that fires at its expiry.
#[derive(Debug)]
struct Link {
    token: String,
    timer: AbortHandle,
}

/// Timers sending `TokenExpired` to WebSocket connections, one per connection.
#[derive(Default)]
pub struct TokenExpiry {
    state: OnceLock<Weak<ServerState>>,
    links: Arc<Mutex<HashMap<String, Link>>>,
    hooks: Arc<RwLock<Vec<TokenExpiredHook>>>,
}

impl std::fmt::Debug for TokenExpiry {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TokenExpiry")
            .field("links", &self.links.lock().len())
            .field("hooks", &self.hooks.read().len())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

impl TokenExpiry {
    /// Gives the timers the server state, through which they reach the connections.
    pub fn attach(&self, state: &Arc<ServerState>) {
        let _ = self.state.set(Arc::downgrade(state));
    }

    /// Adds a hook run after a connection received `TokenExpired`.
    pub fn add_hook(&self, hook: TokenExpiredHook) {
        self.hooks.write().push(hook);
    }

    /// Links a connection to a token expiring at `expires_at` (milliseconds since the Unix
    /// epoch), replacing the connection's previous link. A token already linked keeps its timer.
    pub fn link(&self, connection_id: &str, token: &str, expires_at: u64) {
        let mut links = self.links.lock();
        if links
            .get(connection_id)
            .is_some_and(|link| link.token == token)
        {
            return;
        }
        let delay = Duration::from_millis(expires_at.saturating_sub(now_ms()));
        let timer =
            tokio::spawn(self.fire_after(connection_id.to_owned(), token.to_owned(), delay));
        let previous = links.insert(
            connection_id.to_owned(),
            Link {
                token: token.to_owned(),
                timer: timer.abort_handle(),
            },
        );
        if let Some(previous) = previous {
            previous.timer.abort();
        }
    }

    /// Removes a connection's link, if it is to `token` (on logout), or whatever it is (`None`,
    /// when the connection closes).
    pub fn unlink(&self, connection_id: &str, token: Option<&str>) {
        let mut links = self.links.lock();
        let matches = links
            .get(connection_id)
            .is_some_and(|link| token.is_none_or(|token| link.token == token));
        if matches && let Some(link) = links.remove(connection_id) {
            link.timer.abort();
        }
    }

    fn fire_after(
        &self,
        connection_id: String,
        token: String,
        delay: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        let state = self.state.get().cloned();
        let links = self.links.clone();
        let hooks = self.hooks.clone();
        async move {
            tokio::time::sleep(delay).await;
            {
                let mut links = links.lock();
                let current = links.get(&connection_id);
                if current.is_none_or(|link| link.token != token) {
                    return;
                }
                links.remove(&connection_id);
            }
            let Some(state) = state.and_then(|state| state.upgrade()) else {
                return;
            };
            let Some(connection) = state.connections.get(&connection_id) else {
                return;
            };
            let notification = json!({
                "type": "TokenExpired",
                "status": 200,
                "info": "This is an automated server notification",
                "message": "Authentication Token Expired",
                "node": state.node_id,
                "room": "kuzzle:notification:server",
            });
            connection.push(Outgoing::Text(palisade_api::json_text(&notification)));
            tracing::debug!(connection_id = %connection_id, "sent TokenExpired");
            let hooks: Vec<TokenExpiredHook> = hooks.read().clone();
            for hook in hooks {
                hook(&state, &connection_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::Value;

    use super::*;
    use crate::config::Config;

    async fn open_state(data: &tempfile::TempDir) -> Arc<ServerState> {
        let config = Config {
            data_dir: data.path().to_path_buf(),
            ..Config::default()
        };
        tokio::task::spawn_blocking(move || ServerState::open(config))
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expiry_notifies_and_runs_hooks() {
        let data = tempfile::tempdir().unwrap();
        let state = open_state(&data).await;
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let recorder = dropped.clone();
        state.security.on_token_expired(Arc::new(
            move |_state: &ServerState, connection_id: &str| {
                recorder.lock().push(connection_id.to_owned());
            },
        ));

        let mut expiring = state.connections.register("expiring");
        let mut kept = state.connections.register("kept");
        let soon = now_ms() + 100;
        state.security.expiry.link("expiring", "token-a", soon);
        state.security.expiry.link("kept", "token-b", soon);
        state.security.expiry.unlink("kept", Some("token-b"));

        let message = tokio::time::timeout(Duration::from_secs(5), expiring.receiver.recv())
            .await
            .expect("TokenExpired within 5 s")
            .expect("queue open");
        let Outgoing::Text(text) = message;
        let notification: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(notification["type"], "TokenExpired");
        assert_eq!(notification["room"], "kuzzle:notification:server");
        assert_eq!(notification["node"], state.node_id.as_str());

        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(*dropped.lock(), vec!["expiring".to_owned()]);
        assert!(
            kept.receiver.try_recv().is_err(),
            "unlinked connection notified"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_token_replaces_link() {
        let data = tempfile::tempdir().unwrap();
        let state = open_state(&data).await;
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        state.security.on_token_expired(Arc::new(
            move |_state: &ServerState, _connection_id: &str| {
                counter.fetch_add(1, Ordering::Relaxed);
            },
        ));

        let mut connection = state.connections.register("c");
        state.security.expiry.link("c", "old", now_ms() + 100);
        state.security.expiry.link("c", "new", now_ms() + 60_000);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            connection.receiver.try_recv().is_err(),
            "replaced token fired"
        );
        assert_eq!(calls.load(Ordering::Relaxed), 0);
    }
}
