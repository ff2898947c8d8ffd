//! The security repository: defaults, integrity rules, role validation and cache invalidation.

use std::sync::Arc;

use palisade_security::{
    Invalidation, InvalidationBus, KnownActions, LocalBus, MemoryStore, Profile, Role, Security,
    SecurityStore, User,
};
use parking_lot::Mutex;
use serde_json::json;

fn known_actions() -> KnownActions {
    KnownActions::new([
        ("document", "create"),
        ("document", "get"),
        ("auth", "login"),
        ("auth", "logout"),
        ("memoryStorage", "get"),
    ])
}

async fn bootstrapped() -> Security {
    let security = Security::new(Arc::new(MemoryStore::new()), Arc::new(LocalBus));
    security.bootstrap().await.expect("bootstrap");
    security
}

fn error_id<T: std::fmt::Debug>(result: palisade_security::Result<T>) -> &'static str {
    result.expect_err("expected an error").kuzzle_id()
}

fn user(kuid: &str, profiles: &[&str]) -> User {
    User::from_source(kuid, &json!({"profileIds": profiles, "name": kuid})).expect("valid user")
}

#[tokio::test]
async fn bootstrap_writes_open_defaults() {
    let security = bootstrapped().await;
    for id in ["admin", "default", "anonymous"] {
        let role = security.get_role(id).await.expect("default role");
        assert_eq!(*role, Role::allow_all(), "role {id}");
        let profile = security.get_profile(id).await.expect("default profile");
        assert_eq!(*profile, Profile::with_roles(&[id], 0), "profile {id}");
    }

    let anonymous = security.get_user("-1").await.expect("anonymous user");
    assert_eq!(anonymous.profile_ids, vec!["anonymous"]);
    assert_eq!(anonymous.content["name"], "Anonymous");
    let rights = security.user_rights(anonymous).await.expect("rights");
    assert!(
        rights.is_allowed("security", "createFirstAdmin", None, None),
        "open until restricted"
    );
}

#[tokio::test]
async fn bootstrap_keeps_existing_documents() {
    let security = bootstrapped().await;
    let restricted = json!({"controllers": {"auth": {"actions": {"login": true}}}});
    security
        .create_or_replace_role("anonymous", &restricted, false, &known_actions())
        .await
        .expect("stored");
    security.bootstrap().await.expect("second bootstrap");
    let role = security.get_role("anonymous").await.expect("role");
    assert!(
        !role.is_action_allowed("document", "get"),
        "a restart must not reopen rights"
    );
}

#[tokio::test]
async fn defaults_cannot_be_deleted() {
    let security = bootstrapped().await;
    for id in ["admin", "default", "anonymous"] {
        assert_eq!(
            error_id(security.delete_role(id).await),
            "security.role.cannot_delete"
        );
        assert_eq!(
            error_id(security.delete_profile(id).await),
            "security.profile.cannot_delete"
        );
    }
}

#[tokio::test]
async fn restrict_default_rights_closes_anonymous() {
    let security = bootstrapped().await;
    let anonymous = security
        .user_rights(security.get_user("-1").await.expect("user"))
        .await
        .expect("rights");
    assert!(anonymous.is_allowed("document", "create", Some("i"), Some("c")));

    security
        .restrict_default_rights()
        .await
        .expect("restricted");

    let anonymous = security
        .user_rights(security.get_user("-1").await.expect("user"))
        .await
        .expect("rights");
    for (controller, action) in [
        ("auth", "checkToken"),
        ("auth", "getCurrentUser"),
        ("auth", "getMyRights"),
        ("auth", "login"),
        ("server", "publicApi"),
        ("server", "openapi"),
    ] {
        assert!(
            anonymous.is_allowed(controller, action, None, None),
            "anonymous {controller}:{action}"
        );
    }
    assert!(!anonymous.is_allowed("auth", "logout", None, None));
    let denied = anonymous.check("document", "create", Some("i"), Some("c"));
    assert_eq!(error_id(denied), "security.rights.unauthorized");
    assert_eq!(anonymous.rate_limit(), 200);

    security
        .create_user(&user("bob", &["default"]))
        .await
        .expect("user stored");
    let bob = security
        .user_rights(security.get_user("bob").await.expect("user"))
        .await
        .expect("rights");
    for action in [
        "checkToken",
        "getCurrentUser",
        "getMyRights",
        "logout",
        "updateSelf",
    ] {
        assert!(
            bob.is_allowed("auth", action, None, None),
            "default auth:{action}"
        );
    }
    assert!(bob.is_allowed("server", "publicApi", None, None));
    assert!(!bob.is_allowed("server", "openapi", None, None));
    assert_eq!(
        error_id(bob.check("document", "get", None, None)),
        "security.rights.forbidden"
    );
    assert_eq!(bob.rate_limit(), 10);

    security
        .create_user(&user("root", &["admin"]))
        .await
        .expect("user stored");
    let root = security
        .user_rights(security.get_user("root").await.expect("user"))
        .await
        .expect("rights");
    assert!(root.is_allowed("security", "deleteUser", None, None));
    assert_eq!(root.rate_limit(), 0);
}

