//! Rights decisions: a table of controller actions for allowed and denied cases, restrictions,
//! multi-index targets, listings, and two regressions seen in Kuzzle.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_security::{LocalBus, MemoryStore, Profile, Role, Security, Target, User, UserRights};
use serde_json::json;

fn role(body: serde_json::Value) -> Arc<Role> {
    Arc::new(Role::from_json("test", &body).expect("test role is valid"))
}

fn profile(body: serde_json::Value) -> Arc<Profile> {
    Arc::new(Profile::from_json("test", &body).expect("test profile is valid"))
}

/// Builds the roles of the table: `grants` allows a few actions, `denies` allows only `auth:login`.
fn roles() -> HashMap<String, Arc<Role>> {
    let grants = role(json!({"controllers": {
        "document": {"actions": {"create": true, "search": true, "delete": false}},
        "index": {"actions": {"list": true}},
        "collection": {"actions": {"*": true}},
        "auth": {"actions": {"*": true}},
        "memoryStorage": {"actions": {"get": true}},
    }}));
    let denies = role(json!({"controllers": {
        "*": {"actions": {"*": false}},
        "auth": {"actions": {"login": true}},
    }}));
    HashMap::from([("grants".to_owned(), grants), ("denies".to_owned(), denies)])
}

fn profiles() -> HashMap<&'static str, Arc<Profile>> {
    HashMap::from([
        ("open", profile(json!({"policies": [{"roleId": "grants"}]}))),
        (
            "restricted",
            profile(json!({"policies": [{
                "roleId": "grants",
                "restrictedTo": [
                    {"index": "nyc", "collections": ["a66-private", "public"]},
                    {"index": "paris"},
                ],
            }]})),
        ),
        (
            "closed",
            profile(json!({"policies": [{"roleId": "denies"}]})),
        ),
    ])
}

fn rights_of(kuid: &str, profile_id: &str) -> UserRights {
    let user = if kuid == "-1" {
        User::anonymous()
    } else {
        User::from_source(kuid, &json!({"profileIds": [profile_id]})).expect("valid user")
    };
    let profile = Arc::clone(&profiles()[profile_id]);
    UserRights::new(
        Arc::new(user),
        vec![(profile_id.to_owned(), profile)],
        roles(),
    )
}

struct Case {
    kuid: &'static str,
    profile: &'static str,
    controller: &'static str,
    action: &'static str,
    index: Option<&'static str>,
    collection: Option<&'static str>,
    allowed: bool,
}

const fn case(
    kuid: &'static str,
    profile: &'static str,
    request: (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    ),
    allowed: bool,
) -> Case {
    let (controller, action, index, collection) = request;
    Case {
        kuid,
        profile,
        controller,
        action,
        index,
        collection,
        allowed,
    }
}

const DOC_CREATE: (&str, &str, Option<&str>, Option<&str>) =
    ("document", "create", Some("nyc"), Some("public"));
const DOC_CREATE_LONDON: (&str, &str, Option<&str>, Option<&str>) =
    ("document", "create", Some("london"), Some("public"));
const DOC_DELETE: (&str, &str, Option<&str>, Option<&str>) =
    ("document", "delete", Some("nyc"), Some("public"));
const DOC_GET: (&str, &str, Option<&str>, Option<&str>) =
    ("document", "get", Some("nyc"), Some("public"));
const INDEX_LIST: (&str, &str, Option<&str>, Option<&str>) = ("index", "list", None, None);
const COLLECTION_CREATE_PARIS: (&str, &str, Option<&str>, Option<&str>) =
    ("collection", "create", Some("paris"), Some("anything"));
const AUTH_LOGIN: (&str, &str, Option<&str>, Option<&str>) = ("auth", "login", None, None);
const AUTH_LOGOUT: (&str, &str, Option<&str>, Option<&str>) = ("auth", "logout", None, None);
const MS_GET: (&str, &str, Option<&str>, Option<&str>) = ("ms", "get", None, None);
const SECURITY_CREATE_USER: (&str, &str, Option<&str>, Option<&str>) =
    ("security", "createUser", None, None);

