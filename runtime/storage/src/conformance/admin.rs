//! Conformance cases for indexes, collections and mappings.

use std::sync::Arc;

use serde_json::json;

use super::{BOOKS, INDEX, error_id, seed_books, wait_for};
use crate::store::{CollectionConfig, DocumentStore};

fn config(mappings: serde_json::Value) -> CollectionConfig {
    CollectionConfig {
        mappings: Some(mappings),
        settings: None,
    }
}

pub async fn index_lifecycle(store: Arc<dyn DocumentStore>) {
    assert!(!store.index_exists("shop").await.unwrap());
    store.create_index("shop").await.unwrap();
    assert!(store.index_exists("shop").await.unwrap());
    assert_eq!(
        error_id(store.create_index("shop").await),
        "services.storage.index_already_exists"
    );
    store.create_index("archive").await.unwrap();
    assert_eq!(
        store.list_indexes().await.unwrap(),
        vec!["archive".to_owned(), "shop".to_owned()]
    );

    store
        .create_collection("shop", "items", CollectionConfig::default())
        .await
        .unwrap();
    store.delete_index("shop").await.unwrap();
    assert!(!store.index_exists("shop").await.unwrap());
    assert_eq!(
        error_id(store.delete_index("shop").await),
        "services.storage.unknown_index"
    );
    assert_eq!(
        error_id(store.list_collections("shop").await),
        "services.storage.unknown_index"
    );

    // A re-created index starts empty.
    store.create_index("shop").await.unwrap();
    assert!(store.list_collections("shop").await.unwrap().is_empty());
}

