//! `crashview trace` / `crashview symbolize` end to end on the real-kernel
//! fixtures (module frames only: the vmlinux debug package is not in CI).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ramoops")
}

fn crashview(args: &[&std::ffi::OsStr], stdin: Option<&[u8]>) -> (String, String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crashview"))
        .args(args)
        // Keep the default debug paths out of the test: nothing under here.
        .args(["--debug-root", "/nonexistent"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn region_image_with_module_debug_info() {
    let f = fixtures();
    let (out, err, ok) = crashview(
        &[
            "trace".as_ref(),
            f.join("irq-oops/region.bin").as_os_str(),
            "--modules".as_ref(),
            f.as_os_str(),
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("RIP: 0010:crashmod_timer_fn+0x18/0x28 [crashmod]"),
        "{out}"
    );
    assert!(out.contains("crashmod_timer_fn at "), "{out}");
    assert!(out.contains("crashmod.c:75"), "{out}");
    assert!(out.contains("<-- trapping instruction"), "{out}");
    assert!(out.contains("movl $0x1,0x8"), "{out}");
    // vmlinux frames stay symbol+offset, with a note.
    assert!(out.contains(" call_timer_fn+0x27/0x130\n"), "{out}");
    assert!(out.contains("no vmlinux debug info"), "{out}");
    assert!(err.contains("no vmlinux with debug info"), "{err}");
}

#[test]
fn pstore_dir_json() {
    let f = fixtures();
    let (out, err, ok) = crashview(
        &[
            "trace".as_ref(),
            f.join("oops-panic/pstore").as_os_str(),
            "--modules".as_ref(),
            f.join("crashmod.ko").as_os_str(),
            "--json".as_ref(),
        ],
        None,
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "crashview.trace/1");
    let frames: Vec<&serde_json::Value> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["traces"].as_array().unwrap())
        .flat_map(|t| t["frames"].as_array().unwrap())
        .collect();
    let cold = frames
        .iter()
        .find(|f| f["symbol"] == "crashmod_write.cold")
        .expect("crashmod_write.cold frame");
    assert_eq!(cold["object_section"], ".text.unlikely");
    assert_eq!(cold["source"][0]["function"], "crashmod_write");
    assert_eq!(cold["source"][0]["line"], 92);
}

#[test]
fn symbolize_stdin_without_debug_files() {
    let text = b"[  2.2] Call Trace:\n[  2.2]  crashmod_write.cold+0x36/0x3b [crashmod]\n";
    let (out, err, ok) = crashview(&["symbolize".as_ref()], Some(text));
    assert!(ok, "{err}");
    assert!(
        out.contains("crashmod_write.cold+0x36/0x3b [crashmod]"),
        "{out}"
    );
    assert!(out.contains("no debug file for crashmod"), "{out}");
    assert!(err.contains("no debug file for module crashmod"), "{err}");
}
