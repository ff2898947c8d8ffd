//! Request counters and latency histogram, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<Histogram>,
    websocket_connections: AtomicI64,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Counts one finished request.
    pub fn record_request(&self, controller: &str, action: &str, status: u16, elapsed: Duration) {
        {
            let mut requests = self.requests.lock();
            let key = (controller.to_owned(), action.to_owned(), status);
            *requests.entry(key).or_insert(0) += 1;
        }

        let seconds = elapsed.as_secs_f64();
        let mut latency = self.latency.lock();
        latency.count += 1;
        latency.sum += seconds;
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            latency.buckets[bucket] += 1;
        }
    }

    /// Counts a WebSocket connection opening (`+1`) or closing (`-1`).
    pub fn websocket_connections_add(&self, delta: i64) {
        self.websocket_connections
            .fetch_add(delta, Ordering::Relaxed);
    }

    /// Number of open WebSocket connections.
    pub fn websocket_connections(&self) -> i64 {
        self.websocket_connections.load(Ordering::Relaxed)
    }

    /// Renders every metric in the Prometheus text exposition format, version 0.0.4.
    pub fn render(&self, waiting_requests: usize) -> String {
        let mut out = String::new();

        out.push_str(
            "# HELP palisade_requests_total Requests answered, by controller, action and status.\n",
        );
        out.push_str("# TYPE palisade_requests_total counter\n");
        for ((controller, action, status), count) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "palisade_requests_total{{controller=\"{}\",action=\"{}\",status=\"{status}\"}} {count}",
                escape_label(controller),
                escape_label(action),
            );
        }

        self.render_latency(&mut out);

        out.push_str("# HELP palisade_websocket_connections Open WebSocket connections.\n");
        out.push_str("# TYPE palisade_websocket_connections gauge\n");
        let _ = writeln!(
            out,
            "palisade_websocket_connections {}",
            self.websocket_connections()
        );

        out.push_str("# HELP palisade_requests_waiting Requests waiting in the request buffer.\n");
        out.push_str("# TYPE palisade_requests_waiting gauge\n");
        let _ = writeln!(out, "palisade_requests_waiting {waiting_requests}");
        out
    }

    fn render_latency(&self, out: &mut String) {
        let latency = self.latency.lock();
        out.push_str("# HELP palisade_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE palisade_request_duration_seconds histogram\n");

        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS.iter().zip(latency.buckets) {
            cumulative += count;
            let _ = writeln!(
                out,
                "palisade_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "palisade_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            latency.count
        );
        let _ = writeln!(out, "palisade_request_duration_seconds_sum {}", latency.sum);
        let _ = writeln!(
            out,
            "palisade_request_duration_seconds_count {}",
            latency.count
        );
    }
}

/// Escapes a label value: controller and action names come from clients and may hold anything.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.record_request("server", "now", 200, Duration::from_micros(300));
        metrics.record_request("server", "now", 200, Duration::from_millis(20));
        metrics.record_request("x\"y", "a", 404, Duration::from_secs(10));
        metrics.websocket_connections_add(1);

        let text = metrics.render(3);
        assert!(text.contains(
            "palisade_requests_total{controller=\"server\",action=\"now\",status=\"200\"} 2"
        ));
        assert!(text.contains("controller=\"x\\\"y\""));
        assert!(text.contains("palisade_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("palisade_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("palisade_request_duration_seconds_count 3"));
        assert!(text.contains("palisade_websocket_connections 1"));
        assert!(text.contains("palisade_requests_waiting 3"));
    }
}
