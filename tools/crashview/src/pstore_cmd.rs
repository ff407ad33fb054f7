//! `crashview pstore list|extract`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use crashview_analysis::input::{self, LoadOptions, Question};
use crashview_ramoops::pstore::{PstoreFile, Source};
use crashview_ramoops::region::{Diagnostic, Overrides, Region, Severity};
use serde::Serialize;

/// Everything read from one input: files plus what was noticed.
struct Loaded {
    files: Vec<PstoreFile>,
    region: Option<Box<Region>>,
    diagnostics: Vec<Diagnostic>,
}

fn load(path: &Path, ov: &Overrides) -> anyhow::Result<Loaded> {
    let opts = LoadOptions {
        ramoops: *ov,
        skip_kernel_state: true,
        ..LoadOptions::default()
    };
    let inp = input::load_with(path, &opts)?;
    inp.require(Question::Records)?;
    let mut diagnostics = inp
        .region
        .as_ref()
        .map(|r| r.all_diagnostics())
        .unwrap_or_default();
    if let (Some(j), Some(r)) = (&inp.journal, &inp.region) {
        diagnostics.insert(
            0,
            Diagnostic {
                severity: Severity::Note,
                offset: j.offset as u64,
                zone: None,
                message: format!(
                    "panic journal found here (see `crashview journal`); ramoops zones end at {:#x}",
                    r.params.mem_size
                ),
            },
        );
    }
    Ok(Loaded {
        files: inp.files,
        region: inp.region,
        diagnostics,
    })
}

fn print_diagnostics(path: &Path, diags: &[Diagnostic]) {
    for d in diags {
        let sev = match d.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        let zone = d
            .zone
            .map(|(k, i)| format!(" {}({})", k.name(), i))
            .unwrap_or_default();
        eprintln!(
            "crashview: {sev}: {}: offset {:#x}{zone}: {}",
            path.display(),
            d.offset,
            d.message
        );
    }
}

#[derive(Serialize)]
struct JsonList<'a> {
    schema: &'static str,
    input: String,
    layout: Option<JsonLayout>,
    records: Vec<JsonRecord<'a>>,
    diagnostics: Vec<JsonDiag>,
}

#[derive(Serialize)]
struct JsonLayout {
    mem_size: u64,
    record_size: u64,
    console_size: u64,
    ftrace_size: u64,
    pmsg_size: u64,
    ecc: u32,
    dmesg_zones: u32,
    dmesg_zone_size: u64,
    autodetected: bool,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    file: &'a str,
    #[serde(rename = "type")]
    type_name: &'a str,
    id: u64,
    zone_offset: Option<u64>,
    reason: Option<&'static str>,
    count: Option<u32>,
    part: Option<u32>,
    time: Option<i64>,
    time_usec: Option<u32>,
    compressed: bool,
    decompressed: bool,
    ecc_corrected_bytes: Option<u32>,
    ecc_bad_blocks: Option<u32>,
    size: usize,
}

#[derive(Serialize)]
struct JsonDiag {
    severity: &'static str,
    offset: u64,
    zone: Option<String>,
    message: String,
}

