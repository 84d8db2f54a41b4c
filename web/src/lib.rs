//! `exlic-web`: the web UI's templates and static assets, embedded at compile time.
