//! `crashview report` and `crashview triage` on the committed fixtures.

mod common;
use common::{crashview, fixture};

#[test]
fn report_text_names_where_the_panic_path_stopped() {
    let f = fixture("recorder/hang/region.bin");
    let (code, out, err) = crashview(&["report", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("timeline:   exact, from the panic journal"),
        "{out}"
    );
    assert!(
        out.contains("result: STOPPED in step 7 pre-reboot list, inside \"hung_notifier\""),
        "{out}"
    );
}

#[test]
fn report_json_is_versioned() {
    let f = fixture("ramoops/oops-panic/region.bin");
    let (code, out, err) = crashview(&["report", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "crashview.report/1");
    assert_eq!(v["kind"], "ramoops-region");
    assert_eq!(v["summary"]["taint"]["mask"], 0x3000);
    assert_eq!(v["timeline"]["source"], "inferred");
    assert_eq!(v["timeline"]["steps"][0]["name"], "oops");
    assert_eq!(v["timeline"]["steps"][0]["inferred"], true);
}

#[test]
fn triage_groups_the_same_crash() {
    let a = fixture("ramoops/oops-panic/pstore");
    let b = fixture("ramoops/oops-panic/region.bin");
    let c = fixture("vmcore/kdump/kdump-zlib");
    let d = fixture("ramoops/sysrq-plain/pstore");
    let args = [
        "triage",
        "--json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
        d.to_str().unwrap(),
    ];
    let (code, out, err) = crashview(&args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "crashview.triage/1");
    assert_eq!(v["dumps"], 4);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{out}");
    assert_eq!(groups[0]["count"], 3);
    assert_eq!(
        groups[0]["signature"]["frames"][0],
        "crashmod_oops_target [crashmod]"
    );
}
