//! `crashview report`, `crashview triage` and `crashview log` of inputs
//! that are not a vmcore: formatting over crashview-analysis, which decides
//! everything.

use std::io::Write;
use std::path::{Path, PathBuf};

use crashview_analysis::input::{self, Question};
use crashview_analysis::symbols::Session;
use crashview_analysis::triage::{Grouper, Row};
use crashview_analysis::{self as analysis, text, Report};
use crashview_symbolize::debug_files::DebugOptions;

fn analyze(path: &Path) -> anyhow::Result<Report> {
    let input = input::load(path)?;
    Ok(analysis::analyze(&input))
}

/// How `report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The text report.
    Text,
    /// One pretty JSON document (one input).
    Json,
    /// One compact JSON object per line, per input.
    JsonLines,
}

/// `crashview report INPUT... [--json|--jsonl]`, the traces symbolized
/// unless `symbols` is `None`. Inputs that cannot be read are warned about
/// and the others still reported; the run fails if none could be.
pub fn report(
    paths: &[PathBuf],
    format: Format,
    symbols: Option<&DebugOptions>,
) -> anyhow::Result<()> {
    if format == Format::Json && paths.len() > 1 {
        anyhow::bail!(
            "--json writes one document for one input; for {} inputs use --jsonl (one object per line)",
            paths.len()
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed: Option<anyhow::Error> = None;
    let mut done = 0usize;
    // One search for debug files per kernel, not per input.
    let mut session = symbols.map(|o| Session::new(o.clone()));
    for (i, p) in paths.iter().enumerate() {
        let mut r = match analyze(p) {
            Ok(r) => r,
            Err(e) if paths.len() > 1 => {
                eprintln!("crashview: warning: {e:#}");
                failed = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(session) = &mut session {
            session.symbolize(&mut r)?;
        }
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, &r)?;
                writeln!(out)?;
            }
            Format::JsonLines => {
                serde_json::to_writer(&mut out, &r)?;
                writeln!(out)?;
                out.flush()?;
            }
            Format::Text => {
                if i > 0 {
                    writeln!(out)?;
                }
                text::write_report(&mut out, &r)?;
            }
        }
        done += 1;
    }
    out.flush()?;
    match failed {
        Some(e) if done == 0 => Err(e.context("no input could be read")),
        _ => Ok(()),
    }
}

/// `crashview log INPUT` of an input that is not a vmcore read in place:
/// the kernel log the report reads (the newest kmsg dump, a console
/// record, the text), one console line per line.
pub fn kernel_log(path: &Path, json: bool) -> anyhow::Result<()> {
    let inp = input::load_with(
        path,
        &input::LoadOptions {
            skip_kernel_state: true,
            ..input::LoadOptions::default()
        },
    )?;
    inp.require(Question::KernelLog)?;
    let r = analysis::analyze(&inp);
    for d in &r.diagnostics {
        eprintln!("crashview: warning: {d}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        let v = serde_json::json!({
            "schema": "crashview.log/1",
            "file": r.input,
            "format": r.kind.name(),
            "source": r.log.source,
            "records": r.log.lines.iter().map(|l| serde_json::json!({
                "ts_nsec": l.ts_ns, "level": l.level, "text": l.text,
            })).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        for l in &r.log.lines {
            writeln!(out, "{}", l.console())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `crashview triage INPUT... [--json|--jsonl]`. With `--jsonl`, one row
/// per dump is written as soon as it is read (constant memory); otherwise
/// the groups, with one report in memory at a time.
pub fn triage(paths: &[PathBuf], json: bool, jsonl: bool) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut grouper = Grouper::default();
    let (mut dumps, mut failed) = (0usize, 0usize);
    let mut io_err: Option<std::io::Error> = None;
    for p in paths {
        input::pile::walk(p, &mut |item| {
            if io_err.is_some() {
                return;
            }
            let res = match item {
                Ok(path) => analyze(&path).map_err(|e| (path.display().to_string(), e)),
                Err(listing) => {
                    eprintln!("crashview: warning: {listing}");
                    return;
                }
            };
            let written = match res {
                Ok(r) => {
                    dumps += 1;
                    if jsonl {
                        serde_json::to_writer(&mut out, &Row::of(&r))
                            .map_err(std::io::Error::from)
                            .and_then(|()| writeln!(out))
                    } else {
                        grouper.add(&r);
                        Ok(())
                    }
                }
                Err((name, e)) => {
                    failed += 1;
                    let msg = format!("{e:#}");
                    eprintln!("crashview: warning: {msg}");
                    if jsonl {
                        serde_json::to_writer(&mut out, &Row::unreadable(&name, &msg))
                            .map_err(std::io::Error::from)
                            .and_then(|()| writeln!(out))
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(e) = written {
                io_err = Some(e);
            }
        });
    }
    if let Some(e) = io_err {
        return Err(e.into());
    }
    if jsonl {
        out.flush()?;
        return Ok(());
    }
    let groups = grouper.finish();
    if json {
        let v = serde_json::json!({
            "schema": "crashview.triage/1",
            "dumps": dumps,
            "unreadable": failed,
            "groups": groups,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        text::write_triage(&mut out, &groups, dumps)?;
        if failed > 0 {
            writeln!(out, "\n{failed} input(s) unreadable (see warnings)")?;
        }
    }
    out.flush()?;
    Ok(())
}
