//! The book's plan table ("The panic path patch series") is what
//! `Plan::build` builds: each row's setting, with a crash kernel loaded, a
//! kmsg dumper registered and `panic_timeout=0`, gives exactly the steps the
//! row lists.

use panic_recorder::plan::{Config, Facts, Plan};

fn config(setting: &str) -> (Config, bool) {
    let mut c = Config::default();
    let mut crash_kernel = true;
    match setting {
        "default (`panic_prefer_crash_dump=1`)" => {}
        "`panic_prefer_crash_dump=0`" => c.prefer_crash_dump = false,
        "`crash_kexec_post_notifiers=1`" => c.crash_kexec_post_notifiers = true,
        "`panic_notifiers_level=1`" => c.panic_notifiers_level = Some(1),
        "`panic_notifiers_level=2`" => c.panic_notifiers_level = Some(2),
        "no crash kernel (any setting)" => crash_kernel = false,
        other => panic!("the book's table has a row this test does not know: {other}"),
    }
    (c, crash_kernel)
}

#[test]
fn the_books_plan_table_is_what_the_recorder_builds() {
    let book = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/panic-patch.md"),
    )
    .unwrap();
    let table = book
        .split("## The plan for each setting")
        .nth(1)
        .expect("the plan section");
    let mut rows = 0;
    for line in table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| setting"))
    {
        let cells: Vec<&str> = line
            .split(" | ")
            .map(|c| c.trim_matches(|c| c == '|' || c == ' '))
            .collect();
        let (c, crash_kernel) = config(cells[0]);
        let facts = Facts {
            crash_kernel_loaded: crash_kernel,
            kmsg_dumper_registered: true,
        };
        let plan = Plan::build(&c, &facts).unwrap();
        let got: Vec<&str> = plan.steps().iter().map(|s| s.name()).collect();
        assert_eq!(got.join(", "), cells[1], "row {}", cells[0]);
        rows += 1;
    }
    assert_eq!(rows, 6, "rows read from the book");
}
