//! Shared test helpers: a hand-made ELF file with a build-id note, a gcc
//! program, a client over a temporary cache; the servers (a tiny HTTP
//! server on 127.0.0.1, a real `debuginfod` when installed) are the
//! crate's `testing` module, which the CLI's tests use too.
//!
//! Nothing here talks to anything but 127.0.0.1.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crashview_debuginfod::{BuildId, Cache, Client, Settings};

/// A minimal ELF64 little-endian relocatable file: a `.note.gnu.build-id`
/// with `build_id`, a `.debug_info` of `debug_len` bytes (none if 0) and a
/// `.shstrtab`. Enough for `object` to find the build-id and sections.
pub fn tiny_elf(build_id: &[u8], debug_len: usize) -> Vec<u8> {
    let mut note = Vec::new();
    note.extend_from_slice(&4u32.to_le_bytes()); // namesz
    note.extend_from_slice(&(build_id.len() as u32).to_le_bytes()); // descsz
    note.extend_from_slice(&3u32.to_le_bytes()); // NT_GNU_BUILD_ID
    note.extend_from_slice(b"GNU\0");
    note.extend_from_slice(build_id);
    while !note.len().is_multiple_of(4) {
        note.push(0);
    }
    let shstrtab = b"\0.note.gnu.build-id\0.debug_info\0.shstrtab\0";
    let (n_note, n_debug, n_shstr) = (1u32, 20u32, 32u32);

    let mut out = vec![0u8; 64];
    let note_off = out.len();
    out.extend_from_slice(&note);
    let debug_off = out.len();
    out.extend(std::iter::repeat_n(0xabu8, debug_len));
    let shstr_off = out.len();
    out.extend_from_slice(shstrtab);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len();
    let mut sh = |name: u32, ty: u32, off: usize, size: usize, align: u64| {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // flags
        out.extend_from_slice(&0u64.to_le_bytes()); // addr
        out.extend_from_slice(&(off as u64).to_le_bytes());
        out.extend_from_slice(&(size as u64).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // link
        out.extend_from_slice(&0u32.to_le_bytes()); // info
        out.extend_from_slice(&align.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // entsize
    };
    sh(0, 0, 0, 0, 0);
    sh(n_note, 7, note_off, note.len(), 4); // SHT_NOTE
    let mut shnum = 2u16;
    if debug_len > 0 {
        sh(n_debug, 1, debug_off, debug_len, 1); // SHT_PROGBITS
        shnum += 1;
    }
    sh(n_shstr, 3, shstr_off, shstrtab.len(), 1); // SHT_STRTAB
    shnum += 1;

    let h = &mut out[..64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // ELFDATA2LSB
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&shnum.to_le_bytes());
    h[62..64].copy_from_slice(&(shnum - 1).to_le_bytes()); // e_shstrndx
    out
}

/// A build-id made of `n` repeated: distinct per test.
pub fn id(n: u8) -> BuildId {
    BuildId::from_bytes(&[n; 20]).unwrap()
}

/// A client for `servers` over a fresh cache in `dir`, proxies off.
pub fn client(dir: &Path, servers: &[&str], timeout: Duration) -> Client {
    let settings = Settings {
        timeout: Some(timeout),
        ..Settings::with_servers(servers.iter().copied())
    };
    Client::new(settings, Cache::new(dir.join("cache"))).with_env_proxy(false)
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Compiles a tiny C program with `gcc -g -Wl,--build-id` into `dir/name`;
/// returns its path and build-id.
pub fn gcc_program(work: &Path, dir: &Path, name: &str, exit_code: u8) -> (PathBuf, BuildId) {
    let src = work.join(format!("{name}.c"));
    std::fs::write(
        &src,
        format!("int {name}_value = {exit_code};\nint main(void) {{ return {name}_value; }}\n"),
    )
    .unwrap();
    let out = dir.join(name);
    let st = Command::new("gcc")
        .args(["-g", "-O0", "-Wl,--build-id=sha1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "gcc failed on {}", src.display());
    let bytes = std::fs::read(&out).unwrap();
    let id = {
        use object::Object;
        let obj = object::File::parse(&*bytes).unwrap();
        BuildId::from_bytes(obj.build_id().unwrap().expect("gcc output has a build-id")).unwrap()
    };
    (out, id)
}
