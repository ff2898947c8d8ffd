//! The rights table: every action of the native controllers (`auth`, `security`, `server`,
//! `admin`, `index`, `collection`, `document`, `bulk` and `realtime`), allowed by a role that grants it and denied by one that does not, with and
//! without `restrictedTo`, as anonymous and as a logged-in user.

mod support;

use palisade_test_harness::TestServer;
use serde_json::{Value, json};
use support::{Api, error_id};

/// Controllers whose every action the table covers.
const CONTROLLERS: [&str; 9] = [
    "auth",
    "security",
    "server",
    "admin",
    "index",
    "collection",
    "document",
    "bulk",
    "realtime",
];

/// Arguments that make an action fail after the rights check, so that running it as an allowed
/// user changes nothing the rest of the table depends on.
fn harmless_args(controller: &str, action: &str) -> Value {
    match (controller, action) {
        ("auth", "logout") => json!({"global": "not a boolean"}),
        ("auth", "refreshToken" | "createToken") => json!({"expiresIn": "not a duration"}),
        _ => json!({}),
    }
}

/// Actions run only in the denied cases: allowing them would reset or stop the server.
fn is_destructive(controller: &str, action: &str) -> bool {
    controller == "admin"
        && matches!(
            action,
            "resetSecurity" | "resetDatabase" | "resetKuzzleData" | "shutdown" | "loadSecurities"
        )
}

/// Lists the actions of [`CONTROLLERS`] from `server:publicApi`.
async fn implemented_actions(api: &Api, admin: &str) -> Vec<(String, String)> {
    let definition = api
        .ok(
            json!({"controller": "server", "action": "publicApi"}),
            Some(admin),
        )
        .await;
    let mut actions = Vec::new();
    for controller in CONTROLLERS {
        let Some(listed) = definition[controller].as_object() else {
            continue;
        };
        for action in listed.keys() {
            actions.push((controller.to_owned(), action.clone()));
        }
    }
    actions
}

/// Builds a request payload for `controller:action` on `index`.
fn payload(controller: &str, action: &str, index: Option<&str>) -> Value {
    let mut payload = harmless_args(controller, action);
    payload["controller"] = json!(controller);
    payload["action"] = json!(action);
    if let Some(index) = index {
        payload["index"] = json!(index);
    }
    payload
}

/// Returns a role's controllers granting `controller:action`, plus what anonymous clients need
/// to log in.
fn grants(controller: &str, action: &str) -> Value {
    let mut controllers = json!({"auth": {"actions": {"checkToken": true, "login": true}}});
    controllers[controller]["actions"][action] = json!(true);
    controllers
}

/// Returns an action other than `controller:action`, for a role that does not grant it.
fn other_action(controller: &str, action: &str) -> (&'static str, &'static str) {
    if (controller, action) == ("server", "now") {
        ("server", "info")
    } else {
        ("server", "now")
    }
}

struct Case<'a> {
    name: &'static str,
    token: Option<&'a str>,
    index: Option<&'static str>,
    expected: Expected,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    Allowed,
    Unauthorized,
    Forbidden,
}

fn check(envelope: &Value, expected: Expected, label: &str) {
    let id = error_id(envelope);
    // Actions on the current user's own data reject anonymous users themselves, after the
    // funnel allowed them; their message names the action.
    let message = envelope["error"]["message"].as_str().unwrap_or_default();
    if expected == Expected::Allowed && message.contains("needs a logged-in user") {
        assert_eq!(id, "security.rights.unauthorized", "{label}");
        return;
    }
    match expected {
        Expected::Allowed => assert!(
            !id.starts_with("security.rights.")
                && id != "security.token.invalid"
                && id != "security.token.expired",
            "{label}: expected allowed, got {}",
            envelope["error"]
        ),
        Expected::Unauthorized => {
            assert_eq!(id, "security.rights.unauthorized", "{label}");
            assert_eq!(envelope["status"], 401, "{label}");
        }
        Expected::Forbidden => {
            assert_eq!(id, "security.rights.forbidden", "{label}");
            assert_eq!(envelope["status"], 403, "{label}");
        }
    }
}

