//! What kind of input a path is, decided from the file system and content.

use std::path::Path;

use anyhow::{bail, Context};
use crashview_ramoops::region::Overrides;

use crate::RamoopsArgs;

/// An input crashview knows how to read.
#[derive(Debug)]
pub enum Input {
    /// A raw ramoops region image (memory at `mem_address`).
    Region(Vec<u8>),
    /// A directory of pstore files (`/sys/fs/pstore` or a systemd-pstore archive).
    PstoreDir,
}

/// Largest region image read into memory; ramoops regions are megabytes.
const MAX_REGION: u64 = 1 << 30;

/// Opens `path` and decides what it is.
pub fn open(path: &Path) -> anyhow::Result<Input> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if meta.is_dir() {
        return Ok(Input::PstoreDir);
    }
    if meta.len() > MAX_REGION {
        bail!(
            "{}: {} bytes is larger than any ramoops region ({} max)",
            path.display(),
            meta.len(),
            MAX_REGION
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(Input::Region(bytes))
}

impl RamoopsArgs {
    /// Validates the numeric ranges and converts to reader overrides.
    pub fn to_overrides(&self) -> anyhow::Result<Overrides> {
        let small = |name: &str, v: Option<u64>| -> anyhow::Result<Option<u32>> {
            v.map(|v| u32::try_from(v).with_context(|| format!("--{name} {v} is out of range")))
                .transpose()
        };
        Ok(Overrides {
            mem_size: self.mem_size,
            record_size: self.record_size,
            console_size: self.console_size,
            ftrace_size: self.ftrace_size,
            pmsg_size: self.pmsg_size,
            ecc: small("ecc", self.ecc)?,
            ftrace_zones: small("ftrace-zones", self.ftrace_zones)?,
        })
    }
}
