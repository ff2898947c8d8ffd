//! Helpers on JSON documents: dotted-path lookup, deep merge and field removal.

use serde_json::{Map, Value};

/// Collects every value at a dotted path, walking through arrays at each step.
///
/// Arrays met on the way or at the end are flattened, as Elasticsearch indexes them, so
/// `values_at({"a":[{"b":1},{"b":[2,3]}]}, "a.b")` returns `1, 2, 3`.
pub fn values_at<'a>(source: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![source];
    for segment in path.split('.') {
        let mut next = Vec::new();
        for value in current {
            collect_child(value, segment, &mut next);
        }
        current = next;
    }
    let mut flat = Vec::new();
    for value in current {
        flatten_into(value, &mut flat);
    }
    flat
}

fn collect_child<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            if let Some(child) = map.get(key) {
                out.push(child);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_child(item, key, out);
            }
        }
        _ => {}
    }
}

fn flatten_into<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => {
            for item in items {
                flatten_into(item, out);
            }
        }
        Value::Null => {}
        other => out.push(other),
    }
}

/// Merges `changes` into `target`: objects merge key by key, any other value replaces.
pub fn deep_merge(target: &mut Value, changes: &Value) {
    match (target, changes) {
        (Value::Object(target), Value::Object(changes)) => {
            for (key, change) in changes {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && change.is_object() => {
                        deep_merge(existing, change);
                    }
                    _ => {
                        target.insert(key.clone(), change.clone());
                    }
                }
            }
        }
        (target, changes) => *target = changes.clone(),
    }
}

/// Removes the field at a dotted path; returns whether it was there.
pub fn remove_path(source: &mut Value, path: &str) -> bool {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, path),
    };
    let mut object = source;
    if let Some(parent) = parent {
        for segment in parent.split('.') {
            match object.get_mut(segment) {
                Some(child) => object = child,
                None => return false,
            }
        }
    }
    object
        .as_object_mut()
        .is_some_and(|map| map.remove(last).is_some())
}

/// Returns the object inside a value, or an empty object for anything else.
pub fn as_object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_at_flattens_arrays() {
        let doc = json!({"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}], "d": null});
        let found: Vec<_> = values_at(&doc, "a.b").into_iter().cloned().collect();
        assert_eq!(found, vec![json!(1), json!(2), json!(3)]);
        assert!(values_at(&doc, "d").is_empty());
        assert!(values_at(&doc, "missing.path").is_empty());
    }

    #[test]
    fn deep_merge_keeps_siblings() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        deep_merge(&mut doc, &json!({"a": {"b": 5}, "d": [2]}));
        assert_eq!(doc, json!({"a": {"b": 5, "c": 2}, "d": [2]}));
    }

    #[test]
    fn remove_path_nested() {
        let mut doc = json!({"a": {"b": 1, "c": 2}});
        assert!(remove_path(&mut doc, "a.b"));
        assert!(!remove_path(&mut doc, "a.x"));
        assert_eq!(doc, json!({"a": {"c": 2}}));
    }
}
