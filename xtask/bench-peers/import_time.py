"""bench-peers: how long `import grantex_gemma` takes in a fresh interpreter (run once per
process; the interpreter's own start is not timed). Prints one harness line."""
import json
import time

t0, c0 = time.perf_counter_ns(), time.process_time_ns()
import grantex_gemma  # noqa: E402,F401

wall, cpu = time.perf_counter_ns() - t0, time.process_time_ns() - c0
print(json.dumps({"workload": "import", "ns": wall, "cpu_ns": cpu,
                  "note": "import grantex_gemma in a fresh process"}))
