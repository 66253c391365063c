//! Diagnostic (issue 13): the plan and the time of each statement of the discovery pages
//! `load` measures, on a database `load` seeded (it migrates it to head first).
//!
//!     qplan --db URL [--plan] [--reps 20] [--only "tag"] [--walk | --capped]
//!
//! `--plan` prints SQLite's EXPLAIN QUERY PLAN / PostgreSQL's EXPLAIN (ANALYZE, BUFFERS);
//! `--walk` builds SQLite text pages as a walk of the ordered index (`TextPlan::Walk`), `--capped`
//! as the one statement for the page and the total the server runs first (`TextPlan::Capped`).
use std::time::Instant;
use workflow_templates::store::{PageQuery, Sort};
use workflow_templates::TemplateCategory;
use workflow_templates_server::db::{Conn, DbUrl, Dialect};
use workflow_templates_server::discover::page_sql;

fn arg(name: &str) -> Option<String> {
    let a: Vec<String> = std::env::args().collect();
    a.iter().position(|x| x == name).and_then(|i| a.get(i + 1).cloned())
}

fn main() {
    let url = DbUrl::parse(&arg("--db").unwrap()).unwrap();
    let plan = std::env::args().any(|a| a == "--plan");
    let reps: usize = arg("--reps").map(|v| v.parse().unwrap()).unwrap_or(20);
    let only = arg("--only");
    let mut c = Conn::open(&url).unwrap();
    let t = Instant::now();
    workflow_templates_server::migrations::up(&mut c).unwrap();
    eprintln!("migrated in {:.1} s", t.elapsed().as_secs_f64());
    let viewer = c.query("SELECT id FROM users WHERE name = 'owner 00'", &[]).unwrap()[0][0].text().unwrap().to_string();
    let base = PageQuery { viewer: viewer.clone(), text: None, category: None, workflow_type: None, tags: vec![], owner: None, latest_only: true, sort: Sort::Popular, offset: 0, limit: 20 };
    let shapes: Vec<(&str, PageQuery)> = vec![
        ("popular", base.clone()),
        ("tag", PageQuery { tags: vec!["t3".into()], ..base.clone() }),
        ("tag off1000", PageQuery { tags: vec!["t3".into()], offset: 1000, ..base.clone() }),
        ("cat+tag", PageQuery { tags: vec!["t3".into()], category: Some(TemplateCategory::Programming), ..base.clone() }),
        ("two tags rating", PageQuery { tags: vec!["t3".into(), "g3".into()], sort: Sort::Rating, ..base.clone() }),
        ("text common", PageQuery { text: Some("summarize".into()), ..base.clone() }),
        ("text common off1000", PageQuery { text: Some("summarize".into()), offset: 1000, ..base.clone() }),
        ("text rare", PageQuery { text: Some("record number 517".into()), ..base.clone() }),
        ("text+cat name", PageQuery { text: Some("number 37".into()), category: Some(TemplateCategory::General), sort: Sort::Name, ..base.clone() }),
    ];
    let d = c.dialect();
    for (name, q) in shapes {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        use workflow_templates_server::discover::TextPlan;
        let text_plan = match (std::env::args().any(|a| a == "--walk"), std::env::args().any(|a| a == "--capped")) {
            (true, _) => TextPlan::Walk,
            (false, true) => TextPlan::Capped,
            _ => TextPlan::Matches,
        };
        // The window the server would give the trigram indexes (PostgreSQL, migration 018).
        let window = q.text.as_deref().and_then(|x| workflow_templates_server::discover::index_window(&mut c, x).unwrap());
        if let Some(w) = &window {
            println!("--- {name}: the index is given {w:?}");
        }
        let (rows, total, p) = page_sql(d, &q, text_plan, window.as_deref());
        let tp = &p[..p.len() - 3];
        for (label, sql, params) in [("total", &total, tp), ("rows", &rows, &p[..])] {
            if plan {
                let ex = match d {
                    Dialect::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
                    Dialect::Postgres => format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"),
                };
                println!("--- {name} {label}: {sql}");
                for r in c.query(&ex, params).unwrap() {
                    println!("  {}", r.iter().map(|v| v.text().map(str::to_string).unwrap_or_else(|| format!("{:?}", v.int()))).collect::<Vec<_>>().join(" | "));
                }
            }
            let mut times: Vec<f64> = (0..reps)
                .map(|_| {
                    let t = Instant::now();
                    let n = c.query(sql, params).unwrap().len();
                    std::hint::black_box(n);
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!("{name:22} {label:5} median {:7.2} ms  min {:7.2} ms", times[times.len() / 2], times[0]);
        }
    }
}
