//! The documents in the payload of `generic:document:*` events.

use serde_json::Value;

/// One document of a `generic:document:*` payload: `{"_id": ..., "_source": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document id; `None` before a create that lets the server choose it.
    pub id: Option<String>,
    /// The document content; `None` for get and delete events, which carry only ids.
    pub source: Option<Value>,
}

impl Document {
    /// Reads the documents of a `generic:document:*` payload, a JSON array of documents. Entries
    /// that are not objects are skipped; a payload that is not an array has no documents.
    pub fn list_from(payload: &Value) -> Vec<Document> {
        let Some(entries) = payload.as_array() else {
            return Vec::new();
        };
        entries.iter().filter_map(Self::from_entry).collect()
    }

    fn from_entry(entry: &Value) -> Option<Document> {
        let entry = entry.as_object()?;
        let id = entry.get("_id").and_then(Value::as_str).map(str::to_owned);
        let source = entry
            .get("_source")
            .filter(|source| !source.is_null())
            .cloned();
        Some(Document { id, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_read_from_payload() {
        let payload = json!([
            {"_id": "a", "_source": {"title": "Dune"}},
            {"_id": null, "_source": {"title": "Emma"}},
            {"_id": "c"},
            "not a document",
        ]);

        let documents = Document::list_from(&payload);

        assert_eq!(documents.len(), 3);
        assert_eq!(documents[0].id.as_deref(), Some("a"));
        assert_eq!(documents[0].source, Some(json!({"title": "Dune"})));
        assert_eq!(documents[1].id, None);
        assert_eq!(documents[2].source, None);
    }

    #[test]
    fn non_array_payload_has_no_documents() {
        assert!(Document::list_from(&json!({"_id": "a"})).is_empty());
    }
}
