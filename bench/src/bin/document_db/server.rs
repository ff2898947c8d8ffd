//! The `palisade` server as a child process on 127.0.0.1, so that its memory is its own.

use std::path::{Path, PathBuf};

use palisade_test_harness::{ServerBuilder, TestServer};

/// Starts the release `palisade` binary (or `PALISADE_BIN`) on a free port of 127.0.0.1, with its
/// data in `data_dir`, and waits until it listens.
pub fn start(data_dir: &Path) -> TestServer {
    let binary = std::env::var_os("PALISADE_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/palisade"),
        PathBuf::from,
    );
    ServerBuilder::new(binary)
        .data_dir(data_dir.join("server"))
        .env("PALISADE_LOG", "warn,palisade_server=info")
        .start()
}

/// Returns the resident set size of the process `pid`, in bytes, from `/proc/PID/status`
/// (`VmRSS`, in kB).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
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
