//! Runs the JavaScript SDK's example plugin (`plugin-sdk/js/examples/greeting.ts`) in a real
//! `PluginHost`, to check the SDK's paths through the host imports that its node tests only fake:
//! errors returned by `api.call`, the current-user identity and the host clock.
//!
//! The component is built outside cargo (`npm ci && npm run build:example` in `plugin-sdk/js`),
//! so these tests run only when `PALISADE_PLUGINS_BUILD_DIR` names a folder that contains
//! `js-sdk-example.wasm`. Otherwise each test prints why it is skipped and passes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use palisade_plugins::{
    ApiError, HostServices, Identity, NOT_GRANTED_ID, Plugin, PluginHost, PluginHostConfig,
    Request, RequestParts, User,
};

const BUILD_DIR_VARIABLE: &str = "PALISADE_PLUGINS_BUILD_DIR";
const COMPONENT_FILE: &str = "js-sdk-example.wasm";

/// Returns the example plugin with the default services, loaded once per test binary, or `None`
/// after printing why the test is skipped.
#[allow(clippy::print_stderr)]
fn plugin() -> Option<&'static Plugin> {
    static LOADED: OnceLock<Option<(PluginHost, Plugin)>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let Some(folder) = std::env::var_os(BUILD_DIR_VARIABLE) else {
                eprintln!(
                    "skipped: {BUILD_DIR_VARIABLE} is not set; run `npm run build:example` in plugin-sdk/js and set it to its dist folder"
                );
                return None;
            };
            let path = PathBuf::from(folder).join(COMPONENT_FILE);
            if !path.is_file() {
                eprintln!(
                    "skipped: {} does not exist; run `npm ci && npm run build:example` in plugin-sdk/js",
                    path.display()
                );
                return None;
            }
            let bytes = std::fs::read(&path).expect("the component file is readable");
            let host = PluginHost::new(PluginHostConfig {
                max_instances: 8,
                ..PluginHostConfig::default()
            })
            .expect("the host starts");
            let plugin = host
                .load("greeting", &bytes)
                .expect("the component compiles and links against the host imports");
            Some((host, plugin))
        })
        .as_ref()
        .map(|(_, plugin)| plugin)
}

fn request(action: &str, args: &str) -> Arc<Request> {
    Arc::new(Request::new(RequestParts {
        request_id: "request-1".to_owned(),
        controller: "greeting".to_owned(),
        action: action.to_owned(),
        args: args.to_owned(),
        body: None,
        volatile: None,
        user: User {
            id: "alice".to_owned(),
            profile_ids: vec!["default".to_owned()],
        },
        protocol: "http".to_owned(),
        connection_id: "connection-1".to_owned(),
    }))
}

/// An `api.call` granted to the plugin: it records each call and returns a created document.
#[derive(Debug, Default)]
struct RecordingServices {
    calls: Mutex<Vec<(String, Identity, Option<String>)>>,
}

impl HostServices for RecordingServices {
    fn call_api(
        &self,
        _plugin: &str,
        payload: &str,
        identity: Identity,
        current: Option<&Request>,
    ) -> Result<String, ApiError> {
        self.calls.lock().expect("the lock is not poisoned").push((
            payload.to_owned(),
            identity,
            current.map(|request| request.parts().user.id.clone()),
        ));
        Ok(r#"{"_id":"greeting-1","_source":{"name":"Ada"},"_version":1}"#.to_owned())
    }
}

#[test]
fn say_hello_returns_greeting() {
    let Some(plugin) = plugin() else {
        return;
    };

    let response = plugin
        .handle(&request("sayHello", r#"{"name":"Ada"}"#))
        .expect("the call completes")
        .expect("the action succeeds");

    assert_eq!(response.status, 200);
    assert_eq!(response.result, r#"{"message":"Hello, Ada!"}"#);
    assert!(response.headers.is_empty());
}

#[test]
fn missing_argument_rejected_with_400() {
    let Some(plugin) = plugin() else {
        return;
    };

    let error = plugin
        .handle(&request("sayHello", "{}"))
        .expect("the call completes")
        .expect_err("the action rejects a request without a name");

    assert_eq!(error.status, 400);
    assert_eq!(error.id, "api.assert.missing_argument");
    assert_eq!(error.message, r#"Missing argument "name"."#);
    assert_eq!(error.props, vec!["name".to_owned()]);
}

#[test]
fn unknown_action_rejected_with_404() {
    let Some(plugin) = plugin() else {
        return;
    };

    let error = plugin
        .handle(&request("wave", "{}"))
        .expect("the call completes")
        .expect_err("the plugin has no action wave");

    assert_eq!(error.status, 404);
    assert_eq!(error.id, "api.process.action_not_found");
}

#[test]
fn api_call_error_reaches_client() {
    let Some(plugin) = plugin() else {
        return;
    };

    let error = plugin
        .handle(&request("save", r#"{"name":"Ada"}"#))
        .expect("the call completes")
        .expect_err("the default services do not grant api.call");

    assert_eq!(error.status, 403);
    assert_eq!(error.id, NOT_GRANTED_ID);
    assert_eq!(
        error.props,
        vec!["greeting".to_owned(), "api.call".to_owned()]
    );
}

#[test]
fn api_call_runs_as_current_user() {
    let Some(plugin) = plugin() else {
        return;
    };
    let services = Arc::new(RecordingServices::default());
    let plugin = plugin.clone().with_services(services.clone());

    let response = plugin
        .handle(&request("save", r#"{"name":"Ada"}"#))
        .expect("the call completes")
        .expect("the action succeeds");

    assert_eq!(response.status, 201);
    assert_eq!(response.result, r#"{"_id":"greeting-1"}"#);
    let calls = services.calls.lock().expect("the lock is not poisoned");
    assert_eq!(calls.len(), 1);
    let (payload, identity, current_user) = &calls[0];
    assert_eq!(
        payload,
        r#"{"controller":"document","action":"create","index":"greetings","collection":"sent","body":{"name":"Ada"}}"#
    );
    assert_eq!(*identity, Identity::CurrentUser);
    assert_eq!(current_user.as_deref(), Some("alice"));
}

#[test]
fn pipe_stamps_host_date() {
    let Some(plugin) = plugin() else {
        return;
    };

    let payload = plugin
        .run_pipe(
            "document:beforeCreate",
            &request("create", "{}"),
            r#"{"body":{"total":3}}"#,
        )
        .expect("the call completes")
        .expect("the pipe returns a payload");

    // The day the host clock gives, computed from days since the Unix epoch so the test needs no
    // date library. The test fails if it runs across midnight UTC.
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
        / 86_400;
    let today = civil_date(days);
    assert_eq!(
        payload,
        format!(r#"{{"body":{{"total":3,"createdOn":"{today}"}}}}"#)
    );
}

#[test]
fn hook_runs() {
    let Some(plugin) = plugin() else {
        return;
    };

    plugin
        .observe(
            "document:afterDelete",
            &request("delete", "{}"),
            r#"{"_id":"greeting-1"}"#,
        )
        .expect("the hook completes");
}

/// Formats the day `days` after 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian calendar).
fn civil_date(days: u64) -> String {
    // Counts in 400-year eras of 146,097 days, with years starting on March 1st so that the leap
    // day falls at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
