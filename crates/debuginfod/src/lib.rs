/*!
Fetch vmlinux and module debug files by build-id from
[debuginfod](https://sourceware.org/elfutils/Debuginfod.html) servers.

When no local debug file matches a crash's build-id, crashview asks the
servers listed in `DEBUGINFOD_URLS` with the standard webapi request
`GET <server>/buildid/<build-id>/debuginfo` (debuginfod(8), "WEBAPI"),
checks that the answer is an ELF file with that `NT_GNU_BUILD_ID`, and keeps
it in its own cache, so the next run needs no network.

* [`BuildId`]: validated lowercase hex.
* [`Cache`]: `$XDG_CACHE_HOME/crashview` (else `~/.cache/crashview`),
  entries `debuginfod/<build-id>/<kind>`, atomic writes, a size limit with
  least-recently-used eviction.
* [`Client`]: [`Settings`] from the elfutils client variables
  (`DEBUGINFOD_URLS`, `DEBUGINFOD_TIMEOUT`, `DEBUGINFOD_MAXTIME`,
  `DEBUGINFOD_MAXSIZE`; debuginfod-client-config(7)) and
  [`Client::fetch`], which reports progress through a callback (the CLI
  draws the bar) and fails with a [`FetchError`] naming the build-id and
  what each server did.

```no_run
use crashview_debuginfod::{BuildId, Client, Kind};

let client = Client::from_env()?;
let id: BuildId = "c3ae68eb37573d022a27359677a3f7164e562da2".parse()?;
match client.fetch(&id, Kind::Debuginfo, &mut |done, total| {
    eprint!("\r{done}/{}", total.map_or("?".into(), |t| t.to_string()));
}) {
    Ok(path) => println!("{}", path.display()),
    // e.g. "cannot fetch the debuginfo of build-id c3ae…: server
    // http://127.0.0.1:8002: connection refused"
    Err(e) => eprintln!("{e}"),
}
# Ok::<(), Box<dyn std::error::Error>>(())
```

Features: `https` adds `https://` servers (rustls); without it only
`http://` URLs work.
*/
#![deny(missing_docs)]
#![deny(clippy::arithmetic_side_effects)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod build_id;
mod cache;
mod client;
mod error;
mod kind;
#[cfg(feature = "testing")]
pub mod testing;
mod verify;

pub use build_id::{BuildId, BuildIdError, MAX_BYTES, MIN_BYTES};
pub use cache::{Cache, Evicted, Pending};
pub use client::{parse_urls, Client, Settings, DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT};
pub use error::{CacheError, Failure, FetchError, ServerFailure};
pub use kind::Kind;
