//! Starts a real `palisade` server for tests.