#[tokio::test]
async fn role_validation_errors() {
    let security = bootstrapped().await;
    let known = known_actions();
    let cases = [
        (json!({}), "security.role.invalid_rights"),
        (json!({"controllers": {}}), "security.role.invalid_rights"),
        (
            json!({"controllers": {"document": {}}}),
            "security.role.invalid_rights",
        ),
        (
            json!({"controllers": {"document": {"actions": {}}}}),
            "security.role.invalid_rights",
        ),
        (
            json!({"controllers": {"document": {"actions": {"get": "yes"}}}}),
            "security.role.invalid_rights",
        ),
        (
            json!({"controllers": {"nope": {"actions": {"get": true}}}}),
            "security.role.unknown_controller",
        ),
        (
            json!({"controllers": {"document": {"actions": {"nope": true}}}}),
            "security.role.unknown_action",
        ),
    ];
    for (body, expected) in cases {
        let result = security
            .create_or_replace_role("r", &body, false, &known)
            .await;
        assert_eq!(error_id(result), expected, "body {body}");
    }

    let unknown = json!({"controllers": {"myplugin/ctrl": {"actions": {"run": true}}}});
    assert!(
        security
            .create_or_replace_role("r", &unknown, true, &known)
            .await
            .is_ok(),
        "force skips the check"
    );

    let wildcards = json!({"controllers": {
        "*": {"actions": {"*": true}},
        "document": {"actions": {"*": false}},
    }});
    assert!(
        security
            .create_or_replace_role("r", &wildcards, false, &known)
            .await
            .is_ok()
    );

    let alias = json!({"controllers": {"ms": {"actions": {"get": true}}}});
    assert!(
        security
            .create_or_replace_role("r", &alias, false, &known)
            .await
            .is_ok(),
        "ms is memoryStorage"
    );
}

#[tokio::test]
async fn profile_validation_errors() {
    let security = bootstrapped().await;
    let cases = [
        json!({}),
        json!({"policies": []}),
        json!({"policies": [{}]}),
        json!({"policies": [{"roleId": ""}]}),
        json!({"policies": [{"roleId": "admin", "restrictTo": []}]}),
        json!({"policies": [{"roleId": "admin", "restrictedTo": [{"collections": ["c"]}]}]}),
        json!({"policies": [{
            "roleId": "admin",
            "restrictedTo": [{"index": "i", "collections": "c"}],
        }]}),
        json!({"policies": [{"roleId": "admin"}], "rateLimit": -1}),
        json!({"policies": [{"roleId": "admin"}], "rateLimit": 1.5}),
    ];
    for body in cases {
        let result = security.create_or_replace_profile("p", &body).await;
        assert_eq!(
            error_id(result),
            "api.assert.invalid_argument",
            "body {body}"
        );
    }

    let without_anonymous = json!({"policies": [{"roleId": "default"}]});
    let result = security
        .create_or_replace_profile("anonymous", &without_anonymous)
        .await;
    assert_eq!(error_id(result), "security.profile.missing_anonymous_role");
    let with_anonymous = json!({"policies": [{"roleId": "anonymous"}, {"roleId": "default"}]});
    assert!(
        security
            .create_or_replace_profile("anonymous", &with_anonymous)
            .await
            .is_ok()
    );

    let unknown_role = json!({"policies": [{"roleId": "ghost"}]});
    assert_eq!(
        error_id(security.create_or_replace_profile("p", &unknown_role).await),
        "security.role.not_found"
    );
}

#[tokio::test]
async fn in_use_documents_cannot_be_deleted() {
    let security = bootstrapped().await;
    let body = json!({"controllers": {"document": {"actions": {"get": true}}}});
    security
        .create_or_replace_role("reader", &body, false, &known_actions())
        .await
        .expect("role");
    security
        .create_or_replace_profile("readers", &json!({"policies": [{"roleId": "reader"}]}))
        .await
        .expect("profile");
    security
        .create_user(&user("carol", &["readers"]))
        .await
        .expect("user");

    let role_in_use = security.delete_role("reader").await.expect_err("in use");
    assert_eq!(role_in_use.kuzzle_id(), "security.role.in_use");
    assert_eq!(role_in_use.props(), vec!["reader", "readers"]);
    assert_eq!(
        error_id(security.delete_profile("readers").await),
        "security.profile.in_use"
    );

    security.delete_user("carol").await.expect("user deleted");
    security
        .delete_profile("readers")
        .await
        .expect("profile deleted");
    security.delete_role("reader").await.expect("role deleted");
    assert_eq!(
        error_id(security.get_role("reader").await),
        "security.role.not_found"
    );
    assert_eq!(
        error_id(security.delete_role("reader").await),
        "security.role.not_found"
    );
    assert_eq!(
        error_id(security.get_profile("readers").await),
        "security.profile.not_found"
    );
    assert_eq!(
        error_id(security.get_user("carol").await),
        "security.user.not_found"
    );
}

