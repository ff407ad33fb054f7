//! `triage --jsonl`: one flat JSON object per dump, which a query engine
//! groups by itself. DuckDB (PyPI `duckdb`) loads the stream and its
//! `GROUP BY signature` must equal crashview's own groups.
//!
//! The Python with duckdb is `CRASHVIEW_DUCKDB_PYTHON` (scripts/test.sh
//! makes a venv and sets it; then a failure to run it fails the test),
//! else `python3` if it imports duckdb, else the DuckDB half is skipped
//! with a note.

mod common;
use common::{crashview, fixture};
use std::collections::BTreeMap;
use std::process::Command;

fn pile() -> Vec<String> {
    let mut v = Vec::new();
    for dir in ["ramoops", "recorder"] {
        for e in std::fs::read_dir(fixture(dir)).unwrap().flatten() {
            for f in ["region.bin", "pstore"] {
                let p = e.path().join(f);
                if p.exists() {
                    v.push(p.to_str().unwrap().to_string());
                }
            }
        }
    }
    v.sort();
    v.push(fixture("crashdir/var-crash").to_str().unwrap().to_string());
    v.push(
        fixture("vmcore/kdump/kdump-elf.min.zst")
            .to_str()
            .unwrap()
            .to_string(),
    );
    v
}

fn python() -> Option<String> {
    if let Ok(p) = std::env::var("CRASHVIEW_DUCKDB_PYTHON") {
        if !p.is_empty() {
            return Some(p);
        }
    }
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| "python3".to_string())
}

#[test]
fn duckdb_groups_equal_crashview_groups() {
    let inputs = pile();
    let args: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let (code, rows, err) = crashview(&[&["triage", "--jsonl"][..], &args].concat());
    assert_eq!(code, 0, "{err}");
    let (code, groups, err) = crashview(&[&["triage", "--json"][..], &args].concat());
    assert_eq!(code, 0, "{err}");
    let groups: serde_json::Value = serde_json::from_str(&groups).unwrap();
    let ours: BTreeMap<String, u64> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["signature"]["id"].as_str().unwrap().to_string(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(ours.len() > 3, "the pile has several crashes: {ours:?}");

    // Every line is one object of the row schema; one line per dump.
    let lines: Vec<serde_json::Value> = rows
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len() as u64, groups["dumps"].as_u64().unwrap());
    assert!(lines
        .iter()
        .all(|r| r["schema"] == "crashview.triage.row/1" && r["signature"].is_string()));

    let Some(py) = python() else {
        eprintln!("note: no Python with duckdb (set CRASHVIEW_DUCKDB_PYTHON): DuckDB half skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dumps.jsonl");
    std::fs::write(&path, &rows).unwrap();
    // The grouping the book's query does (user-guide.md).
    let script = format!(
        "import duckdb, json\n\
         rows = duckdb.sql(\"\"\"SELECT signature, count(*) AS dumps FROM read_json_auto('{}') \
         WHERE signature IS NOT NULL GROUP BY signature ORDER BY dumps DESC, signature\"\"\").fetchall()\n\
         print(json.dumps(dict(rows)))\n",
        path.display()
    );
    let o = Command::new(&py)
        .args(["-c", &script])
        .output()
        .expect("runs python");
    assert!(
        o.status.success(),
        "{py}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let duck: BTreeMap<String, u64> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(duck, ours);
}
