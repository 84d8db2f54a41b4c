//! exlic node