#[tokio::test]
async fn rights_table_covers_every_action() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    // `tester` has the role under test everywhere; `restricted` only on index `allowed-index`.
    api.put_role(
        &admin,
        "under-test",
        json!({"server": {"actions": {"now": true}}}),
    )
    .await;
    api.put_profile(&admin, "open", json!([{"roleId": "under-test"}]))
        .await;
    let restricted_to =
        json!([{"roleId": "under-test", "restrictedTo": [{"index": "allowed-index"}]}]);
    api.put_profile(&admin, "restricted", restricted_to).await;
    api.create_user(&admin, "tester", "open", "tester-password")
        .await;
    api.create_user(&admin, "restricted", "restricted", "restricted-password")
        .await;
    let tester = api.login("tester", "tester-password").await;
    let restricted = api.login("restricted", "restricted-password").await;

    let actions = implemented_actions(&api, &admin).await;
    for expected in [
        ("auth", "login"),
        ("security", "createUser"),
        ("server", "now"),
        ("index", "create"),
        ("collection", "updateMapping"),
        ("document", "mCreate"),
        ("bulk", "import"),
        ("realtime", "subscribe"),
    ] {
        assert!(
            actions.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from the table"
        );
    }

    for (controller, action) in &actions {
        let (controller, action) = (controller.as_str(), action.as_str());
        let (other_controller, other) = other_action(controller, action);

        // `auth:checkToken` and `auth:login` ignore the token and always run as anonymous.
        let token_less = controller == "auth" && matches!(action, "checkToken" | "login");

        // Logged-in users, with the role granting the action, then without it.
        if !token_less {
            api.put_role(&admin, "under-test", grants(controller, action))
                .await;
            let mut cases = vec![
                case("granted", Some(&tester), None, Expected::Allowed),
                case(
                    "restricted, allowed index",
                    Some(&restricted),
                    Some("allowed-index"),
                    Expected::Allowed,
                ),
                case(
                    "restricted, no index",
                    Some(&restricted),
                    None,
                    Expected::Allowed,
                ),
                case(
                    "restricted, other index",
                    Some(&restricted),
                    Some("other-index"),
                    Expected::Forbidden,
                ),
            ];
            if is_destructive(controller, action) {
                cases.retain(|case| case.expected != Expected::Allowed);
            }
            run_cases(&api, controller, action, &cases).await;

            api.put_role(&admin, "under-test", grants(other_controller, other))
                .await;
            let cases = [case(
                "not granted",
                Some(&tester),
                None,
                Expected::Forbidden,
            )];
            run_cases(&api, controller, action, &cases).await;
        }

        // Anonymous, with the anonymous role granting the action, then without it.
        if !is_destructive(controller, action) {
            api.put_role(&admin, "anonymous", grants(controller, action))
                .await;
            let cases = [case("anonymous granted", None, None, Expected::Allowed)];
            run_cases(&api, controller, action, &cases).await;
        }
        let mut denying = json!({});
        denying[other_controller]["actions"][other] = json!(true);
        api.put_role(&admin, "anonymous", denying).await;
        let cases = [case(
            "anonymous not granted",
            None,
            None,
            Expected::Unauthorized,
        )];
        run_cases(&api, controller, action, &cases).await;
    }
}

fn case<'a>(
    name: &'static str,
    token: Option<&'a str>,
    index: Option<&'static str>,
    expected: Expected,
) -> Case<'a> {
    Case {
        name,
        token,
        index,
        expected,
    }
}

