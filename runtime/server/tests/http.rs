//! HTTP protocol tests against a real server on 127.0.0.1.

use std::io::{Read as _, Write as _};

use palisade_test_harness::{ServerBuilder, TestServer};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

fn server() -> TestServer {
    TestServer::start(env!("CARGO_BIN_EXE_palisade"))
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

#[tokio::test]
async fn server_now_over_route() {
    let server = server();
    let response = Client::new()
        .get(format!("{}/_now", server.http_url()))
        .header("X-Kuzzle-Request-Id", "my-request")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["x-kuzzle-node"]
            .to_str()
            .unwrap()
            .starts_with("knode-")
    );
    assert_eq!(response.headers()["x-kuzzle-request-id"], "my-request");
    let body = json_of(response).await;
    assert_eq!(body["requestId"], "my-request");
    assert_eq!(body["controller"], "server");
    assert_eq!(body["action"], "now");
    assert!(body["result"]["now"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(body.get("room").is_none());
}

#[tokio::test]
async fn query_route_runs_payload() {
    let server = server();
    let response = Client::new()
        .post(format!("{}/_query", server.http_url()))
        .json(&json!({"controller": "server", "action": "info", "volatile": {"v": 1}}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    assert_eq!(body["result"]["serverInfo"]["kuzzle"]["version"], "2.56.0");
    assert_eq!(body["volatile"]["v"], 1);
    let routes = &body["result"]["serverInfo"]["kuzzle"]["api"]["routes"];
    assert_eq!(routes["server"]["now"]["http"][0]["url"], "/_now");
}

#[tokio::test]
async fn unknown_controller_and_unbuilt_routes() {
    let server = server();
    let client = Client::new();

    let unknown = client
        .post(format!("{}/_query", server.http_url()))
        .json(&json!({"controller": "nope", "action": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body = json_of(unknown).await;
    assert_eq!(body["error"]["id"], "api.process.controller_not_found");
    assert_eq!(body["error"]["code"], 33685508);

    let action = client
        .post(format!("{}/_query", server.http_url()))
        .json(&json!({"controller": "server", "action": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(action).await["error"]["id"],
        "api.process.action_not_found"
    );

    // The `debug` controller exists in Kuzzle's route table but not in Palisade.
    let unbuilt = client
        .get(format!("{}/debug/_nodeVersion", server.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unbuilt.status(), StatusCode::NOT_FOUND);
    let body = json_of(unbuilt).await;
    assert_eq!(body["error"]["id"], "api.process.controller_not_found");
    assert_eq!(body["controller"], "debug");
}

#[tokio::test]
async fn unknown_url_is_bare_error() {
    let server = server();
    let response = Client::new()
        .get(format!("{}/users/a/b", server.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json_of(response).await;
    assert_eq!(body["id"], "network.http.url_not_found");
    assert!(body.get("requestId").is_none());
}

#[tokio::test]
async fn unknown_verb_rejected() {
    let server = server();
    let verb = Method::from_bytes(b"PROPFIND").unwrap();
    let response = Client::new()
        .request(verb, format!("{}/_now", server.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(response).await["id"],
        "network.http.unsupported_verb"
    );
}

#[tokio::test]
async fn cors_options_and_head() {
    let server = server();
    let client = Client::new();

    let options = client
        .request(Method::OPTIONS, format!("{}/_now", server.http_url()))
        .header("Origin", "http://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::OK);
    assert_eq!(
        options.headers()["access-control-allow-origin"],
        "http://app.example"
    );
    assert_eq!(options.headers()["vary"], "Origin");
    assert_eq!(
        options.headers()["access-control-allow-credentials"],
        "true"
    );
    assert!(
        options.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("X-Kuzzle-Volatile")
    );

    let head = client.head(server.http_url()).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
}

#[tokio::test]
async fn disallowed_origin_rejected() {
    let server = ServerBuilder::new(env!("CARGO_BIN_EXE_palisade"))
        .env(
            "PALISADE_HTTP__ACCESS_CONTROL_ALLOW_ORIGIN",
            "http://good.example",
        )
        .start();
    let client = Client::new();
    let bad = client
        .get(format!("{}/_now", server.http_url()))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(bad).await["id"], "api.process.unauthorized_origin");
    let good = client
        .get(format!("{}/_now", server.http_url()))
        .header("Origin", "http://good.example")
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::OK);
}

#[tokio::test]
async fn health_and_ready_routes() {
    let server = server();
    let client = Client::new();
    for path in ["/_healthcheck", "/_ready", "/_healthCheck"] {
        let response = client
            .get(format!("{}{path}", server.http_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let health = json_of(
        client
            .get(format!("{}/_healthCheck", server.http_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health["result"]["status"], "green");
}

#[tokio::test]
async fn gzip_request_and_response() {
    let server = server();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(br#"{"controller":"server","action":"publicApi"}"#)
        .unwrap();
    let compressed = encoder.finish().unwrap();

    let response = Client::new()
        .post(format!("{}/_query", server.http_url()))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .header("Accept-Encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");

    let bytes = response.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(body["result"]["server"]["now"].is_object());
}

#[tokio::test]
async fn deflate_request_body() {
    let server = server();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(br#"{"controller":"server","action":"now"}"#)
        .unwrap();
    let response = Client::new()
        .post(format!("{}/_query", server.http_url()))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "deflate")
        .body(encoder.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn pretty_output_is_indented() {
    let server = server();
    let text = Client::new()
        .get(format!("{}/_now?pretty", server.http_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("\n  \"requestId\""), "{text}");
}

#[tokio::test]
async fn oversized_body_rejected_with_413() {
    let server = ServerBuilder::new(env!("CARGO_BIN_EXE_palisade"))
        .env("PALISADE_SERVER__MAX_REQUEST_SIZE", "1KB")
        .start();
    let payload = json!({"controller": "server", "action": "now", "pad": "x".repeat(4096)});
    let response = Client::new()
        .post(format!("{}/_query", server.http_url()))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        json_of(response).await["id"],
        "network.http.request_too_large"
    );
}

#[test]
fn chunked_body_stops_at_limit() {
    let server = ServerBuilder::new(env!("CARGO_BIN_EXE_palisade"))
        .env("PALISADE_SERVER__MAX_REQUEST_SIZE", "1KB")
        .start();
    let mut stream = std::net::TcpStream::connect(server.address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let head = "POST /_query HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = "x".repeat(512);
    // Up to 8 KiB are sent without a declared length; the server must answer before the end.
    for _ in 0..16 {
        if stream
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .is_err()
        {
            break;
        }
    }
    let mut answer = vec![0; 4096];
    let read = stream.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("network.http.request_too_large"),
        "{answer}"
    );
}

#[tokio::test]
async fn malformed_json_and_content_type() {
    let server = server();
    let client = Client::new();
    let broken = client
        .post(format!("{}/_query", server.http_url()))
        .header("Content-Type", "application/json")
        .body("{\"controller\":")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(broken).await["id"],
        "network.http.body_parse_failed"
    );

    let xml = client
        .post(format!("{}/_query", server.http_url()))
        .header("Content-Type", "text/xml")
        .body("<a/>")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(xml).await["id"], "network.http.unsupported_content");
}

#[tokio::test]
async fn tokens_from_header_and_cookie() {
    let server = server();
    let client = Client::new();
    let url = format!("{}/_now", server.http_url());

    let bearer = client
        .get(&url)
        .header("Authorization", "Bearer kauth-forged")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(bearer).await["error"]["id"],
        "security.token.invalid"
    );

    let cookie = client
        .get(&url)
        .header("Cookie", "a=b; authToken=kauth-forged")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(cookie).await["error"]["id"],
        "security.token.invalid"
    );

    let both = client
        .get(&url)
        .header("Authorization", "Bearer x")
        .header("Cookie", "authToken=y")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(both).await["id"],
        "security.token.verification_error"
    );

    let check = client
        .post(format!("{}/_checkToken", server.http_url()))
        .json(&json!({"token": "kauth-forged"}))
        .send()
        .await
        .unwrap();
    let body = json_of(check).await;
    assert_eq!(body["result"]["valid"], false);
}

#[tokio::test]
async fn volatile_header_echoed() {
    let server = server();
    let client = Client::new();
    let url = format!("{}/_now", server.http_url());
    let ok = client
        .get(&url)
        .header("X-Kuzzle-Volatile", r#"{"tag":"t1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(ok).await["volatile"]["tag"], "t1");

    let bad = client
        .get(&url)
        .header("X-Kuzzle-Volatile", "{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(bad).await["id"],
        "network.http.volatile_parse_failed"
    );
}

#[tokio::test]
async fn old_sdk_rejected() {
    let server = server();
    let response = Client::new()
        .post(format!("{}/_query", server.http_url()))
        .json(
            &json!({"controller": "server", "action": "now", "volatile": {"sdkName": "js@6.2.1"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(response).await["error"]["id"],
        "api.process.incompatible_sdk_version"
    );
}

#[tokio::test]
async fn missing_argument_names_it() {
    let server = server();
    let response = Client::new()
        .post(format!("{}/_query", server.http_url()))
        .json(&json!({"controller": "auth", "action": "checkToken", "body": {"token": 42}}))
        .send()
        .await
        .unwrap();
    let body = json_of(response).await;
    assert_eq!(body["error"]["id"], "api.assert.invalid_type");
    assert_eq!(body["error"]["props"][0], "body.token");
}

#[tokio::test]
async fn server_actions_answer() {
    let server = server();
    let client = Client::new();
    let get = |path: &str| client.get(format!("{}{path}", server.http_url())).send();

    let admin = json_of(get("/_adminExists").await.unwrap()).await;
    assert_eq!(admin["result"]["exists"], false);

    let config = json_of(get("/_getConfig").await.unwrap()).await;
    assert_eq!(config["result"]["limits"]["concurrentRequests"], 100);

    let capabilities = json_of(get("/_capabilities").await.unwrap()).await;
    assert_eq!(
        capabilities["result"]["limits"]["documentsFetchCount"],
        10000
    );

    let openapi = get("/_openapi").await.unwrap();
    assert_eq!(openapi.headers()["content-type"], "application/json");
    let document = json_of(openapi).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/_now"]["get"].is_object());
    assert!(document["paths"]["/{index}/_create"]["post"].is_object());
    assert!(
        document["paths"].get("/debug/_nodeVersion").is_none(),
        "unbuilt controllers are not documented"
    );

    let metrics = get("/_metrics").await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "palisade_requests_total{controller=\"server\",action=\"adminExists\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("palisade_request_duration_seconds_count"));
}
