"""Prints the conformance summary table (per rule and backend) at the end of the run."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    summary = getattr(config, "_km_conformance_summary", None)
    if not summary:
        return
    table, wall_s, path = summary
    tr = terminalreporter
    tr.section("conformance: original fails / fix runs (passed/total)")
    for line in table.splitlines():
        tr.write_line(line)
    tr.write_line(f"subprocess wall time {wall_s} s; full report: {path}")