#[test]
fn rights_table() {
    let cases = [
        // A role that grants, without restrictions, for a logged-in user and for anonymous.
        case("alice", "open", DOC_CREATE, true),
        case("alice", "open", DOC_CREATE_LONDON, true),
        case("alice", "open", DOC_DELETE, false),
        case("alice", "open", DOC_GET, false),
        case("alice", "open", INDEX_LIST, true),
        case("alice", "open", AUTH_LOGOUT, true),
        case("alice", "open", MS_GET, true),
        case("alice", "open", SECURITY_CREATE_USER, false),
        case("-1", "open", DOC_CREATE, true),
        case("-1", "open", SECURITY_CREATE_USER, false),
        // The same role restricted to some indexes and collections.
        case("alice", "restricted", DOC_CREATE, true),
        case("alice", "restricted", DOC_CREATE_LONDON, false),
        case("alice", "restricted", COLLECTION_CREATE_PARIS, true),
        case("alice", "restricted", INDEX_LIST, true),
        case("alice", "restricted", AUTH_LOGIN, true),
        case("alice", "restricted", DOC_DELETE, false),
        case("-1", "restricted", DOC_CREATE, true),
        case("-1", "restricted", DOC_CREATE_LONDON, false),
        // A role that denies everything but login.
        case("alice", "closed", DOC_CREATE, false),
        case("alice", "closed", AUTH_LOGIN, true),
        case("alice", "closed", AUTH_LOGOUT, false),
        case("alice", "closed", MS_GET, false),
        case("-1", "closed", AUTH_LOGIN, true),
        case("-1", "closed", INDEX_LIST, false),
    ];

    for case in cases {
        let rights = rights_of(case.kuid, case.profile);
        let label = format!(
            "{} with profile {} on {}:{} {:?}/{:?}",
            case.kuid, case.profile, case.controller, case.action, case.index, case.collection
        );
        let allowed = rights.is_allowed(case.controller, case.action, case.index, case.collection);
        assert_eq!(allowed, case.allowed, "is_allowed for {label}");

        let checked = rights.check(case.controller, case.action, case.index, case.collection);
        let expected_error = match (case.allowed, case.kuid) {
            (true, _) => None,
            (false, "-1") => Some("security.rights.unauthorized"),
            (false, _) => Some("security.rights.forbidden"),
        };
        assert_eq!(
            checked.err().map(|error| error.kuzzle_id()),
            expected_error,
            "check for {label}"
        );
    }
}

#[test]
fn collection_with_dash_is_one_name() {
    let rights = rights_of("alice", "restricted");
    let allowed =
        |collection| rights.is_allowed("document", "create", Some("nyc"), Some(collection));
    assert!(allowed("a66-private"));
    assert!(!allowed("a66"));
    assert!(!allowed("private"));
    assert!(!allowed("a66-privat"));
    assert!(!allowed("a66-private-2"));
}

#[test]
fn exact_names_win_over_wildcards() {
    let rights = UserRights::new(
        Arc::new(User::from_source("bob", &json!({"profileIds": ["p"]})).expect("valid user")),
        vec![(
            "p".to_owned(),
            profile(json!({"policies": [{"roleId": "r"}]})),
        )],
        HashMap::from([(
            "r".to_owned(),
            role(json!({"controllers": {
                "document": {"actions": {"delete": false, "*": true}},
                "collection": {"actions": {"create": true}},
                "*": {"actions": {"*": true}},
            }})),
        )]),
    );
    assert!(!rights.is_allowed("document", "delete", None, None));
    assert!(rights.is_allowed("document", "get", None, None));
    assert!(rights.is_allowed("index", "create", None, None));
    // A controller's own entry replaces the `*` controller entirely.
    assert!(rights.is_allowed("collection", "create", None, None));
    assert!(!rights.is_allowed("collection", "delete", None, None));
}

#[test]
fn memory_storage_aliases() {
    let ms_role = role(json!({"controllers": {"ms": {"actions": {"set": true}}}}));
    let rights = UserRights::new(
        Arc::new(User::anonymous()),
        vec![(
            "anonymous".to_owned(),
            profile(json!({"policies": [{"roleId": "r"}]})),
        )],
        HashMap::from([("r".to_owned(), ms_role)]),
    );
    assert!(rights.is_allowed("memoryStorage", "set", None, None));
    assert!(rights.is_allowed("ms", "set", None, None));
    assert!(!rights.is_allowed("ms", "get", None, None));

    // `grants` names `memoryStorage`, so `ms` must resolve to it too.
    let long_name = rights_of("alice", "open");
    assert!(long_name.is_allowed("ms", "get", None, None));
    assert!(long_name.is_allowed("memoryStorage", "get", None, None));
}

