//! Checks that a downloaded file is what was asked for, before it enters
//! the cache.

use std::fs::File;
use std::path::Path;

use object::read::ReadCache;
use object::{Object, ObjectSection};

use crate::build_id::BuildId;
use crate::kind::Kind;

/// Ok if the file at `path` is an ELF file whose `NT_GNU_BUILD_ID` note is
/// `build_id` and, for [`Kind::Debuginfo`], that has DWARF. Otherwise the
/// reason, as a short phrase.
///
/// The file is read through [`ReadCache`], which reads only the headers
/// and note sections it is asked for, so a large vmlinux is not loaded.
pub(crate) fn check(path: &Path, build_id: &BuildId, kind: Kind) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot reopen the download: {e}"))?;
    let data = ReadCache::new(file);
    let obj = object::File::parse(&data).map_err(|e| format!("not an ELF file: {e}"))?;
    match obj.build_id() {
        Ok(Some(found)) if found == build_id.to_bytes().as_slice() => {}
        Ok(Some(found)) => {
            return Err(match BuildId::from_bytes(found) {
                Ok(other) => format!("its build-id is {other}"),
                Err(_) => format!("its build-id note is {} bytes long", found.len()),
            })
        }
        Ok(None) => return Err("an ELF file without a build-id note".into()),
        Err(e) => return Err(format!("bad build-id note: {e}")),
    }
    if kind == Kind::Debuginfo {
        // debuginfod(8): a debuginfo answer "contains the customary
        // .*debug_* sections" (`.zdebug_*` is the old compressed form).
        let has_dwarf = obj.sections().any(|s| {
            s.name()
                .is_ok_and(|n| n.starts_with(".debug_") || n.starts_with(".zdebug_"))
        });
        if !has_dwarf {
            return Err("an ELF file of that build-id but without .debug_* sections".into());
        }
    }
    Ok(())
}
