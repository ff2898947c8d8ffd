//! Key of the engine of one `index/collection`, looked up by borrowed names.

use hashbrown::Equivalent;

use super::short_key::same_str;

/// Names of an index and a collection. They are boxed rather than inline, because reading a
/// boxed string needs no check of where it is stored, and there are few keys to store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CollectionKey {
    index: Box<str>,
    collection: Box<str>,
}

impl CollectionKey {
    /// Copies the names.
    pub fn new(index: &str, collection: &str) -> Self {
        Self {
            index: Box::from(index),
            collection: Box::from(collection),
        }
    }
}

/// Borrowed names that find a [`CollectionKey`] without copying them. The derived `Hash`
/// hashes the fields in order, as the key's does, and both hash a name as its `str`.
#[derive(Debug, Hash)]
pub struct CollectionRef<'a> {
    /// Index name.
    pub index: &'a str,
    /// Collection name.
    pub collection: &'a str,
}

impl Equivalent<CollectionKey> for CollectionRef<'_> {
    fn equivalent(&self, key: &CollectionKey) -> bool {
        same_str(self.index, &key.index) && same_str(self.collection, &key.collection)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn reference_hashes_like_key() {
        let state = foldhash::fast::RandomState::default();
        let key = CollectionKey::new("an-index-name-longer-than-24-bytes", "c");
        let reference = CollectionRef {
            index: "an-index-name-longer-than-24-bytes",
            collection: "c",
        };
        assert_eq!(state.hash_one(&key), state.hash_one(&reference));
        assert!(reference.equivalent(&key));
        let other = CollectionRef {
            index: "an-index-name-longer-than-24-byte",
            collection: "sc",
        };
        assert!(!other.equivalent(&key));
    }
}
