//! The typed error ids of the Kuzzle v2 catalogue, generated from `errors.tsv` by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

impl ErrorId {
    /// Looks an id up by its dotted name, such as `api.assert.missing_argument`.
    pub fn from_name(name: &str) -> Option<ErrorId> {
        ErrorId::ALL.iter().copied().find(|id| id.id() == name)
    }
}

impl std::fmt::Display for ErrorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_holds_every_kuzzle_id() {
        assert_eq!(ErrorId::ALL.len(), 274);
    }

    #[test]
    fn code_follows_domain_subdomain_error_layout() {
        let id = ErrorId::ApiAssertMissingArgument;
        assert_eq!(id.id(), "api.assert.missing_argument");
        assert_eq!(id.status(), 400);
        assert_eq!(id.code(), (2 << 24) | (1 << 16) | 3);
    }

    #[test]
    fn ids_are_unique_and_found_by_name() {
        for id in ErrorId::ALL {
            assert_eq!(ErrorId::from_name(id.id()), Some(*id), "lookup of {id}");
        }
        assert_eq!(ErrorId::from_name("no.such.error"), None);
    }
}
