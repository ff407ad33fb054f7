//! Inputs held in memory: detected by content (zstd, vmcore magic, text,
//! else a ramoops region) and read into an owned [`Input`].

use crashview_ramoops::region::{Overrides, Region};

use super::{Input, InputKind, JournalZone, LoadError, LoadOptions, LogLine, VmcoreData};
use super::{VmcoreFacts, MAX_DECOMPRESSED};

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Does a file starting with `b` hold a vmcore (ELF core, kdump-compressed,
/// flattened)?
pub(super) fn is_vmcore(b: &[u8]) -> bool {
    b.starts_with(b"\x7fELF") || b.starts_with(b"KDUMP   ") || b.starts_with(b"makedumpfile")
}

/// Is it zstd-compressed (as the fixtures' minimized vmcores are)?
pub(super) fn is_zstd(b: &[u8]) -> bool {
    b.starts_with(&ZSTD_MAGIC)
}

fn looks_like_text(b: &[u8]) -> bool {
    let head = b.get(..b.len().min(64 << 10)).unwrap_or(b);
    !head.is_empty() && !head.contains(&0)
}

/// Decompresses a zstd stream of at most [`MAX_DECOMPRESSED`] bytes; a
/// larger one is refused by name, not cut short.
pub(super) fn unzstd(name: &str, bytes: &[u8], max: u64) -> Result<Vec<u8>, LoadError> {
    let mut out = Vec::new();
    let dec = ruzstd::decoding::StreamingDecoder::new(bytes)
        .map_err(|e| LoadError(format!("{name}: zstd: {e}")))?;
    let limit = max.saturating_add(1);
    std::io::Read::read_to_end(&mut std::io::Read::take(dec, limit), &mut out)
        .map_err(|e| LoadError(format!("{name}: zstd: {e}")))?;
    if out.len() as u64 > max {
        return Err(LoadError(format!(
            "{name}: zstd: expands to more than {max} bytes, the most crashview decompresses"
        )));
    }
    Ok(out)
}

/// Detects and reads an input held in memory.
pub fn from_bytes(name: String, bytes: &[u8], opts: &LoadOptions) -> Result<Input, LoadError> {
    if is_zstd(bytes) {
        let max = opts.max_decompressed.unwrap_or(MAX_DECOMPRESSED);
        let out = unzstd(&name, bytes, max)?;
        // One level: a zstd stream inside a zstd stream is not an input.
        if is_zstd(&out) {
            return Err(LoadError(format!(
                "{name}: zstd: the stream holds another zstd stream"
            )));
        }
        return from_bytes(name, &out, opts);
    }
    if is_vmcore(bytes) {
        return vmcore(name, bytes, opts);
    }
    if looks_like_text(bytes) {
        let mut input = Input::new(name, InputKind::Text);
        input.text = Some(String::from_utf8_lossy(bytes).into_owned());
        return Ok(input);
    }
    region(name, bytes, opts)
}

/// A region image: ramoops zones, with the recorder's journal after them
/// when it has one (then the zones end where the journal starts, unless
/// `--mem-size` says otherwise), or the journal alone.
fn region(name: String, bytes: &[u8], opts: &LoadOptions) -> Result<Input, LoadError> {
    let journal_at = match opts.journal_offset {
        Some(at) => usize::try_from(at)
            .ok()
            .filter(|&at| at < bytes.len())
            .ok_or_else(|| {
                LoadError(format!(
                    "{name}: --journal-offset {at:#x} is beyond the end of the file ({:#x} bytes)",
                    bytes.len()
                ))
            })
            .map(Some)?,
        None => crashview_journal::locate(bytes),
    };
    if journal_at == Some(0) {
        let mut input = Input::new(name, InputKind::RecorderJournal);
        input.journal = Some(JournalZone {
            offset: 0,
            bytes: bytes.to_vec(),
        });
        return Ok(input);
    }
    let ov = Overrides {
        mem_size: opts
            .ramoops
            .mem_size
            .or_else(|| journal_at.map(|o| o as u64)),
        ..opts.ramoops
    };
    let region = Region::scan(bytes, &ov).map_err(|e| {
        LoadError(format!(
            "{name}: neither a vmcore, text, nor a readable ramoops region: {e}"
        ))
    })?;
    let journal = journal_at.and_then(|o| {
        bytes.get(o..).map(|z| JournalZone {
            offset: o,
            bytes: z.to_vec(),
        })
    });
    let kind = if journal.is_some() {
        InputKind::RecorderRegion
    } else {
        InputKind::RamoopsRegion
    };
    let mut input = Input::new(name, kind);
    input.diagnostics = region
        .all_diagnostics()
        .iter()
        .map(|d| {
            let zone = d
                .zone
                .map(|(k, i)| format!(" {}({})", k.name(), i))
                .unwrap_or_default();
            format!(
                "{}: offset {:#x}{zone}: {}",
                input.name, d.offset, d.message
            )
        })
        .collect();
    input.files = region.records().iter().map(|r| r.pstore_file()).collect();
    input.journal = journal;
    input.region = Some(Box::new(region));
    Ok(input)
}

fn vmcore(name: String, bytes: &[u8], opts: &LoadOptions) -> Result<Input, LoadError> {
    let core = crashview_vmcore::Vmcore::parse(bytes)
        .map_err(|e| LoadError(format!("{name}: not a readable vmcore: {e}")))?;
    let mut diagnostics: Vec<String> = core
        .diagnostics()
        .iter()
        .map(|d| format!("{name}: {d}"))
        .collect();
    let vi = core.vmcoreinfo();
    let facts = VmcoreFacts {
        format: core.format().to_string(),
        release: vi.and_then(|v| v.osrelease()).map(str::to_owned),
        crash_time: vi.and_then(|v| v.crash_time()),
        kernel_offset: vi.and_then(|v| v.kernel_offset()),
        build_id: vi.and_then(|v| v.build_id()),
        cpus: core.cpus().len(),
    };
    let journal = vi.and_then(|v| vmcore_journal(&core, v, &name, &mut diagnostics));
    let mut log = Vec::new();
    let mut log_read = false;
    match crashview_printk::read_log(&core) {
        Ok(l) => {
            log_read = true;
            for d in &l.diagnostics {
                diagnostics.push(format!("{name}: printk: {d}"));
            }
            for r in &l.records {
                for line in r.text.split(|&b| b == b'\n') {
                    log.push(LogLine {
                        ts_ns: Some(r.ts_nsec),
                        level: Some(r.level),
                        text: String::from_utf8_lossy(line).into_owned(),
                    });
                }
            }
        }
        Err(e) => diagnostics.push(format!("{name}: cannot read the kernel log: {e}")),
    }
    // Every CPU's task, unwound: the stacks `crash bt -a` shows.
    let state = (!opts.skip_kernel_state)
        .then(|| crate::dump_state::read(&core, &crate::dump_state::Selection::Cpus));
    let dump = match state {
        None => None,
        Some(Ok(mut d)) => {
            for n in &d.notes {
                diagnostics.push(format!("{name}: kernel state: {n}"));
            }
            d.tasks.clear();
            Some(d)
        }
        Some(Err(e)) => {
            diagnostics.push(format!("{name}: no stacks from the dump: {e}"));
            None
        }
    };
    let mut input = Input::new(name, InputKind::Vmcore);
    input.vmcore = Some(VmcoreData {
        facts,
        log,
        log_read,
        dump,
    });
    input.journal = journal;
    input.diagnostics = diagnostics;
    Ok(input)
}

/// Largest journal read out of a vmcore (the recorder's is 8 KiB).
const MAX_VMCORE_JOURNAL: usize = 1 << 20;

/// The journal of a kernel whose `panic()` runs the recorder (the patch
/// series): VMCOREINFO says where (`PANIC_JOURNAL=<vaddr>`,
/// `PANIC_JOURNAL_SIZE=<bytes>`), the dump's memory holds it.
fn vmcore_journal(
    core: &crashview_vmcore::Vmcore<'_>,
    vi: &crashview_vmcore::vmcoreinfo::VmcoreInfo,
    name: &str,
    diagnostics: &mut Vec<String>,
) -> Option<JournalZone> {
    let addr = vi.get("PANIC_JOURNAL")?;
    let (Ok(addr), Some(size)) = (
        u64::from_str_radix(addr, 16),
        vi.get("PANIC_JOURNAL_SIZE")
            .and_then(|s| s.parse::<usize>().ok()),
    ) else {
        diagnostics.push(format!(
            "{name}: VMCOREINFO PANIC_JOURNAL={addr}: expected a hex address and a PANIC_JOURNAL_SIZE"
        ));
        return None;
    };
    if size > MAX_VMCORE_JOURNAL {
        diagnostics.push(format!(
            "{name}: VMCOREINFO PANIC_JOURNAL_SIZE={size} is larger than any journal ({MAX_VMCORE_JOURNAL} bytes at most)"
        ));
        return None;
    }
    let mut bytes = vec![0u8; size];
    match core.read_virt(addr, &mut bytes) {
        Ok(()) => Some(JournalZone {
            offset: usize::try_from(addr).unwrap_or(usize::MAX),
            bytes,
        }),
        Err(e) => {
            diagnostics.push(format!(
                "{name}: panic journal at {addr:#x} ({size} bytes, from VMCOREINFO) unreadable: {e}"
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_past_the_limit_is_refused_not_cut() {
        let plain = vec![b'x'; 10_000];
        let z = ruzstd::encoding::compress_to_vec(
            &plain[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(unzstd("t", &z, 10_000).unwrap(), plain);
        let e = unzstd("dump.zst", &z, 9_999).unwrap_err().0;
        assert_eq!(
            e,
            "dump.zst: zstd: expands to more than 9999 bytes, the most crashview decompresses"
        );
    }
}