#[tokio::test]
async fn users_need_existing_profiles() {
    let security = bootstrapped().await;
    assert_eq!(
        error_id(security.create_user(&user("dave", &["ghost"])).await),
        "security.profile.not_found"
    );
    security
        .create_user(&user("dave", &["default"]))
        .await
        .expect("user");
    assert_eq!(
        error_id(security.create_user(&user("dave", &["default"])).await),
        "security.user.already_exists"
    );
    assert_eq!(
        error_id(security.create_user(&user("-1", &["default"])).await),
        "security.user.already_exists"
    );

    let invalid = User::from_source("erin", &json!({"profileIds": []}));
    assert_eq!(error_id(invalid), "api.assert.invalid_argument");
    let missing = User::from_source("erin", &json!({"name": "Erin"}));
    assert_eq!(error_id(missing), "api.assert.invalid_argument");

    let source = user("dave", &["default"]).to_source();
    assert_eq!(source, json!({"name": "dave", "profileIds": ["default"]}));
}

#[tokio::test]
async fn admin_exists_follows_users() {
    let security = bootstrapped().await;
    assert!(!security.admin_exists().await.expect("search"));
    security
        .create_user(&user("root", &["default", "admin"]))
        .await
        .expect("user");
    assert!(security.admin_exists().await.expect("search"));
}

/// A bus that records what it is asked to publish, standing in for a cluster transport.
#[derive(Debug, Default)]
struct RecordingBus {
    published: Mutex<Vec<Invalidation>>,
}

impl InvalidationBus for RecordingBus {
    fn publish(&self, invalidation: &Invalidation) {
        self.published.lock().push(invalidation.clone());
    }
}

#[tokio::test]
async fn invalidation_reaches_other_node() {
    let store: Arc<dyn SecurityStore> = Arc::new(MemoryStore::new());
    let bus = Arc::new(RecordingBus::default());
    let node_a = Security::new(Arc::clone(&store), bus.clone());
    let node_b = Security::new(Arc::clone(&store), Arc::new(LocalBus));
    node_a.bootstrap().await.expect("bootstrap");

    let narrow = json!({"controllers": {"auth": {"actions": {"login": true}}}});
    node_a
        .create_or_replace_role("default", &narrow, false, &known_actions())
        .await
        .expect("role");
    let cached = node_b.get_role("default").await.expect("role");
    assert!(!cached.is_action_allowed("document", "get"));

    let wide = json!({"controllers": {"document": {"actions": {"get": true}}}});
    node_a
        .create_or_replace_role("default", &wide, false, &known_actions())
        .await
        .expect("role");
    let stale = node_b.get_role("default").await.expect("role");
    assert!(
        !stale.is_action_allowed("document", "get"),
        "node B serves its cache until told"
    );

    let published: Vec<Invalidation> = bus.published.lock().clone();
    assert_eq!(
        published.last(),
        Some(&Invalidation::Role("default".to_owned()))
    );
    for invalidation in &published {
        node_b.apply_invalidation(invalidation);
    }
    let fresh = node_b.get_role("default").await.expect("role");
    assert!(fresh.is_action_allowed("document", "get"));
}

#[tokio::test]
async fn user_rights_skip_deleted_profile() {
    let store = Arc::new(MemoryStore::new());
    let security = Security::new(store.clone(), Arc::new(LocalBus));
    security.bootstrap().await.expect("bootstrap");
    security
        .create_user(&user("frank", &["default", "gone"]))
        .await
        .expect_err("unknown profile");

    // A profile removed directly from the store, as another tool could do.
    let body = json!({"controllers": {"document": {"actions": {"get": true}}}});
    security
        .create_or_replace_role("r", &body, false, &known_actions())
        .await
        .expect("role");
    security
        .create_or_replace_profile("gone", &json!({"policies": [{"roleId": "r"}]}))
        .await
        .expect("profile");
    security
        .create_user(&user("frank", &["default", "gone"]))
        .await
        .expect("user");
    store
        .delete(palisade_security::Collection::Profiles, "gone")
        .await
        .expect("deleted");
    security.apply_invalidation(&Invalidation::All);

    let rights = security
        .user_rights(security.get_user("frank").await.expect("user"))
        .await
        .expect("rights");
    assert_eq!(rights.profiles().len(), 1);
    assert!(
        rights.is_allowed("auth", "login", None, None),
        "the remaining profile still applies"
    );
}

#[tokio::test]
async fn plugin_kuids_are_reserved() {
    let security = bootstrapped().await;
    let impostor = user("plugin:audit", &["default"]);

    let created = security.create_user(&impostor).await;
    let replaced = security.create_or_replace_user(&impostor).await;

    let error = created.expect_err("a plugin's kuid is rejected");
    assert_eq!(error.kuzzle_id(), "api.assert.invalid_argument");
    assert!(error.to_string().contains("plugin:audit"), "{error}");
    assert_eq!(error_id(replaced), "api.assert.invalid_argument");
    assert_eq!(
        error_id(security.get_user("plugin:audit").await),
        "security.user.not_found"
    );
}
