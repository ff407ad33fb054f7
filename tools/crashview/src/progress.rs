//! Progress bars on stderr for debuginfod downloads (only when stderr is a
//! terminal: piped or redirected output gets no control sequences).
//!
//! crashview-symbolize reports through its [`FetchProgress`] hook; this
//! draws one indicatif bar per file, in the style of `vmcore_cmd`'s spinner.

use std::io::IsTerminal;
use std::sync::Mutex;

use crashview_symbolize::debug_files::{FetchProgress, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The hook for [`DebugOptions::progress`](crashview_symbolize::debug_files::DebugOptions::progress):
/// a bar on stderr when it is a terminal, else nothing.
pub fn debuginfod_bar() -> Progress {
    if std::io::stderr().is_terminal() {
        Progress::new(Bars::default())
    } else {
        Progress::none()
    }
}

/// The bar of the download going on (one at a time: files are fetched in
/// turn), with what it is for.
#[derive(Default)]
struct Bars(Mutex<Option<(String, ProgressBar)>>);

fn new_bar(what: &str, total: Option<u64>) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{spinner} debuginfod: {msg} {bytes}/{total_bytes} {wide_bar} {eta}"
    } else {
        "{spinner} debuginfod: {msg} {bytes} {elapsed}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style);
    }
    pb.set_message(what.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}

impl FetchProgress for Bars {
    fn update(&self, what: &str, done: u64, total: Option<u64>) {
        let Ok(mut cur) = self.0.lock() else { return };
        // A new file, or a retry on the next server with another size.
        let stale = cur
            .as_ref()
            .is_none_or(|(w, pb)| w != what || pb.length() != total);
        if stale {
            if let Some((_, pb)) = cur.take() {
                pb.finish_and_clear();
            }
            *cur = Some((what.to_string(), new_bar(what, total)));
        }
        if let Some((_, pb)) = cur.as_ref() {
            pb.set_position(done);
        }
    }

    fn finish(&self, _what: &str, _ok: bool) {
        // The outcome is told by the warnings (failure) or the trace
        // (success); the bar only goes away.
        if let Ok(mut cur) = self.0.lock() {
            if let Some((_, pb)) = cur.take() {
                pb.finish_and_clear();
            }
        }
    }
}