async fn run_cases(api: &Api, controller: &str, action: &str, cases: &[Case<'_>]) {
    for case in cases {
        let envelope = api
            .query(payload(controller, action, case.index), case.token)
            .await;
        let label = format!("{controller}:{action} ({})", case.name);
        check(&envelope, case.expected, &label);
    }
}

#[tokio::test]
async fn targets_need_every_index() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    api.put_role(
        &admin,
        "reader",
        json!({"server": {"actions": {"now": true}}}),
    )
    .await;
    let policies = json!([{"roleId": "reader", "restrictedTo": [{"index": "a"}, {"index": "b", "collections": ["c"]}]}]);
    api.put_profile(&admin, "reader", policies).await;
    api.create_user(&admin, "reader", "reader", "reader-password")
        .await;
    let reader = api.login("reader", "reader-password").await;

    let with_targets =
        |targets: Value| json!({"controller": "server", "action": "now", "targets": targets});
    let allowed = [
        json!([{"index": "a"}]),
        json!([{"index": "a", "collections": ["x"]}, {"index": "b", "collections": ["c"]}]),
    ];
    for targets in allowed {
        let envelope = api
            .query(with_targets(targets.clone()), Some(&reader))
            .await;
        assert_eq!(
            envelope["status"], 200,
            "targets {targets}: {}",
            envelope["error"]
        );
    }
    let denied = [
        json!([{"index": "a"}, {"index": "z"}]),
        json!([{"index": "b", "collections": ["d"]}]),
        json!([{"index": "a*"}]),
    ];
    for targets in denied {
        let envelope = api
            .query(with_targets(targets.clone()), Some(&reader))
            .await;
        assert_eq!(
            error_id(&envelope),
            "security.rights.forbidden",
            "targets {targets}"
        );
    }

    // Over HTTP, `targets` arrives as JSON in the query string.
    let client = reqwest::Client::new();
    let url = format!("{}/_now", server.http_url());
    for (targets, status) in [
        (json!([{"index": "a"}]), 200),
        (json!([{"index": "z"}]), 403),
    ] {
        let encoded = percent_encoding::utf8_percent_encode(
            &targets.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let response = client
            .get(format!("{url}?targets={encoded}"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "HTTP targets {targets}");
    }
}

#[tokio::test]
async fn profile_rate_limit_applies() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    api.put_role(
        &admin,
        "limited",
        json!({"server": {"actions": {"now": true}}, "auth": {"actions": {"logout": true}}}),
    )
    .await;
    let payload = json!({"controller": "security", "action": "createOrReplaceProfile", "_id": "limited",
        "body": {"policies": [{"roleId": "limited"}], "rateLimit": 2}});
    api.ok(payload, Some(&admin)).await;
    api.create_user(&admin, "limited", "limited", "limited-password")
        .await;
    let token = api.login("limited", "limited-password").await;

    let now = json!({"controller": "server", "action": "now"});
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let envelope = api.query(now.clone(), Some(&token)).await;
        statuses.push((envelope["status"].clone(), error_id(&envelope).to_owned()));
    }
    assert!(
        statuses
            .iter()
            .any(|(_, id)| id == "api.process.too_many_requests"),
        "4 requests at 2 per second: {statuses:?}"
    );
    let logout = api
        .query(
            json!({"controller": "auth", "action": "logout"}),
            Some(&token),
        )
        .await;
    assert_eq!(
        logout["status"], 200,
        "logout is never rate limited: {}",
        logout["error"]
    );
}

#[tokio::test]
async fn internal_index_unreachable() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let direct = json!({"controller": "document", "action": "get", "index": "%palisade",
        "collection": "credentials-local", "_id": "admin"});
    let envelope = api.query(direct, Some(&admin)).await;
    assert_eq!(error_id(&envelope), "services.storage.index_protected");
    assert_eq!(envelope["status"], 400);

    let targets = json!({"controller": "document", "action": "search",
        "targets": [{"index": "public"}, {"index": "%palisade", "collections": ["users"]}]});
    let envelope = api.query(targets, Some(&admin)).await;
    assert_eq!(error_id(&envelope), "services.storage.index_protected");
}
