//! The `security` and `auth` controllers' actions on users, roles, profiles, credentials and API
//! keys, against a real server.

mod support;

use palisade_test_harness::TestServer;
use serde_json::{Value, json};
use support::{Api, error_id};

fn request(action: &str, fields: Value) -> Value {
    let mut payload = fields;
    payload["controller"] = json!("security");
    payload["action"] = json!(action);
    payload
}

#[tokio::test]
async fn user_lifecycle() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin_token = api.create_first_admin().await;
    let admin = Some(admin_token.as_str());

    api.create_user(&admin_token, "carol", "default", "carol-password")
        .await;
    let duplicate = api
        .query(
            request(
                "createUser",
                json!({"_id": "carol", "body": {"content": {"profileIds": ["default"]}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(error_id(&duplicate), "security.user.already_exists");
    let unknown_profile = api
        .query(
            request(
                "createUser",
                json!({"body": {"content": {"profileIds": ["nope"]}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(error_id(&unknown_profile), "security.profile.not_found");

    let updated = api
        .ok(
            request(
                "updateUser",
                json!({"_id": "carol", "body": {"city": "Lyon"}}),
            ),
            admin,
        )
        .await;
    assert_eq!(updated["_source"]["city"], "Lyon");
    assert_eq!(updated["_source"]["_kuzzle_info"]["updater"], "admin");
    let replaced = api
        .ok(
            request(
                "replaceUser",
                json!({"_id": "carol", "body": {"profileIds": ["default"], "age": 30}}),
            ),
            admin,
        )
        .await;
    assert!(replaced["_source"].get("city").is_none(), "{replaced}");
    let upserted = api
        .ok(
            request(
                "upsertUser",
                json!({"_id": "dave", "body": {"content": {"profileIds": ["default"]}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(upserted["_id"], "dave");

    let found = api
        .ok(
            request(
                "mGetUsers",
                json!({"body": {"ids": ["carol", "dave", "nobody"]}}),
            ),
            admin,
        )
        .await;
    assert_eq!(found["total"], 2);

    let searched = api
        .ok(request("searchUsers", json!({"body": {"query": {"term": {"profileIds": "default"}}}, "size": 1, "scroll": "10s"})), admin)
        .await;
    assert_eq!(searched["total"], 2, "{searched}");
    assert_eq!(searched["hits"].as_array().unwrap().len(), 1);
    let next = api
        .ok(
            request("scrollUsers", json!({"scrollId": searched["scrollId"]})),
            admin,
        )
        .await;
    assert_eq!(next["hits"].as_array().unwrap().len(), 1);
    assert_ne!(next["hits"][0]["_id"], searched["hits"][0]["_id"]);
    let koncorde = api
        .ok(
            request(
                "searchUsers",
                json!({"lang": "koncorde", "body": {"query": {"equals": {"profileIds": "admin"}}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(koncorde["total"], 1);
    assert_eq!(koncorde["hits"][0]["_id"], "admin");

    let rights = api
        .ok(request("getUserRights", json!({"_id": "carol"})), admin)
        .await;
    assert!(
        rights["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|right| right["action"] == "getCurrentUser")
    );
    let strategies = api
        .ok(request("getUserStrategies", json!({"_id": "carol"})), admin)
        .await;
    assert_eq!(strategies, json!(["local"]));

    // Deleting a user removes its credentials and revokes its tokens.
    let carol = api.login("carol", "carol-password").await;
    api.ok(request("deleteUser", json!({"_id": "carol"})), admin)
        .await;
    let me = api
        .query(
            json!({"controller": "auth", "action": "getCurrentUser"}),
            Some(&carol),
        )
        .await;
    assert_eq!(error_id(&me), "security.token.invalid");
    let login = api
        .query(
            json!({"controller": "auth", "action": "login", "strategy": "local",
            "body": {"username": "carol", "password": "carol-password"}}),
            None,
        )
        .await;
    assert_eq!(error_id(&login), "plugin.strategy.missing_user");
    assert_eq!(login["status"], 401);
}

#[tokio::test]
async fn roles_and_profiles() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin_token = api.create_first_admin().await;
    let admin = Some(admin_token.as_str());

    let role = json!({"controllers": {"server": {"actions": {"now": true}}}});
    api.ok(
        request("createRole", json!({"_id": "timer", "body": role.clone()})),
        admin,
    )
    .await;
    let again = api
        .query(
            request("createRole", json!({"_id": "timer", "body": role})),
            admin,
        )
        .await;
    assert_eq!(error_id(&again), "services.storage.document_already_exists");
    let unknown = api
        .query(
            request(
                "createRole",
                json!({"_id": "bad", "body": {"controllers": {"nope": {"actions": {"x": true}}}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(error_id(&unknown), "security.role.unknown_controller");
    let forced = json!({"_id": "bad", "force": true, "body": {"controllers": {"nope": {"actions": {"x": true}}}}});
    api.ok(request("createRole", forced), admin).await;

    let updated = api
        .ok(request("updateRole", json!({"_id": "timer", "body": {"controllers": {"auth": {"actions": {"logout": true}}}}})), admin)
        .await;
    assert_eq!(
        updated["_source"]["controllers"]["server"]["actions"]["now"],
        true
    );
    assert_eq!(
        updated["_source"]["controllers"]["auth"]["actions"]["logout"],
        true
    );

    let profile = json!({"policies": [{"roleId": "timer", "restrictedTo": [{"index": "i"}]}], "rateLimit": 5});
    api.ok(
        request("createProfile", json!({"_id": "timers", "body": profile})),
        admin,
    )
    .await;
    let in_use = api
        .query(request("deleteRole", json!({"_id": "timer"})), admin)
        .await;
    assert_eq!(error_id(&in_use), "security.role.in_use");
    let default_role = api
        .query(request("deleteRole", json!({"_id": "anonymous"})), admin)
        .await;
    assert_eq!(error_id(&default_role), "security.role.cannot_delete");

    let roles = api
        .ok(
            request(
                "searchRoles",
                json!({"body": {"controllers": ["server"]}, "size": 100}),
            ),
            admin,
        )
        .await;
    let ids: Vec<&str> = roles["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"timer"), "{ids:?}");
    assert!(!ids.contains(&"bad"), "{ids:?}");
    let profiles = api
        .ok(
            request("searchProfiles", json!({"body": {"roles": ["timer"]}})),
            admin,
        )
        .await;
    assert_eq!(profiles["total"], 1, "{profiles}");
    assert_eq!(profiles["hits"][0]["_id"], "timers");
    let all = api
        .ok(
            request("searchProfiles", json!({"size": 2, "scroll": "10s"})),
            admin,
        )
        .await;
    assert_eq!(
        all["total"], 4,
        "admin, default, anonymous and timers: {all}"
    );
    let rest = api
        .ok(
            request(
                "scrollProfiles",
                json!({"scrollId": all["scrollId"], "scroll": "10s"}),
            ),
            admin,
        )
        .await;
    assert_eq!(rest["hits"].as_array().unwrap().len(), 2);

    let mapping = json!({"properties": {"description": {"type": "text"}}});
    api.ok(
        request("updateProfileMapping", json!({"body": mapping})),
        admin,
    )
    .await;
    let read = api.ok(request("getProfileMapping", json!({})), admin).await;
    assert_eq!(read["mapping"]["description"]["type"], "text", "{read}");
    assert_eq!(
        read["mapping"]["policies"]["properties"]["roleId"]["type"],
        "keyword"
    );
    let rights = api
        .ok(request("getProfileRights", json!({"_id": "timers"})), admin)
        .await;
    let now = rights["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|right| right["action"] == "now")
        .cloned();
    assert_eq!(now.unwrap()["index"], "i");

    api.create_user(&admin_token, "eve", "timers", "eve-password")
        .await;
    let in_use = api
        .query(request("deleteProfile", json!({"_id": "timers"})), admin)
        .await;
    assert_eq!(error_id(&in_use), "security.profile.in_use");
    api.ok(request("deleteUser", json!({"_id": "eve"})), admin)
        .await;
    api.ok(request("deleteProfile", json!({"_id": "timers"})), admin)
        .await;
    api.ok(request("deleteRole", json!({"_id": "timer"})), admin)
        .await;
    let gone = api
        .query(request("getRole", json!({"_id": "timer"})), admin)
        .await;
    assert_eq!(error_id(&gone), "security.role.not_found");
}

#[tokio::test]
async fn credentials_and_api_keys() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin_token = api.create_first_admin().await;
    let admin = Some(admin_token.as_str());

    api.ok(
        request(
            "createUser",
            json!({"_id": "frank", "body": {"content": {"profileIds": ["default"]}}}),
        ),
        admin,
    )
    .await;
    let has = api
        .ok(
            request(
                "hasCredentials",
                json!({"_id": "frank", "strategy": "local"}),
            ),
            admin,
        )
        .await;
    assert_eq!(has, false);
    let credentials = json!({"username": "frank", "password": "frank-password"});
    api.ok(
        request(
            "createCredentials",
            json!({"_id": "frank", "strategy": "local", "body": credentials}),
        ),
        admin,
    )
    .await;
    let by_id = api
        .ok(
            request(
                "getCredentialsById",
                json!({"_id": "frank", "strategy": "local"}),
            ),
            admin,
        )
        .await;
    assert_eq!(by_id["kuid"], "frank");
    let searched = api
        .ok(
            request(
                "searchUsersByCredentials",
                json!({"strategy": "local",
            "body": {"query": {"term": {"username": "frank"}}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(searched["total"], 1, "{searched}");
    assert_eq!(
        searched["hits"][0],
        json!({"kuid": "frank", "username": "frank"})
    );
    let probe = api
        .ok(
            request(
                "searchUsersByCredentials",
                json!({"strategy": "local",
            "body": {"query": {"exists": {"field": "passwordHash"}}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(
        probe["total"], 0,
        "password hashes must not be searchable: {probe}"
    );
    let unknown = api
        .query(
            request(
                "getCredentials",
                json!({"_id": "frank", "strategy": "ldap"}),
            ),
            admin,
        )
        .await;
    assert_eq!(error_id(&unknown), "security.credentials.unknown_strategy");

    // The user changes its own password, then logs in with it.
    let frank = api.login("frank", "frank-password").await;
    let change = json!({"controller": "auth", "action": "updateMyCredentials", "strategy": "local",
        "body": {"password": "new-password"}});
    let frank_role = json!({"auth": {"actions": {"*": true}}});
    api.put_role(&admin_token, "default", frank_role).await;
    api.ok(change, Some(&frank)).await;
    api.login("frank", "new-password").await;

    // An administrator creates an API key for the user, which authenticates as that user.
    let created = api
        .ok(
            request(
                "createApiKey",
                json!({"userId": "frank", "body": {"description": "robot"}}),
            ),
            admin,
        )
        .await;
    let key = created["_source"]["token"].as_str().unwrap().to_owned();
    let me = api
        .ok(
            json!({"controller": "auth", "action": "getCurrentUser"}),
            Some(&key),
        )
        .await;
    assert_eq!(me["_id"], "frank");
    let listed = api
        .ok(request("searchApiKeys", json!({"userId": "frank"})), admin)
        .await;
    assert_eq!(listed["total"], 1);
    let koncorde = api
        .ok(
            request(
                "searchApiKeys",
                json!({"userId": "frank", "lang": "koncorde",
            "body": {"query": {"equals": {"description": "robot"}}}}),
            ),
            admin,
        )
        .await;
    assert_eq!(koncorde["total"], 1, "{koncorde}");
    let none = api
        .ok(request("searchApiKeys", json!({"userId": "admin"})), admin)
        .await;
    assert_eq!(none["total"], 0, "another user's keys listed: {none}");
    assert!(
        listed["hits"][0]["_source"].get("token").is_none(),
        "token stored"
    );
    api.ok(
        request(
            "deleteApiKey",
            json!({"userId": "frank", "_id": created["_id"]}),
        ),
        admin,
    )
    .await;
    let revoked = api
        .query(
            json!({"controller": "auth", "action": "getCurrentUser"}),
            Some(&key),
        )
        .await;
    assert_eq!(error_id(&revoked), "security.token.invalid");

    let session = api.login("frank", "new-password").await;
    api.ok(request("revokeTokens", json!({"_id": "frank"})), admin)
        .await;
    let revoked = api
        .query(
            json!({"controller": "auth", "action": "getCurrentUser"}),
            Some(&session),
        )
        .await;
    assert_eq!(error_id(&revoked), "security.token.invalid");
}

fn auth(action: &str, fields: Value) -> Value {
    let mut payload = fields;
    payload["controller"] = json!("auth");
    payload["action"] = json!(action);
    payload
}

#[tokio::test]
async fn self_service_actions() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin_token = api.create_first_admin().await;
    let admin = Some(admin_token.as_str());
    api.put_role(
        &admin_token,
        "default",
        json!({"auth": {"actions": {"*": true}}}),
    )
    .await;
    // Without its rate limit of 10 requests per second, which this test would exceed.
    api.put_profile(&admin_token, "default", json!([{"roleId": "default"}]))
        .await;

    let forced = json!({"_id": "gina", "body": {"content": {"profileIds": ["admin"]}}});
    let rejected = api
        .query(request("createRestrictedUser", forced), admin)
        .await;
    assert_eq!(error_id(&rejected), "api.assert.forbidden_argument");
    let body = json!({"content": {"name": "Gina"},
        "credentials": {"local": {"username": "gina", "password": "gina-password"}}});
    let created = api
        .ok(
            request("createRestrictedUser", json!({"_id": "gina", "body": body})),
            admin,
        )
        .await;
    assert_eq!(created["_source"]["profileIds"], json!(["default"]));

    let gina = api.login("gina", "gina-password").await;
    let gina = Some(gina.as_str());
    let strategies = api.ok(auth("getStrategies", json!({})), gina).await;
    assert_eq!(strategies, json!(["local"]));
    let me = api.ok(auth("getCurrentUser", json!({})), gina).await;
    assert_eq!(me["strategies"], json!(["local"]));

    let promote = api
        .query(
            auth("updateSelf", json!({"body": {"profileIds": ["admin"]}})),
            gina,
        )
        .await;
    assert_eq!(error_id(&promote), "api.assert.forbidden_argument");
    let updated = api
        .ok(
            auth("updateSelf", json!({"body": {"city": "Nantes"}})),
            gina,
        )
        .await;
    assert_eq!(updated["_source"]["city"], "Nantes");
    assert_eq!(updated["_source"]["profileIds"], json!(["default"]));

    let local = json!({"strategy": "local"});
    let mine = api.ok(auth("getMyCredentials", local.clone()), gina).await;
    assert_eq!(mine, json!({"username": "gina", "kuid": "gina"}));
    let valid = api
        .ok(
            auth(
                "validateMyCredentials",
                json!({"strategy": "local", "body": {"password": "other"}}),
            ),
            gina,
        )
        .await;
    assert_eq!(valid, true);
    let taken = api
        .query(
            auth(
                "validateMyCredentials",
                json!({"strategy": "local", "body": {"username": "admin"}}),
            ),
            gina,
        )
        .await;
    assert_eq!(error_id(&taken), "security.credentials.rejected");

    let deleted = api
        .ok(auth("deleteMyCredentials", local.clone()), gina)
        .await;
    assert_eq!(deleted["acknowledged"], true);
    assert_eq!(
        api.ok(auth("credentialsExist", local.clone()), gina).await,
        false
    );
    let recreate =
        json!({"strategy": "local", "body": {"username": "gina2", "password": "new-password"}});
    api.ok(auth("createMyCredentials", recreate), gina).await;
    assert_eq!(api.ok(auth("credentialsExist", local), gina).await, true);
    api.login("gina2", "new-password").await;

    let allowed = api
        .ok(
            auth(
                "checkRights",
                json!({"body": {"controller": "auth", "action": "logout"}}),
            ),
            gina,
        )
        .await;
    assert_eq!(allowed["allowed"], true);
    let denied = api
        .ok(
            auth(
                "checkRights",
                json!({"body": {"controller": "security", "action": "getUser"}}),
            ),
            gina,
        )
        .await;
    assert_eq!(denied["allowed"], false);
    let other = api
        .ok(
            request(
                "checkRights",
                json!({"userId": "gina", "body": {"controller": "auth", "action": "login"}}),
            ),
            admin,
        )
        .await;
    assert_eq!(other["allowed"], true);
}