pub async fn internal_indexes_hidden(store: Arc<dyn DocumentStore>) {
    store.create_index("%kuzzle").await.unwrap();
    store.create_index("public").await.unwrap();
    assert!(store.index_exists("%kuzzle").await.unwrap());
    assert_eq!(
        store.list_indexes().await.unwrap(),
        vec!["public".to_owned()]
    );
    store
        .create_collection("%kuzzle", "users", CollectionConfig::default())
        .await
        .unwrap();
    store
        .create(
            "%kuzzle",
            "users",
            Some("admin"),
            json!({"name": "a"}),
            wait_for(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get("%kuzzle", "users", "admin").await.unwrap().source,
        json!({"name": "a"})
    );
}

pub async fn invalid_names_rejected(store: Arc<dyn DocumentStore>) {
    for name in [
        "Upper",
        "_all",
        "a b",
        "a.b",
        "a/b",
        "a*",
        "",
        "a%b",
        &"x".repeat(127),
    ] {
        assert_eq!(
            error_id(store.create_index(name).await),
            "services.storage.invalid_index_name",
            "{name:?}"
        );
    }
    store.create_index("valid").await.unwrap();
    for name in ["Upper", "_all", "a:b", "a#b", "a,b", "%c"] {
        let result = store
            .create_collection("valid", name, CollectionConfig::default())
            .await;
        assert_eq!(
            error_id(result),
            "services.storage.invalid_collection_name",
            "{name:?}"
        );
    }
}

pub async fn collection_lifecycle(store: Arc<dyn DocumentStore>) {
    let missing = store
        .create_collection("nowhere", "c", CollectionConfig::default())
        .await;
    assert_eq!(error_id(missing), "services.storage.unknown_index");
    store.create_index(INDEX).await.unwrap();
    assert!(!store.collection_exists(INDEX, "b").await.unwrap());
    let settings = json!({"number_of_shards": 1});
    let with_settings = CollectionConfig {
        mappings: None,
        settings: Some(settings.clone()),
    };
    store
        .create_collection(INDEX, "b", with_settings)
        .await
        .unwrap();
    store
        .create_collection(INDEX, "a", CollectionConfig::default())
        .await
        .unwrap();
    assert!(store.collection_exists(INDEX, "b").await.unwrap());
    assert_eq!(
        store.list_collections(INDEX).await.unwrap(),
        vec!["a".to_owned(), "b".to_owned()]
    );
    assert_eq!(store.get_settings(INDEX, "b").await.unwrap(), settings);

    let mapping = store.get_mapping(INDEX, "a", false).await.unwrap();
    assert_eq!(
        mapping,
        json!({"dynamic": "false", "_meta": {}, "properties": {}})
    );
    let with_meta = store.get_mapping(INDEX, "a", true).await.unwrap();
    assert_eq!(
        with_meta["properties"]["_kuzzle_info"]["properties"]["author"]["type"],
        "keyword"
    );
    assert_eq!(
        with_meta["properties"]["_kuzzle_info"]["properties"]["createdAt"]["type"],
        "date"
    );

    store.delete_collection(INDEX, "a").await.unwrap();
    assert!(!store.collection_exists(INDEX, "a").await.unwrap());
    assert_eq!(
        error_id(store.delete_collection(INDEX, "a").await),
        "services.storage.unknown_collection"
    );
    assert_eq!(
        error_id(store.get_mapping(INDEX, "a", false).await),
        "services.storage.unknown_collection"
    );
}

pub async fn mapping_updates(store: Arc<dyn DocumentStore>) {
    store.create_index(INDEX).await.unwrap();
    let initial =
        json!({"dynamic": "strict", "_meta": {"v": 1}, "properties": {"a": {"type": "keyword"}}});
    store
        .create_collection(INDEX, "c", config(initial))
        .await
        .unwrap();
    store
        .create(INDEX, "c", Some("d1"), json!({"a": "x"}), wait_for())
        .await
        .unwrap();

    let updated = store
        .update_mapping(INDEX, "c", json!({"properties": {"n": {"type": "long"}}}))
        .await
        .unwrap();
    assert_eq!(updated["properties"]["a"]["type"], "keyword");
    assert_eq!(updated["properties"]["n"]["type"], "long");
    assert_eq!(updated["dynamic"], "strict");
    assert_eq!(updated["_meta"], json!({"v": 1}));

    // Documents written before the new field stay searchable, and the new field is searchable.
    store
        .create(
            INDEX,
            "c",
            Some("d2"),
            json!({"a": "y", "n": 7}),
            wait_for(),
        )
        .await
        .unwrap();
    let request = |query| crate::store::SearchRequest {
        body: json!({"query": query}),
        ..Default::default()
    };
    let hits = store
        .search(INDEX, "c", request(json!({"term": {"a": "x"}})))
        .await
        .unwrap();
    assert_eq!(hits.total, 1);
    let hits = store
        .search(INDEX, "c", request(json!({"range": {"n": {"gte": 7}}})))
        .await
        .unwrap();
    assert_eq!(hits.total, 1);

    let change = store
        .update_mapping(INDEX, "c", json!({"properties": {"a": {"type": "long"}}}))
        .await;
    assert_eq!(error_id(change), "services.storage.cannot_change_mapping");
    let bad_type = store
        .update_mapping(INDEX, "c", json!({"properties": {"z": {"type": "blob"}}}))
        .await;
    assert_eq!(error_id(bad_type), "services.storage.invalid_mapping_type");

    // collection create on an existing collection updates it, as in Kuzzle.
    let more = json!({"properties": {"b": {"type": "boolean"}}});
    store
        .create_collection(INDEX, "c", config(more))
        .await
        .unwrap();
    let mapping = store.get_mapping(INDEX, "c", false).await.unwrap();
    assert_eq!(mapping["properties"]["b"]["type"], "boolean");
    assert_eq!(mapping["properties"]["a"]["type"], "keyword");
}

pub async fn strict_mapping_rejects(store: Arc<dyn DocumentStore>) {
    store.create_index(INDEX).await.unwrap();
    let strict = json!({"dynamic": "strict", "properties": {"a": {"type": "keyword"}, "o": {"properties": {"x": {"type": "long"}}}}});
    store
        .create_collection(INDEX, "c", config(strict))
        .await
        .unwrap();
    let result = store
        .create(INDEX, "c", None, json!({"a": "x", "extra": 1}), wait_for())
        .await;
    let error = result.unwrap_err();
    assert_eq!(
        error.kuzzle_id(),
        "services.storage.strict_mapping_rejection"
    );
    assert_eq!(error.props()[0], "extra");
    let nested = store
        .create(INDEX, "c", None, json!({"o": {"y": 1}}), wait_for())
        .await
        .unwrap_err();
    assert_eq!(nested.props()[0], "o.y");
    store
        .create(
            INDEX,
            "c",
            Some("ok"),
            json!({"a": "x", "o": {"x": 2}}),
            wait_for(),
        )
        .await
        .unwrap();
    let update = store
        .update(INDEX, "c", "ok", json!({"nope": true}), wait_for())
        .await;
    assert_eq!(
        error_id(update),
        "services.storage.strict_mapping_rejection"
    );
    assert_eq!(store.get(INDEX, "c", "ok").await.unwrap().version, 1);
}

pub async fn field_type_checked(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let cases = [
        (json!({"year": "nineteen"}), "year"),
        (json!({"price": {"amount": 3}}), "price"),
        (json!({"available": "yes"}), "available"),
        (json!({"published": "last tuesday"}), "published"),
        (json!({"location": {"lat": 200, "lon": 0}}), "location"),
        (json!({"reviews": [{"stars": "many"}]}), "reviews.stars"),
    ];
    for (source, field) in cases {
        let error = store
            .create(INDEX, BOOKS, None, source.clone(), wait_for())
            .await
            .unwrap_err();
        assert_eq!(
            error.kuzzle_id(),
            "services.storage.invalid_mapping",
            "{source}"
        );
        assert_eq!(error.props()[0], field, "{source}");
    }
    // Coercible values are accepted, as in Elasticsearch.
    store
        .create(
            INDEX,
            BOOKS,
            Some("c1"),
            json!({"year": "1999", "available": "true"}),
            wait_for(),
        )
        .await
        .unwrap();
}

pub async fn dynamic_mapping_adds_fields(store: Arc<dyn DocumentStore>) {
    store.create_index(INDEX).await.unwrap();
    store
        .create_collection(INDEX, "c", config(json!({"dynamic": "true"})))
        .await
        .unwrap();
    let source =
        json!({"name": "Ada Lovelace", "age": 36, "born": "1815-12-10", "meta": {"ok": true}});
    store
        .create(INDEX, "c", Some("ada"), source, wait_for())
        .await
        .unwrap();
    let mapping = store.get_mapping(INDEX, "c", false).await.unwrap();
    assert_eq!(mapping["properties"]["name"]["type"], "text");
    assert_eq!(
        mapping["properties"]["name"]["fields"]["keyword"]["type"],
        "keyword"
    );
    assert_eq!(mapping["properties"]["age"]["type"], "long");
    assert_eq!(mapping["properties"]["born"]["type"], "date");
    assert_eq!(
        mapping["properties"]["meta"]["properties"]["ok"]["type"],
        "boolean"
    );

    let body = json!({"query": {"bool": {"filter": [
        {"match": {"name": "lovelace"}}, {"term": {"name.keyword": "Ada Lovelace"}},
        {"range": {"age": {"gt": 30}}}, {"term": {"meta.ok": true}}
    ]}}});
    let request = crate::store::SearchRequest {
        body,
        ..Default::default()
    };
    assert_eq!(store.search(INDEX, "c", request).await.unwrap().total, 1);

    // An object without values changes the mapping but not the searchable fields.
    store
        .create(INDEX, "c", Some("blank"), json!({"holder": {}}), wait_for())
        .await
        .unwrap();
    let mapping = store.get_mapping(INDEX, "c", false).await.unwrap();
    assert_eq!(mapping["properties"]["holder"]["type"], "object");
    assert_eq!(
        store
            .count(INDEX, "c", json!({"ids": {"values": ["blank"]}}))
            .await
            .unwrap(),
        1
    );

    // With dynamic false, unmapped fields are stored but not searchable.
    store
        .create_collection(INDEX, "closed", CollectionConfig::default())
        .await
        .unwrap();
    store
        .create(
            INDEX,
            "closed",
            Some("x"),
            json!({"free": "text"}),
            wait_for(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get(INDEX, "closed", "x").await.unwrap().source,
        json!({"free": "text"})
    );
    assert_eq!(
        store
            .count(INDEX, "closed", json!({"match": {"free": "text"}}))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .count(INDEX, "closed", json!({"match_all": {}}))
            .await
            .unwrap(),
        1
    );
}

pub async fn truncate_keeps_mapping(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let before = store.get_mapping(INDEX, BOOKS, true).await.unwrap();
    store.truncate_collection(INDEX, BOOKS).await.unwrap();
    assert_eq!(store.count(INDEX, BOOKS, json!({})).await.unwrap(), 0);
    assert_eq!(
        error_id(store.get(INDEX, BOOKS, "b1").await),
        "services.storage.not_found"
    );
    assert_eq!(store.get_mapping(INDEX, BOOKS, true).await.unwrap(), before);
    store
        .create(INDEX, BOOKS, Some("b1"), json!({"year": 1}), wait_for())
        .await
        .unwrap();
    assert_eq!(
        store
            .count(INDEX, BOOKS, json!({"term": {"year": 1}}))
            .await
            .unwrap(),
        1
    );
}

pub async fn stats_count_documents(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    store.create_index("%hidden").await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.indexes.len(), 1);
    let library = &stats.indexes[0];
    assert_eq!(library.name, INDEX);
    assert_eq!(library.collections.len(), 1);
    assert_eq!(library.collections[0].document_count, 6);
    assert!(library.size > 0);
    assert_eq!(stats.size, library.size);
}

pub async fn unindexed_fields_stored_only(store: Arc<dyn DocumentStore>) {
    store.create_index(INDEX).await.unwrap();
    let mappings = json!({"properties": {
        "code": {"type": "keyword", "index": false},
        "name": {"type": "text", "fields": {"raw": {"type": "keyword", "index": false}}}
    }});
    store
        .create_collection(INDEX, "c", config(mappings))
        .await
        .unwrap();
    store
        .create(
            INDEX,
            "c",
            Some("d1"),
            json!({"code": "x1", "name": "Ada"}),
            wait_for(),
        )
        .await
        .unwrap();

    assert_eq!(
        store.get(INDEX, "c", "d1").await.unwrap().source["code"],
        "x1"
    );
    assert_eq!(
        store
            .count(INDEX, "c", json!({"match": {"name": "ada"}}))
            .await
            .unwrap(),
        1
    );
    for query in [
        json!({"term": {"code": "x1"}}),
        json!({"term": {"name.raw": "Ada"}}),
    ] {
        let result = store.count(INDEX, "c", query.clone()).await;
        assert_eq!(
            error_id(result),
            "services.storage.invalid_search_query",
            "{query}"
        );
    }
    let sort = crate::store::SearchRequest {
        body: json!({"sort": ["code"]}),
        ..Default::default()
    };
    assert_eq!(
        error_id(store.search(INDEX, "c", sort).await),
        "services.storage.invalid_search_query"
    );
}
