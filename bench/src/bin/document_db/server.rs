//! The `palisade` server as a child process on 127.0.0.1, so that its memory is its own.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server process and its address.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
}

impl Server {
    /// Starts the release `palisade` binary (or `PALISADE_BIN`) on a free port of 127.0.0.1,
    /// with its data in `data_dir`, and waits for its start-up log line.
    pub fn start(data_dir: &Path) -> Self {
        let binary = std::env::var_os("PALISADE_BIN").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/palisade"),
            PathBuf::from,
        );
        std::fs::create_dir_all(data_dir.join("plugins")).expect("plugins folder");
        let mut child = Command::new(&binary)
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .arg("--data-dir")
            .arg(data_dir.join("server"))
            .arg("--plugins-dir")
            .arg(data_dir.join("plugins"))
            .env("PALISADE_LOG", "warn,palisade_server=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let address = read_address(&mut child);
        Self { child, address }
    }

    /// Returns the resident set size of the server process, in bytes, from
    /// `/proc/PID/status` (`VmRSS`, in kB).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status is readable");
        let line = status
            .lines()
            .find(|line| line.starts_with("VmRSS:"))
            .expect("VmRSS in /proc/PID/status");
        let kilobytes: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|value| value.parse().ok())
            .expect("VmRSS value in kB");
        kilobytes * 1024
    }

    /// Stops the server and waits for it to exit.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_address(child: &mut Child) -> SocketAddr {
    let stdout = child.stdout.take().expect("stdout piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        const MARKER: &str = "palisade listening on http://";
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(start) = line.find(MARKER) {
                let rest = &line[start + MARKER.len()..];
                let address = rest.split_whitespace().next().unwrap_or_default();
                let _ = sender.send(address.parse::<SocketAddr>());
            }
        }
    });
    receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("server listens within 30 s")
        .expect("address in the start-up line")
}
