//! The registry's share of a broadcast: matching one published message against 10,000 rooms
//! and serializing the notifications, without any network.
//!
//! Subscriber `i` has the filter `to == "s<i>" or to == "all"`, as in `realtime_fanout`. The
//! benchmark times `Realtime::notify_document` for a message to `all` (10,000 deliveries) and to
//! one subscriber, then the serialization of the deliveries, best of `ROUNDS`.
//!
//! Run: `cargo run --release -p palisade-bench --bin realtime_match`

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::time::{Duration, Instant};

use palisade_realtime::{
    DocumentAction, DocumentChange, Origin, Realtime, RealtimeConfig, RequestContext,
    SubscriptionOptions,
};
use serde_json::json;

const SUBSCRIBERS: usize = 10_000;
const ROUNDS: usize = 5;

fn main() {
    let mut registry = Realtime::new(RealtimeConfig::default(), None);
    let origin = Origin {
        protocol: "websocket".into(),
        timestamp: 0,
    };
    for i in 0..SUBSCRIBERS {
        let filter =
            json!({"or": [{"equals": {"to": format!("s{i}")}}, {"equals": {"to": "all"}}]});
        let options = SubscriptionOptions::default();
        registry
            .subscribe(
                &format!("c{i}"),
                "bench",
                "fanout",
                &filter,
                options,
                &origin,
            )
            .unwrap();
    }

    println!("| message | deliveries | match ms | serialize ms |");
    println!("|---|---|---|---|");
    for to in ["all", "s5000"] {
        let change = publish(to);
        let mut best = (Duration::MAX, Duration::MAX, 0);
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let deliveries = registry.notify_document(&change);
            let matched = started.elapsed();

            let started = Instant::now();
            let bytes: usize = deliveries
                .iter()
                .map(|delivery| delivery.notification.to_string().len())
                .sum();
            let serialized = started.elapsed();
            assert!(bytes > 0);
            best = (
                best.0.min(matched),
                best.1.min(serialized),
                deliveries.len(),
            );
        }
        println!(
            "| to `{to}` | {} | {:.2} | {:.2} |",
            best.2,
            best.0.as_secs_f64() * 1000.0,
            best.1.as_secs_f64() * 1000.0
        );
    }
}

fn publish(to: &str) -> DocumentChange {
    DocumentChange {
        index: "bench".into(),
        collection: "fanout".into(),
        id: None,
        action: DocumentAction::Publish,
        old_source: None,
        new_source: Some(json!({"to": to, "_kuzzle_info": {"author": "-1", "createdAt": 0}})),
        version: None,
        request: RequestContext {
            request_id: "bench".into(),
            timestamp: 0,
            volatile: json!({"sdkInstanceId": "bench"}),
            protocol: "websocket".into(),
            controller: "realtime".into(),
        },
        from_cluster: false,
    }
}
