//! The node's realtime registry and the delivery of its notifications to WebSocket connections.
//!
//! Subscribing, matching and counting happen in memory under one lock, and no `.await` ever runs
//! while it is held. Notifications are then pushed to each connection's bounded queue without
//! waiting, so a slow client is closed (see `connections.rs`) instead of slowing the others.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use palisade_realtime::{Delivery, EngineConfig, Origin, Realtime, RealtimeConfig};
use parking_lot::Mutex;
use tracing::{debug, warn};

use crate::config::Config;
use crate::connections::{Connections, Outgoing};
use crate::state::ServerState;

/// File in the data folder holding the room id seed, as 64 hexadecimal digits.
const SEED_FILE: &str = "realtime-seed";
/// Bytes of the room id seed (the HMAC-SHA256 key of room ids).
const SEED_LEN: usize = 32;

/// The realtime registry behind its lock, and the lock that keeps deliveries in order.
#[derive(Debug)]
pub struct RealtimeHub {
    registry: Mutex<Realtime>,
    /// Held while pushing one batch of notifications. It is taken before the registry lock is
    /// released, so batches reach every connection in the order the registry produced them.
    delivery: Mutex<()>,
}

impl RealtimeHub {
    /// Creates the registry from the `limits` settings, with the room id seed stored in the
    /// data folder (created on first start).
    ///
    /// # Errors
    ///
    /// The I/O error when the seed file cannot be read or written, or contains no valid seed.
    pub fn open(config: &Config, node_id: &str) -> io::Result<Self> {
        let seed = load_or_create_seed(&config.data_dir)?;
        let limits = &config.limits;
        let engine = EngineConfig {
            seed,
            max_conditions: limits.subscription_conditions_count,
            ..EngineConfig::default()
        };
        let realtime_config = RealtimeConfig {
            engine,
            max_rooms: limits.subscription_rooms,
            node_id: node_id.to_owned(),
        };
        let document_ttl = match limits.subscription_document_ttl {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        };
        Ok(Self {
            registry: Mutex::new(Realtime::new(realtime_config, document_ttl)),
            delivery: Mutex::new(()),
        })
    }

    /// Runs `change` on the registry, then pushes the notifications it returns.
    pub fn update<T>(
        &self,
        connections: &Connections,
        change: impl FnOnce(&mut Realtime) -> (T, Vec<Delivery>),
    ) -> T {
        let mut registry = self.registry.lock();
        let (value, deliveries) = change(&mut registry);
        if deliveries.is_empty() {
            return value;
        }

        let order = self.delivery.lock();
        drop(registry);
        push_all(connections, deliveries);
        drop(order);
        value
    }

    /// Reads the registry.
    pub fn read<T>(&self, read: impl FnOnce(&Realtime) -> T) -> T {
        read(&self.registry.lock())
    }
}

/// Sends each notification to the connections of its channel, serializing it once per channel.
/// Connections that closed meanwhile are skipped.
fn push_all(connections: &Connections, deliveries: Vec<Delivery>) {
    for delivery in deliveries {
        let text = palisade_api::json_text(&delivery.notification);
        for connection_id in &delivery.connection_ids {
            let Some(handle) = connections.get(connection_id) else {
                continue;
            };
            if !handle.push(Outgoing::Text(text.clone())) {
                debug!(%connection_id, channel = %delivery.channel, "notification dropped: queue full or closed");
            }
        }
    }
}

impl ServerState {
    /// Removes every subscription of a connection and sends the `out` user notifications to the
    /// remaining subscribers. Called when a WebSocket closes and when the token linked to a
    /// connection expires.
    pub fn drop_subscriptions(&self, connection_id: &str) {
        let origin = Origin {
            protocol: "websocket".to_owned(),
            timestamp: now_ms(),
        };
        self.realtime.update(&self.connections, |registry| {
            ((), registry.disconnect(connection_id, &origin))
        });
    }

    /// Registers the hook that drops a connection's subscriptions when its token expires.
    pub fn drop_subscriptions_on_token_expiry(&self) {
        self.security
            .on_token_expired(Arc::new(|state: &ServerState, connection_id: &str| {
                state.drop_subscriptions(connection_id);
            }));
    }

    /// Drops the subscriptions of a connection that closed while one of its requests was
    /// subscribing. The close handler unregisters the connection before dropping its
    /// subscriptions, so a subscription added after that is found here.
    pub fn drop_subscriptions_if_closed(&self, connection_id: &str) {
        if self.connections.get(connection_id).is_none() {
            self.drop_subscriptions(connection_id);
        }
    }
}

/// Reads the room id seed from the data folder, or generates and stores one. Room ids are
/// HMACs keyed by it, so keeping it makes a filter's room id the same across restarts.
fn load_or_create_seed(data_dir: &Path) -> io::Result<Vec<u8>> {
    let path = data_dir.join(SEED_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_seed(text.trim()).ok_or_else(|| invalid_seed(&path)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let seed = random_seed();
            write_seed(data_dir, &path, &seed)?;
            Ok(seed)
        }
        Err(error) => Err(io::Error::new(
            error.kind(),
            format!("cannot read the room id seed `{}`: {error}", path.display()),
        )),
    }
}

fn invalid_seed(path: &Path) -> io::Error {
    warn!(path = %path.display(), "invalid room id seed file");
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "invalid room id seed in `{}`: expected {} hexadecimal digits; delete the file to \
             generate a new seed (room ids then change)",
            path.display(),
            SEED_LEN * 2
        ),
    )
}

fn parse_seed(text: &str) -> Option<Vec<u8>> {
    if text.len() != SEED_LEN * 2 || !text.is_ascii() {
        return None;
    }
    (0..SEED_LEN)
        .map(|i| u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok())
        .collect()
}

/// Generates a seed from two UUID v4 values, which carry 244 bits from the OS random generator.
fn random_seed() -> Vec<u8> {
    let mut seed = Vec::with_capacity(SEED_LEN);
    seed.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed
}

/// Writes the seed to a temporary file, then renames it, so a crash never leaves half a seed.
fn write_seed(data_dir: &Path, path: &PathBuf, seed: &[u8]) -> io::Result<()> {
    let context = |error: io::Error| {
        io::Error::new(
            error.kind(),
            format!(
                "cannot write the room id seed `{}`: {error}",
                path.display()
            ),
        )
    };
    std::fs::create_dir_all(data_dir).map_err(context)?;
    let temporary = data_dir.join(format!("{SEED_FILE}.tmp"));
    let hex: String = seed.iter().map(|byte| format!("{byte:02x}")).collect();

    let mut file = std::fs::File::create(&temporary).map_err(context)?;
    file.write_all(format!("{hex}\n").as_bytes())
        .map_err(context)?;
    file.sync_all().map_err(context)?;
    std::fs::rename(&temporary, path).map_err(context)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_persists_across_opens() {
        let folder = tempfile::tempdir().unwrap();
        let first = load_or_create_seed(folder.path()).unwrap();
        let second = load_or_create_seed(folder.path()).unwrap();
        assert_eq!(first.len(), SEED_LEN);
        assert_eq!(first, second);
    }

    #[test]
    fn corrupt_seed_is_rejected() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join(SEED_FILE), "not hex").unwrap();
        let error = load_or_create_seed(folder.path()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("delete the file"), "{error}");
    }

    #[test]
    fn seeds_differ_between_folders() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let a = load_or_create_seed(first.path()).unwrap();
        let b = load_or_create_seed(second.path()).unwrap();
        assert_ne!(a, b);
    }
}
