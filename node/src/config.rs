//! Node settings: `config.toml` in the data directory, overridden by flags and `EXLIC_*`
//! environment variables (the CLI merges them; see `cli`).
