//! The registry of open WebSocket connections.
//!
//! Each connection has a bounded outgoing queue of `websocket.maxBackpressure` messages. A push
//! never waits. A full queue means the client is not reading fast enough, so the connection is
//! closed with code 1011. Memory stays bounded, and the sender (a request task or the
//! notification fan-out that serves every other subscriber) is never slowed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, watch};

/// A message queued for a client.
#[derive(Debug)]
pub enum Outgoing {
    /// A JSON text frame.
    Text(String),
}

/// The sending side of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    sender: mpsc::Sender<Outgoing>,
    overflow: Arc<Notify>,
}

impl ConnectionHandle {
    /// Queues a message. Returns false, and signals the connection to close, when its queue is full.
    pub fn push(&self, message: Outgoing) -> bool {
        match self.sender.try_send(message) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// What a connection loop receives when it registers.
#[derive(Debug)]
pub struct Registration {
    /// The handle to queue messages for this connection.
    pub handle: ConnectionHandle,
    /// The queue's receiving end, drained by the connection's writer.
    pub receiver: mpsc::Receiver<Outgoing>,
    /// Signalled when the queue overflowed.
    pub overflow: Arc<Notify>,
    /// Becomes true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Every open WebSocket connection, by connection id.
#[derive(Debug)]
pub struct Connections {
    max_backpressure: usize,
    by_id: Mutex<HashMap<String, ConnectionHandle>>,
    shutdown: watch::Sender<bool>,
    emptied: Notify,
}

impl Connections {
    /// An empty registry whose queues hold `max_backpressure` messages.
    pub fn new(max_backpressure: usize) -> Self {
        Self {
            max_backpressure,
            by_id: Mutex::new(HashMap::new()),
            shutdown: watch::channel(false).0,
            emptied: Notify::new(),
        }
    }

    /// Registers a new connection.
    pub fn register(&self, connection_id: &str) -> Registration {
        let (sender, receiver) = mpsc::channel(self.max_backpressure);
        let overflow = Arc::new(Notify::new());
        let handle = ConnectionHandle {
            sender,
            overflow: overflow.clone(),
        };
        self.by_id
            .lock()
            .insert(connection_id.to_owned(), handle.clone());
        Registration {
            handle,
            receiver,
            overflow,
            shutdown: self.shutdown.subscribe(),
        }
    }

    /// Removes a closed connection.
    pub fn unregister(&self, connection_id: &str) {
        let mut by_id = self.by_id.lock();
        by_id.remove(connection_id);
        if by_id.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    /// The handle of an open connection.
    pub fn get(&self, connection_id: &str) -> Option<ConnectionHandle> {
        self.by_id.lock().get(connection_id).cloned()
    }

    /// Number of open connections.
    pub fn len(&self) -> usize {
        self.by_id.lock().len()
    }

    /// Asks every connection to close, then waits up to `timeout` for them to finish.
    /// Returns whether all closed in time.
    pub async fn close_all(&self, timeout: Duration) -> bool {
        self.shutdown.send_replace(true);
        let wait = async {
            loop {
                let emptied = self.emptied.notified();
                if self.len() == 0 {
                    return;
                }
                emptied.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_queue_signals_overflow() {
        let connections = Connections::new(2);
        let registration = connections.register("c1");
        assert!(registration.handle.push(Outgoing::Text("a".into())));
        assert!(registration.handle.push(Outgoing::Text("b".into())));
        assert!(!registration.handle.push(Outgoing::Text("c".into())));
        tokio::time::timeout(Duration::from_secs(1), registration.overflow.notified())
            .await
            .expect("overflow signalled");
    }

    #[tokio::test]
    async fn close_all_waits_for_unregister() {
        let connections = Arc::new(Connections::new(4));
        let mut registration = connections.register("c1");
        let closer = connections.clone();
        tokio::spawn(async move {
            registration.shutdown.changed().await.unwrap();
            closer.unregister("c1");
        });
        assert!(connections.close_all(Duration::from_secs(2)).await);
        assert_eq!(connections.len(), 0);
    }
}
