//! `crashview report` and `crashview triage`: formatting over
//! crashview-analysis, which decides everything.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use crashview_analysis::{self as analysis, text, Report};
use crashview_symbolize::debug_files::DebugOptions;

fn analyze(path: &Path) -> anyhow::Result<Report> {
    let input = analysis::input::load(path)?;
    Ok(analysis::analyze(&input))
}

/// `crashview report INPUT [--json]`, its traces symbolized unless
/// `symbols` is `None`.
pub fn report(path: &Path, json: bool, symbols: Option<&DebugOptions>) -> anyhow::Result<()> {
    let mut r = analyze(path)?;
    if let Some(opts) = symbols {
        r.symbolize(opts)?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        serde_json::to_writer_pretty(&mut out, &r)?;
        writeln!(out)?;
    } else {
        text::write_report(&mut out, &r)?;
    }
    out.flush()?;
    Ok(())
}

/// Does `dir` hold pstore files directly (not only in subdirectories)?
fn has_pstore_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.file_type().is_ok_and(|t| t.is_file())
                && crashview_ramoops::pstore::PstoreFile::parse_name(
                    &e.file_name().to_string_lossy(),
                )
                .is_some()
        })
    })
}

/// Expands a pile: a directory without pstore files of its own stands for
/// its subdirectories (a systemd-pstore archive holds one per crash).
fn expand(path: &Path, depth: u32, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !path.is_dir() || has_pstore_files(path) || depth >= 3 {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("{}: cannot list", path.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    subs.sort();
    for s in subs {
        expand(&s, depth + 1, out)?;
    }
    Ok(())
}

/// `crashview triage INPUT... [--json]`.
pub fn triage(paths: &[PathBuf], json: bool) -> anyhow::Result<()> {
    let mut inputs = Vec::new();
    for p in paths {
        expand(p, 0, &mut inputs)?;
    }
    let mut reports = Vec::with_capacity(inputs.len());
    let mut failed = 0usize;
    for p in &inputs {
        match analyze(p) {
            Ok(r) => reports.push(r),
            Err(e) => {
                failed += 1;
                eprintln!("crashview: warning: {e:#}");
            }
        }
    }
    let groups = analysis::triage::group(&reports);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        let v = serde_json::json!({
            "schema": "crashview.triage/1",
            "dumps": reports.len(),
            "unreadable": failed,
            "groups": groups,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        text::write_triage(&mut out, &groups, reports.len())?;
        if failed > 0 {
            writeln!(out, "\n{failed} input(s) unreadable (see warnings)")?;
        }
    }
    out.flush()?;
    Ok(())
}
