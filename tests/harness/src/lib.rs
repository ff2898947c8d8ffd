//! Starts a real `palisade` server for tests, on 127.0.0.1 with a port the server picks itself.
//!
//! The server is started with `--port 0` and the harness reads the bound address from its
//! start-up log line, so parallel tests never race for a port. Each server gets its own
//! temporary data and plugins folders unless the test gives one, and is stopped with SIGTERM
//! when dropped.

mod component;
mod tls;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use component::wat_component;
pub use tls::TestCa;

/// The start-up log line that carries the bound address.
const LISTENING_MARKER: &str = "palisade listening on http://";
/// How long a server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Finds the `palisade` binary: `PALISADE_BIN`, else the workspace's debug build.
pub fn palisade_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PALISADE_BIN") {
        return PathBuf::from(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    target.join("debug/palisade")
}

/// Options for starting a server.
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    binary: PathBuf,
    env: Vec<(String, String)>,
    data_dir: Option<PathBuf>,
    plugins_dir: Option<PathBuf>,
}

impl ServerBuilder {
    /// A builder for the given binary (in the server's own tests, `env!("CARGO_BIN_EXE_palisade")`).
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            env: Vec::new(),
            data_dir: None,
            plugins_dir: None,
        }
    }

    /// Sets an environment variable, such as `PALISADE_LIMITS__CONCURRENT_REQUESTS`.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Uses an existing data folder, to restart a server on the same data.
    pub fn data_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(path.into());
        self
    }

    /// Uses an existing plugins folder, whose plugins load before the server listens.
    pub fn plugins_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.plugins_dir = Some(path.into());
        self
    }

    /// Starts the server and waits until it listens.
    ///
    /// # Panics
    ///
    /// When the server exits or does not listen within 30 s, with its output in the message.
    pub fn start(self) -> TestServer {
        let scratch = tempfile::tempdir().expect("temporary folder");
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| scratch.path().join("data"));
        let plugins_dir = self
            .plugins_dir
            .clone()
            .unwrap_or_else(|| scratch.path().join("plugins"));
        std::fs::create_dir_all(&plugins_dir).expect("plugins folder");

        let mut command = Command::new(&self.binary);
        command
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--plugins-dir")
            .arg(&plugins_dir)
            .env(
                "PALISADE_LOG",
                std::env::var("PALISADE_LOG").unwrap_or_else(|_| "info".into()),
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));

        let output = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = mpsc::channel();
        let readers = vec![
            collect(
                child.stdout.take().expect("stdout piped"),
                output.clone(),
                Some(address_sender),
            ),
            collect(
                child.stderr.take().expect("stderr piped"),
                output.clone(),
                None,
            ),
        ];

        let address = wait_for_address(&mut child, &address_receiver, &output);
        TestServer {
            child: Some(child),
            address,
            data_dir,
            plugins_dir,
            output,
            readers,
            _scratch: scratch,
        }
    }
}

/// A running `palisade` server.
#[derive(Debug)]
pub struct TestServer {
    child: Option<Child>,
    /// The address the server listens on.
    pub address: SocketAddr,
    /// The server's data folder.
    pub data_dir: PathBuf,
    /// The folder the server loads plugins from.
    pub plugins_dir: PathBuf,
    output: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    _scratch: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with default settings.
    pub fn start(binary: impl Into<PathBuf>) -> Self {
        ServerBuilder::new(binary).start()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.address)
    }

    /// The server's output so far (logs from stdout and stderr).
    pub fn output(&self) -> Vec<String> {
        self.output
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for the server to exit on its own, then for its last output lines to be read.
    ///
    /// Returns `None` when the server still runs after `timeout`; it is left running.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };

        self.child = None;
        self.join_readers();
        Some(status)
    }

    /// Waits until a line of the server's output satisfies `wanted`; false after `timeout`.
    ///
    /// Output reaches the test through reader threads, so a line the server has just written may
    /// not be there yet: poll rather than read once.
    pub fn wait_for_line(&self, wanted: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output().iter().any(|line| wanted(line)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the output readers, which end after the last line once the process has exited
    /// and its pipes have closed.
    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// Sends SIGTERM and waits for the process to exit (killing it after 15 s).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let status = wait_or_kill(&mut child, STOP_TIMEOUT);
        self.join_readers();
        status
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.join_readers();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn collect(
    stream: impl std::io::Read + Send + 'static,
    output: Arc<Mutex<Vec<String>>>,
    address_sender: Option<mpsc::Sender<SocketAddr>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let (Some(sender), Some(address)) = (&address_sender, parse_address(&line)) {
                let _ = sender.send(address);
            }
            if let Ok(mut lines) = output.lock() {
                lines.push(line);
            }
        }
    })
}

fn parse_address(line: &str) -> Option<SocketAddr> {
    let start = line.find(LISTENING_MARKER)? + LISTENING_MARKER.len();
    let rest = &line[start..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn wait_for_address(
    child: &mut Child,
    receiver: &mpsc::Receiver<SocketAddr>,
    output: &Mutex<Vec<String>>,
) -> SocketAddr {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(address) = receiver.recv_timeout(Duration::from_millis(50)) {
            return address;
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let _ = child.kill();
            std::thread::sleep(Duration::from_millis(100));
            let lines = output.lock().map(|l| l.join("\n")).unwrap_or_default();
            panic!("palisade did not start (exit: {exited:?}); output:\n{lines}");
        }
    }
}

fn wait_or_kill(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_parsed_from_log_line() {
        let line = "2026-12-04T16:35:01Z INFO palisade_server::server: palisade listening on \
                    http://127.0.0.1:41234 (HTTP and WebSocket) address=127.0.0.1:41234";
        assert_eq!(
            parse_address(line),
            Some("127.0.0.1:41234".parse().unwrap())
        );
        assert_eq!(parse_address("other line"), None);
    }
}
