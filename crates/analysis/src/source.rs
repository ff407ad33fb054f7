//! What a frame resolves to, as the report holds it: source lines and the
//! debug files used. Data only, below every module that fills or shows it.

use serde::Serialize;

use crashview_symbolize::debug_files::DebugFiles;
use crashview_symbolize::resolve::{Note, Resolution};

/// One source position of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceLine {
    /// Function (from DWARF).
    pub function: Option<String>,
    /// Source file as the compiler recorded it.
    pub file: Option<String>,
    /// Line, 1-based.
    pub line: Option<u32>,
    /// Column, 1-based.
    pub column: Option<u32>,
    /// Inlined into the next entry's function (which lists the call site).
    pub inlined: bool,
}

/// `function at file:line`, ` (inlined)` when it is; `??`/`?` for what
/// DWARF does not say (binutils' spelling).
impl core::fmt::Display for SourceLine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} at {}:",
            self.function.as_deref().unwrap_or("??"),
            self.file.as_deref().unwrap_or("??")
        )?;
        match self.line {
            Some(l) => write!(f, "{l}")?,
            None => f.write_str("?")?,
        }
        if self.inlined {
            f.write_str(" (inlined)")?;
        }
        Ok(())
    }
}

/// The debug files a report was symbolized with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DebugFilesUsed {
    /// The vmlinux, if one was found or given.
    pub vmlinux: Option<String>,
    /// Modules found: name and file.
    pub modules: Vec<ModuleFile>,
    /// What is missing or suspicious.
    pub warnings: Vec<String>,
}

/// A module's debug file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleFile {
    /// Module name (`-` written `_`).
    pub name: String,
    /// The file used.
    pub path: String,
}

/// The source lines of one resolution, innermost first.
pub fn source_lines(r: &Resolution) -> Vec<SourceLine> {
    let n = r.frames.len();
    r.frames
        .iter()
        .enumerate()
        .map(|(i, s)| SourceLine {
            function: s.function.clone(),
            file: s.file.clone(),
            line: s.line,
            column: s.column,
            inlined: i < n.saturating_sub(1),
        })
        .collect()
}

impl From<&DebugFiles> for DebugFilesUsed {
    fn from(files: &DebugFiles) -> Self {
        DebugFilesUsed {
            vmlinux: files.vmlinux.as_ref().map(|v| v.0.display().to_string()),
            modules: files
                .modules
                .iter()
                .map(|(name, p, _)| ModuleFile {
                    name: name.clone(),
                    path: p.display().to_string(),
                })
                .collect(),
            warnings: files.warnings.clone(),
        }
    }
}

/// Why a frame has no source location, with what to pass to fix it.
pub fn note_text(n: &Note) -> String {
    match n {
        Note::NoDebugFile { object } if object == "vmlinux" => {
            "no vmlinux debug info (pass --vmlinux FILE)".to_string()
        }
        Note::NoDebugFile { object } => {
            format!("no debug file for {object} (pass --modules DIR)")
        }
        other => other.to_string(),
    }
}