/// `crashview pstore list`.
pub fn list(path: &Path, ov: &Overrides, json: bool) -> anyhow::Result<()> {
    let loaded = load(path, ov)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let doc = JsonList {
            schema: "crashview.pstore.list/1",
            input: path.display().to_string(),
            layout: loaded.region.as_ref().map(|r| JsonLayout {
                mem_size: r.params.mem_size,
                record_size: r.layout.record_size,
                console_size: r.layout.console.zone_size * u64::from(r.layout.console.count),
                ftrace_size: r.layout.ftrace.len(),
                pmsg_size: r.layout.pmsg.zone_size * u64::from(r.layout.pmsg.count),
                ecc: r.params.ecc,
                dmesg_zones: r.layout.dmesg.count,
                dmesg_zone_size: r.layout.dmesg.zone_size,
                autodetected: r.detected.layout,
            }),
            records: loaded.files.iter().map(json_record).collect(),
            diagnostics: loaded
                .diagnostics
                .iter()
                .map(|d| JsonDiag {
                    severity: match d.severity {
                        Severity::Note => "note",
                        Severity::Warning => "warning",
                        Severity::Error => "error",
                    },
                    offset: d.offset,
                    zone: d.zone.map(|(k, i)| format!("{}({})", k.name(), i)),
                    message: d.message.clone(),
                })
                .collect(),
        };
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    print_diagnostics(path, &loaded.diagnostics);
    if let Some(r) = &loaded.region {
        writeln!(
            out,
            "region: {:#x} bytes, {} dmesg zones of {:#x} (record_size {:#x}), console {:#x}, ftrace {:#x} in {} zone(s), pmsg {:#x}, ecc {}{}",
            r.params.mem_size,
            r.layout.dmesg.count,
            r.layout.dmesg.zone_size,
            r.layout.record_size,
            r.layout.console.len(),
            r.layout.ftrace.len(),
            r.layout.ftrace.count,
            r.layout.pmsg.len(),
            r.params.ecc,
            if r.detected.layout { " (autodetected)" } else { "" }
        )?;
    }
    writeln!(
        out,
        "{:<22} {:<8} {:>10} {:<10} {:>4} {:<26} {:<4} {:<10} {:>7}",
        "FILE", "TYPE", "ZONE", "REASON", "PART", "TIME", "COMP", "ECC", "SIZE"
    )?;
    for f in &loaded.files {
        let j = json_record(f);
        let zone = j
            .zone_offset
            .map(|o| format!("{o:#x}"))
            .unwrap_or_else(|| "-".into());
        let reason = j.reason.map(|r| match j.count {
            Some(c) => format!("{r}#{c}"),
            None => r.to_string(),
        });
        let time = j
            .time
            .map(|s| format!("{}.{:06} ({})", s, j.time_usec.unwrap_or(0), utc(s)))
            .unwrap_or_else(|| "-".into());
        let ecc = match (j.ecc_corrected_bytes, j.ecc_bad_blocks) {
            (Some(0), Some(0)) => "ok".to_string(),
            (Some(c), Some(b)) => format!("{c}fix/{b}bad"),
            _ => "-".into(),
        };
        writeln!(
            out,
            "{:<22} {:<8} {:>10} {:<10} {:>4} {:<26} {:<4} {:<10} {:>7}",
            f.name,
            f.type_name,
            zone,
            reason.unwrap_or_else(|| "-".into()),
            j.part.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            time,
            match (f.stored_compressed, f.compressed) {
                (true, false) => "zip",
                (true, true) => "zip!",
                _ => "no",
            },
            ecc,
            f.contents.len()
        )?;
    }
    if loaded.files.is_empty() {
        writeln!(out, "(no records)")?;
    }
    Ok(())
}

fn json_record(f: &PstoreFile) -> JsonRecord<'_> {
    let (zone_offset, ecc) = match &f.source {
        Source::Region { offset, ecc } => (Some(*offset), *ecc),
        Source::File(_) => (None, None),
    };
    JsonRecord {
        file: &f.name,
        type_name: &f.type_name,
        id: f.id,
        zone_offset,
        reason: f.part.map(|p| p.reason.as_str()),
        count: f.part.map(|p| p.count),
        part: f.part.map(|p| p.part),
        time: f.time.map(|t| t.0),
        time_usec: f.time.map(|t| t.1 / 1000),
        compressed: f.stored_compressed,
        decompressed: f.stored_compressed && !f.compressed,
        ecc_corrected_bytes: ecc.map(|e| e.0),
        ecc_bad_blocks: ecc.map(|e| e.1),
        size: f.contents.len(),
    }
}

/// `YYYY-MM-DD HH:MM:SS` UTC from Unix seconds.
fn utc(secs: i64) -> String {
    crashview_analysis::text::utc_plain(secs)
}

/// `crashview pstore extract`.
pub fn extract(path: &Path, outdir: &Path, ov: &Overrides) -> anyhow::Result<()> {
    let loaded = load(path, ov)?;
    print_diagnostics(path, &loaded.diagnostics);
    std::fs::create_dir_all(outdir)
        .with_context(|| format!("{}: cannot create output directory", outdir.display()))?;
    for f in &loaded.files {
        let dst = outdir.join(&f.name);
        std::fs::write(&dst, &f.contents)
            .with_context(|| format!("{}: cannot write", dst.display()))?;
        // pstore stamps files with the dump time when it has one.
        if let Some((s, ns)) = f.time.filter(|t| t.0 > 0) {
            let t = std::time::UNIX_EPOCH + std::time::Duration::new(s as u64, ns);
            if let Ok(file) = std::fs::File::options().write(true).open(&dst) {
                let _ = file.set_modified(t);
            }
        }
        println!("{}", dst.display());
    }
    eprintln!(
        "crashview: {} record(s) written to {}",
        loaded.files.len(),
        outdir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00");
    }
}
