//! Tests of the bench-peers table and JSON document, on made-up measurements.

use super::*;

fn sample(workload: &str, wall_ns: f64, cpu_ns: f64, note: Option<&str>) -> Sample {
    Sample {
        workload: workload.to_owned(),
        wall_ns,
        cpu_ns: Some(cpu_ns),
        note: note.map(str::to_owned),
    }
}

/// Three rounds of `verify` on every side, and gx's RSS; nothing else.
fn results() -> Results {
    let mut r = Results::default();
    for (i, scale) in [1.0, 3.0, 2.0].into_iter().enumerate() {
        r.add(
            Side::Gx,
            sample("verify", 40_000.0 * scale, 30_000.0 * scale, Some("aws-lc")),
        );
        r.add(
            Side::Python,
            sample("verify", 300_000.0 * scale, 150_000.0 * scale, None),
        );
        r.add(
            Side::PyGx,
            sample("verify", 50_000.0 * scale, 15_000.0 * scale, None),
        );
        r.add(
            Side::Ts,
            sample("verify", 200_000.0, 60_000.0 + i as f64, None),
        );
        r.add_rss(Side::Gx, 4096.0 * scale);
    }
    r
}

fn info() -> RunInfo {
    RunInfo {
        date: "2026-11-27T09:00:00Z".to_owned(),
        rounds: 3,
        python_client: "grantex-gemma==0.1.2".to_owned(),
        ts_client: "@grantex/gemma@0.1.1".to_owned(),
        load: ("1.50".to_owned(), "1.70".to_owned()),
        cpus: 2,
    }
}

#[test]
fn median_of_odd_even_and_empty() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert!(median(&[]).is_nan());
}

#[test]
fn values_in_their_units() {
    assert_eq!(format_value(Metric::Cpu, 612.0), "612 ns");
    assert_eq!(format_value(Metric::Cpu, 31_260.0), "31.3 µs");
    assert_eq!(format_value(Metric::Wall, 4_210_000.0), "4.21 ms");
    assert_eq!(format_value(Metric::Wall, 1_080_000_000.0), "1.08 s");
    assert_eq!(format_value(Metric::Rss, 6144.0), "6.00 MiB");
    assert_eq!(format_value(Metric::Rss, 38_000.0), "37.1 MiB");
}

#[test]
fn ratios_say_which_way() {
    assert_eq!(format_ratio(20.0, 100.0), "0.20 (5.00× less)");
    assert_eq!(format_ratio(150.0, 100.0), "1.50 (1.50× more)");
    assert_eq!(format_ratio(1.0, 0.0), "–");
}

#[test]
fn table_has_every_row_with_medians_ratios_and_na() {
    let md = markdown(&results(), &info());
    assert!(md.starts_with("bench-peers 2026-11-27T09:00:00Z · 3 rounds"));
    assert!(
        md.contains("| workload | metric | gx | Python-gx | Python client | TS client | gx/Python | gx/TS | Python-gx/Python |")
    );
    // verify: CPU medians 60 µs (gx), 300 µs (py), 60.001 µs (ts).
    let verify = md
        .lines()
        .find(|l| l.starts_with("| token verify"))
        .unwrap();
    assert_eq!(
        verify,
        "| token verify (RS256-2048, same token and snapshot), per call | CPU | 60.0 µs \
         | 30.0 µs | 300 µs | 60.0 µs | 0.20 (5.00× less) | 1.00 (1.00× less) | 0.10 (10.0× less) |"
    );
    let batch = md
        .lines()
        .find(|l| l.contains("group commit of 64"))
        .unwrap();
    assert!(batch.contains(
        "| missing | n/a: no batch append in the API | n/a: no batch append | n/a: no batch append | – | – | – |"
    ));
    let rss = md.lines().find(|l| l.contains("verify-only")).unwrap();
    assert!(
        rss.contains("| peak RSS | 8.00 MiB | missing | missing | missing |"),
        "{rss}"
    );
    // One line per row plus the header and the separator.
    assert_eq!(
        md.lines().filter(|l| l.starts_with('|')).count(),
        ROWS.len() + 2
    );
    assert!(md.contains("How each side ran it:\n- token verify"));
    assert!(md.contains("gx: aws-lc"));
}

#[test]
fn json_document_shape() {
    let doc = json(&results(), &info());
    assert_eq!(doc["date"], "2026-11-27T09:00:00Z");
    assert_eq!(doc["rounds"], 3);
    assert_eq!(doc["clients"]["python"], "grantex-gemma==0.1.2");
    assert_eq!(doc["load_average_1m"]["end"], "1.70");
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), ROWS.len());
    let verify = &rows[0];
    assert_eq!(verify["metric"], "cpu_ns");
    assert_eq!(verify["gx"]["median"], 60_000.0);
    assert_eq!(
        verify["gx"]["rounds"],
        serde_json::json!([30_000.0, 90_000.0, 60_000.0])
    );
    assert_eq!(verify["gx"]["note"], "aws-lc");
    assert_eq!(verify["gx"]["harness_workload"], "verify");
    assert_eq!(verify["python"]["median"], 300_000.0);
    assert_eq!(verify["gx_over_python"], 0.2);
    assert_eq!(verify["python_gx"]["median"], 30_000.0);
    assert_eq!(verify["python_gx_over_python"], 0.1);
    let import = rows
        .iter()
        .find(|r| r["workload"].as_str().unwrap().contains("import"))
        .unwrap();
    assert_eq!(import["gx"]["na"], "a binary: nothing to import");
    let batch = rows
        .iter()
        .find(|r| r["workload"].as_str().unwrap().contains("group commit"))
        .unwrap();
    assert_eq!(batch["python"]["na"], "no batch append");
    assert_eq!(batch["gx"]["missing"], true);
    assert!(batch["gx_over_python"].is_null());
    let rss = rows.last().unwrap();
    assert_eq!(rss["metric"], "peak_rss_kib");
    assert_eq!(rss["gx"]["median"], 8192.0);
}