#[test]
fn shared_role_keeps_profile_restrictions_apart() {
    let shared = role(json!({"controllers": {"document": {"actions": {"*": true}}}}));
    let roles = HashMap::from([("shared".to_owned(), shared)]);
    let only_i1 =
        profile(json!({"policies": [{"roleId": "shared", "restrictedTo": [{"index": "i1"}]}]}));
    let only_i2 =
        profile(json!({"policies": [{"roleId": "shared", "restrictedTo": [{"index": "i2"}]}]}));
    let everywhere = profile(json!({"policies": [{"roleId": "shared"}]}));

    let user = |kuid: &str, profiles: Vec<(&str, &Arc<Profile>)>| {
        let ids: Vec<&str> = profiles.iter().map(|(id, _)| *id).collect();
        let user = User::from_source(kuid, &json!({"profileIds": ids})).expect("valid user");
        let profiles = profiles
            .into_iter()
            .map(|(id, profile)| (id.to_owned(), Arc::clone(profile)))
            .collect();
        UserRights::new(Arc::new(user), profiles, roles.clone())
    };

    let first = user("first", vec![("only_i1", &only_i1)]);
    let second = user("second", vec![("only_i2", &only_i2)]);
    let both = user(
        "both",
        vec![("only_i1", &only_i1), ("everywhere", &everywhere)],
    );

    assert!(first.is_allowed("document", "get", Some("i1"), Some("c")));
    assert!(!first.is_allowed("document", "get", Some("i2"), Some("c")));
    assert!(second.is_allowed("document", "get", Some("i2"), Some("c")));
    assert!(!second.is_allowed("document", "get", Some("i1"), Some("c")));
    assert!(both.is_allowed("document", "get", Some("i3"), Some("c")));
    // Checking the unrestricted user must not have widened the restricted one.
    assert!(!first.is_allowed("document", "get", Some("i3"), Some("c")));
}

#[tokio::test]
async fn shared_role_through_cache_does_not_leak() {
    let store = Arc::new(MemoryStore::new());
    let security = Security::new(store, Arc::new(LocalBus));
    let known = palisade_security::KnownActions::default();
    let body = json!({"controllers": {"document": {"actions": {"*": true}}}});
    security
        .create_or_replace_role("shared", &body, true, &known)
        .await
        .expect("role stored");
    let restricted = json!({"policies": [{"roleId": "shared", "restrictedTo": [{"index": "i1"}]}]});
    security
        .create_or_replace_profile("p1", &restricted)
        .await
        .expect("profile stored");
    let open = json!({"policies": [{"roleId": "shared"}]});
    security
        .create_or_replace_profile("p2", &open)
        .await
        .expect("profile stored");

    let open_user = User::from_source("open", &json!({"profileIds": ["p2"]})).expect("valid user");
    let restricted_user =
        User::from_source("restricted", &json!({"profileIds": ["p1"]})).expect("valid user");
    security.create_user(&open_user).await.expect("user stored");
    security
        .create_user(&restricted_user)
        .await
        .expect("user stored");

    // Resolve the restricted user, then the open one, then the restricted one again.
    for _ in 0..2 {
        let restricted = security
            .user_rights(security.get_user("restricted").await.expect("user"))
            .await
            .expect("rights");
        assert!(restricted.is_allowed("document", "get", Some("i1"), None));
        assert!(!restricted.is_allowed("document", "get", Some("i2"), None));

        let open = security
            .user_rights(security.get_user("open").await.expect("user"))
            .await
            .expect("rights");
        assert!(open.is_allowed("document", "get", Some("i2"), None));
    }
}

#[test]
fn targets_need_every_pair_allowed() {
    let rights = rights_of("alice", "restricted");
    let target = |index: &str, collections: &[&str]| Target {
        index: index.to_owned(),
        collections: collections.iter().map(|name| (*name).to_owned()).collect(),
    };

    let allowed = [
        target("nyc", &["public", "a66-private"]),
        target("paris", &["x"]),
    ];
    assert!(rights.is_allowed_on_targets("document", "search", &allowed));

    let one_denied = [target("nyc", &["public"]), target("london", &["x"])];
    assert!(!rights.is_allowed_on_targets("document", "search", &one_denied));

    let one_collection_denied = [target("nyc", &["public", "secret"])];
    assert!(!rights.is_allowed_on_targets("document", "search", &one_collection_denied));

    let open = rights_of("alice", "open");
    assert!(!open.is_allowed_on_targets("document", "search", &[target("*", &["x"])]));
    assert!(!open.is_allowed_on_targets("document", "search", &[target("ny?", &["x"])]));
    assert!(!open.is_allowed_on_targets("document", "search", &[target("nyc", &["pub*"])]));
    assert!(open.is_allowed_on_targets("document", "search", &[target("nyc", &["public"])]));
}

