//! `exlic-web`: the web UI's templates and static assets, embedded at compile time so the
//! node serves them with no files beside the binary.

/// The landing page of a node.
pub const INDEX_HTML: &str = include_str!("../templates/index.html");
