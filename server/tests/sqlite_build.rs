//! The bundled SQLite is built without STAT4 (`.cargo/config.toml`, `LIBSQLITE3_FLAGS`): with it,
//! once `ANALYZE` has filled `sqlite_stat4`, every cached statement that compares a bound value
//! with an indexed column is compiled again on each execution with new values (half of a
//! `GET /v1/templates/{id}` went to SQLite's parser; BENCHMARKS.md, issue 13 round 4).

use workflow_templates_server::db::{Conn, DbUrl};

#[test]
fn the_bundled_sqlite_is_built_without_stat4() {
    let dir = std::env::temp_dir().join(format!("wt_sqlite_build_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = Conn::open(&DbUrl::parse(&format!("sqlite://{}", dir.join("x.db").display())).unwrap()).unwrap();
    let options: Vec<String> = c.query("PRAGMA compile_options", &[]).unwrap().iter().filter_map(|r| r[0].text().map(str::to_string)).collect();
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(options.iter().any(|o| o.starts_with("THREADSAFE")), "compile options are listed: {options:?}");
    assert!(!options.iter().any(|o| o.starts_with("ENABLE_STAT4")), "SQLite was built with STAT4: {options:?}");
}
