"""Shared by the python interoperability checks (tests/interop/dkimpy_interop.py,
tests/interop/arc_matrix.py): one line per check, a summary, and a command runner.

  sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
  from test_report import Report, run
  report = Report()
  report.check("dkimkit verify says pass", result == "pass", "got " + result)
"""

import subprocess
import sys


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        """Prints "ok   NAME", or "FAIL NAME" then up to 20 lines of DETAIL as "#" lines."""
        if ok:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name)
            for line in str(detail).strip().splitlines()[:20]:
                print("#    " + line)
        sys.stdout.flush()


def run(cmd, stdin_bytes=None, timeout_s=20):
    """Runs a command; returns (exit code, stdout bytes, stderr text). Never raises: the code is
    -1 when the command could not run or ran past the time limit."""
    try:
        p = subprocess.run(cmd, input=stdin_bytes, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout_s)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, b"", "%s: %s" % (" ".join(cmd), e)
