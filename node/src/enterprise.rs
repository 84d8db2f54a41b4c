//! The enterprise role.
