//! Shared fixtures for the cross-node tests.
