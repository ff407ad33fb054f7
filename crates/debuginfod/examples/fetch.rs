//! Fetch one file by build-id with the settings from the environment, as
//! crashview will:
//!
//! ```text
//! DEBUGINFOD_URLS=http://127.0.0.1:8002 cargo run -p crashview-debuginfod \
//!     --example fetch -- <build-id> [debuginfo|executable]
//! ```
//!
//! Prints the cached path, or the error, and draws a plain progress line.

use std::io::Write;
use std::process::ExitCode;

use crashview_debuginfod::{BuildId, Client, Kind};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(id), kind) = (args.next(), args.next()) else {
        eprintln!("usage: fetch <build-id> [debuginfo|executable]");
        return ExitCode::from(2);
    };
    let kind = match kind.as_deref() {
        None | Some("debuginfo") => Kind::Debuginfo,
        Some("executable") => Kind::Executable,
        Some(other) => {
            eprintln!("unknown kind {other:?}");
            return ExitCode::from(2);
        }
    };
    let id: BuildId = match id.parse() {
        Ok(id) => id,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let client = match Client::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut drew = false;
    let result = client.fetch(&id, kind, &mut |done, total| {
        drew = true;
        let total = total.map_or_else(|| "?".to_string(), |t| t.to_string());
        let _ = write!(std::io::stderr(), "\rdownloading {done}/{total} bytes");
    });
    if drew {
        eprintln!();
    }
    match result {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
