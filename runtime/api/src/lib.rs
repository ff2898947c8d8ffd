//! The request and response model of the Kuzzle v2 API and its error catalogue.
