//! `struct new_utsname` (include/uapi/linux/utsname.h): six NUL-padded
//! fields of `__NEW_UTS_LEN + 1` = 65 bytes each, in the order sysname,
//! nodename, release, version, machine, domainname. The running kernel's
//! copy is `init_uts_ns.name` (see [`Vmcore::utsname`](crate::Vmcore::utsname));
//! makedumpfile copies it into the kdump header
//! ([`kdump::Header::utsname`](crate::kdump::Header::utsname)).

use crate::bytes::cstr;

/// Bytes of one field (`__NEW_UTS_LEN + 1`).
pub const UTS_FIELD_LEN: usize = 65;
/// Bytes of the whole struct: six fields.
pub const UTSNAME_LEN: usize = 6 * UTS_FIELD_LEN;

/// `struct new_utsname`, each field decoded up to its first NUL (lossily,
/// as UTF-8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utsname {
    /// `sysname` (`"Linux"`).
    pub sysname: String,
    /// `nodename`: the host name.
    pub nodename: String,
    /// `release` (`uname -r`).
    pub release: String,
    /// `version` (`uname -v`: build number, config, date).
    pub version: String,
    /// `machine` (`"x86_64"`).
    pub machine: String,
    /// `domainname` (NIS; usually `"(none)"`).
    pub domainname: String,
}

impl Utsname {
    /// Decodes the first [`UTSNAME_LEN`] bytes of `bytes`; fields the slice
    /// does not reach are empty.
    pub fn parse(bytes: &[u8]) -> Utsname {
        let bytes = bytes.get(..UTSNAME_LEN).unwrap_or(bytes);
        let mut fields = bytes.chunks(UTS_FIELD_LEN).map(cstr);
        let mut next = || fields.next().unwrap_or_default();
        Utsname {
            sysname: next(),
            nodename: next(),
            release: next(),
            version: next(),
            machine: next(),
            domainname: next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(fields: [&str; 6]) -> Vec<u8> {
        let mut b = vec![0u8; UTSNAME_LEN];
        for (i, f) in fields.iter().enumerate() {
            b[i * UTS_FIELD_LEN..][..f.len()].copy_from_slice(f.as_bytes());
        }
        b
    }

    #[test]
    fn six_fields_of_65_bytes() {
        assert_eq!(UTSNAME_LEN, 390);
        let b = raw([
            "Linux",
            "host",
            "6.1.0-57-amd64",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2",
            "x86_64",
            "(none)",
        ]);
        let u = Utsname::parse(&b);
        assert_eq!(u.sysname, "Linux");
        assert_eq!(u.nodename, "host");
        assert_eq!(u.release, "6.1.0-57-amd64");
        assert_eq!(u.version, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2");
        assert_eq!(u.machine, "x86_64");
        assert_eq!(u.domainname, "(none)");
    }

    #[test]
    fn a_full_field_has_no_nul_and_stops_at_its_end() {
        let mut b = raw(["", "", "", "", "", ""]);
        b[..UTS_FIELD_LEN].fill(b'a');
        b[UTS_FIELD_LEN..][..2].copy_from_slice(b"bb");
        let u = Utsname::parse(&b);
        assert_eq!(u.sysname, "a".repeat(UTS_FIELD_LEN));
        assert_eq!(u.nodename, "bb");
    }

    #[test]
    fn short_input_leaves_the_rest_empty() {
        let b = raw(["Linux", "host", "6.1", "v", "x86_64", "d"]);
        let u = Utsname::parse(&b[..2 * UTS_FIELD_LEN + 3]);
        assert_eq!((u.nodename.as_str(), u.release.as_str()), ("host", "6.1"));
        assert_eq!((u.version.as_str(), u.machine.as_str()), ("", ""));
        assert_eq!(Utsname::parse(&[]), Utsname::default());
    }
}
