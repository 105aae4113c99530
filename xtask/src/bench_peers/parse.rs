//! Reading what the harnesses print: one JSON object per line per workload
//! (`{"workload", "ns", "cpu_ns"?, "note"?, ...}`), and the peak RSS that
//! `/usr/bin/time -f %M -o FILE` writes.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::report::Sample;

/// The samples of one harness run; any line that is not a well-formed sample is an error
/// (a harness that prints something else has changed and must be looked at).
pub(crate) fn samples(output: &str) -> Result<Vec<Sample>> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| sample(line).with_context(|| format!("harness line `{line}`")))
        .collect()
}

fn sample(line: &str) -> Result<Sample> {
    let v: Value = serde_json::from_str(line).context("not JSON")?;
    let workload = v["workload"]
        .as_str()
        .context("no string `workload`")?
        .to_owned();
    let wall_ns = positive(&v["ns"]).context("no positive number `ns`")?;
    let cpu_ns = match &v["cpu_ns"] {
        Value::Null => None,
        x => Some(positive_or_zero(x).context("`cpu_ns` is not a number ≥ 0")?),
    };
    let note = match &v["note"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => bail!("`note` is not a string"),
    };
    Ok(Sample {
        workload,
        wall_ns,
        cpu_ns,
        note,
    })
}

fn positive(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite() && *x > 0.0)
}

fn positive_or_zero(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite() && *x >= 0.0)
}

/// The peak RSS in KiB from `/usr/bin/time -f %M -o FILE`'s file: its last non-empty
/// line (GNU time puts "Command exited with non-zero status N" above it).
pub(crate) fn time_kib(text: &str) -> Result<f64> {
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .context("empty /usr/bin/time output")?;
    let kib: u64 = last
        .parse()
        .with_context(|| format!("/usr/bin/time printed `{last}`, not KiB"))?;
    if kib == 0 {
        bail!("/usr/bin/time reported 0 KiB");
    }
    Ok(kib as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_harness_line_shape() {
        // As printed by the gx example, py_bench.py (json.dumps) and ts_bench.mjs.
        let out = concat!(
            r#"{"workload":"verify","ns":31250.5,"cpu_ns":30100,"samples":[1,2],"batch":200,"note":"aws-lc-rs provider"}"#,
            "\n",
            r#"{"workload": "bundle_load", "ns": 73044.08, "cpu_ns": 70000.0, "samples": [72574.2], "batch": 100}"#,
            "\n\n",
            r#"{"workload":"old_harness","ns":12}"#,
            "\n",
        );
        let s = samples(out).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].workload, "verify");
        assert_eq!(s[0].wall_ns, 31250.5);
        assert_eq!(s[0].cpu_ns, Some(30100.0));
        assert_eq!(s[0].note.as_deref(), Some("aws-lc-rs provider"));
        assert_eq!(s[1].note, None);
        assert_eq!(s[2].cpu_ns, None);
    }

    #[test]
    fn refuses_lines_that_are_not_samples() {
        for bad in [
            "Traceback (most recent call last):",
            r#"{"ns":5}"#,
            r#"{"workload":"verify"}"#,
            r#"{"workload":"verify","ns":0}"#,
            r#"{"workload":"verify","ns":-3}"#,
            r#"{"workload":"verify","ns":"fast"}"#,
            r#"{"workload":"verify","ns":5,"cpu_ns":-1}"#,
            r#"{"workload":"verify","ns":5,"note":7}"#,
        ] {
            let err = samples(bad).unwrap_err();
            assert!(format!("{err:#}").contains(bad), "{err:#}");
        }
    }

    #[test]
    fn reads_gnu_time_output() {
        assert_eq!(time_kib("5984\n").unwrap(), 5984.0);
        assert_eq!(
            time_kib("Command exited with non-zero status 1\n6012\n").unwrap(),
            6012.0
        );
        assert!(time_kib("").is_err());
        assert!(time_kib("0\n").is_err());
        assert!(time_kib("5.9M\n").is_err());
    }
}