#[test]
fn list_filters_follow_restrictions() {
    let rights = rights_of("alice", "restricted");
    let indexes = vec!["nyc".to_owned(), "london".to_owned(), "paris".to_owned()];
    assert_eq!(
        rights.filter_indexes("index", "list", indexes),
        vec!["nyc", "paris"]
    );

    let collections = vec![
        "public".to_owned(),
        "secret".to_owned(),
        "a66-private".to_owned(),
    ];
    let visible = rights.filter_collections("collection", "list", "nyc", collections.clone());
    assert_eq!(visible, vec!["public", "a66-private"]);
    let in_paris = rights.filter_collections("collection", "list", "paris", collections);
    assert_eq!(in_paris.len(), 3);
}

#[test]
fn rights_listing_merges_allowed_first() {
    let user = User::from_source("carol", &json!({"profileIds": ["open", "restricted"]}))
        .expect("valid user");
    let profiles = profiles();
    let rights = UserRights::new(
        Arc::new(user),
        vec![
            ("open".to_owned(), Arc::clone(&profiles["open"])),
            ("restricted".to_owned(), Arc::clone(&profiles["restricted"])),
        ],
        roles(),
    );
    let listing = rights.list();
    let find = |controller: &str, action: &str, index: &str, collection: &str| {
        listing
            .iter()
            .find(|entry| {
                entry.controller == controller
                    && entry.action == action
                    && entry.index == index
                    && entry.collection == collection
            })
            .map(|entry| entry.value)
    };
    assert_eq!(find("document", "create", "*", "*"), Some("allowed"));
    assert_eq!(find("document", "delete", "*", "*"), Some("denied"));
    assert_eq!(
        find("document", "create", "nyc", "a66-private"),
        Some("allowed")
    );
    assert_eq!(find("document", "create", "paris", "*"), Some("allowed"));
    assert_eq!(find("document", "create", "london", "*"), None);

    let result = rights.list_result();
    assert_eq!(result["total"], listing.len());
    assert_eq!(result["hits"].as_array().map(Vec::len), Some(listing.len()));

    let serialized = serde_json::to_value(&listing[0]).expect("serializable");
    for field in ["controller", "action", "index", "collection", "value"] {
        assert!(
            serialized.get(field).is_some(),
            "listing entry has `{field}`"
        );
    }
}

#[test]
fn rate_limit_is_max_or_unlimited() {
    let user = Arc::new(
        User::from_source("dave", &json!({"profileIds": ["a", "b"]})).expect("valid user"),
    );
    let with_limits = |limits: [u32; 2]| {
        let profiles = limits
            .iter()
            .zip(["a", "b"])
            .map(|(limit, id)| {
                (
                    id.to_owned(),
                    Arc::new(Profile::with_roles(&["grants"], *limit)),
                )
            })
            .collect();
        UserRights::new(Arc::clone(&user), profiles, roles())
    };
    assert_eq!(with_limits([10, 50]).rate_limit(), 50);
    assert_eq!(with_limits([10, 0]).rate_limit(), 0);
    assert_eq!(with_limits([7, 7]).rate_limit(), 7);
}

#[test]
fn targets_argument_parsing() {
    let parsed = Target::parse_list(&json!([
        {"index": "nyc", "collections": ["public", "a66-private"]},
        {"index": "paris"},
    ]))
    .expect("valid targets");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].index, "nyc");
    assert_eq!(parsed[0].collections, vec!["public", "a66-private"]);
    assert!(parsed[1].collections.is_empty());

    let invalid = [
        json!({"index": "nyc"}),
        json!([{"collections": ["c"]}]),
        json!([{"index": ""}]),
        json!([{"index": "nyc", "collections": "c"}]),
        json!([{"index": "nyc", "collections": [1]}]),
    ];
    for targets in invalid {
        let error = Target::parse_list(&targets).expect_err("invalid targets");
        assert_eq!(
            error.kuzzle_id(),
            "api.assert.invalid_argument",
            "targets {targets}"
        );
    }
}
